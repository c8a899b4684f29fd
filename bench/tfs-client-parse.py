#!/usr/bin/env python3
"""What a TF Serving Python client pays to read one Predict answer, float_val against tensor_content.

Builds the PredictResponse `lxmert serve` sends for `prediction_logits` of one 20-token question at LXMERT-base
([1, 20, 30522] float32, 2.4 MB; deterministic random values) with the floats in `float_val` (TF Serving's
answer, the server's default) and in `tensor_content` (`lxmert serve --response-tensor-content`), and times
`PredictResponse.ParseFromString` + `tf.make_ndarray`, the way TF Serving's examples read an answer, under this
process's protobuf backend (set PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python for the pure-Python one, which
tensorflow-serving-api 2.18.0's prediction_service_pb2 needs). Prints one RESULT line per encoding (median of
--reps) and a SUMMARY of their ratio; checks both decode to the same array.

  PYTHONPATH=~/.cache/tf-lxmert/tfs-api ~/.cache/tf-lxmert/venv/bin/python bench/tfs-client-parse.py [--reps 5]
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402
from tensorflow_serving.apis import predict_pb2  # noqa: E402


def answer(values, content):
    r = predict_pb2.PredictResponse()
    r.model_spec.name = "lxmert"
    r.model_spec.version.value = 1
    t = r.outputs["prediction_logits"]
    t.dtype = tf.float32.as_datatype_enum
    for d in values.shape:
        t.tensor_shape.dim.add().size = d
    if content:
        t.tensor_content = values.astype("<f4").tobytes()
    else:
        t.float_val.extend(values.ravel().tolist())
    return r.SerializeToString()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--shape", default="1,20,30522")
    a = ap.parse_args()
    shape = tuple(int(s) for s in a.shape.split(","))
    values = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    backend = api_implementation.Type()
    ms = {}
    for enc in ("float_val", "tensor_content"):
        wire = answer(values, enc == "tensor_content")
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            r = predict_pb2.PredictResponse()
            r.ParseFromString(wire)
            got = tf.make_ndarray(r.outputs["prediction_logits"])
            times.append(time.perf_counter() - t0)
        if got.shape != shape or not np.array_equal(got, values):
            raise SystemExit(f"{enc}: decoded {got.shape} does not equal the values sent {shape}")
        ms[enc] = 1000 * sorted(times)[len(times) // 2]
        print("RESULT " + json.dumps({"encoding": enc, "protobuf_backend": backend, "bytes": len(wire),
                                      "shape": list(shape), "parse_make_ndarray_ms": round(ms[enc], 2)}))
    print(f"SUMMARY protobuf {backend}: a {shape} answer parses and converts in {ms['float_val']:.1f} ms from "
          f"float_val, {ms['tensor_content']:.2f} ms from tensor_content ({ms['float_val'] / ms['tensor_content']:.0f}x)")


if __name__ == "__main__":
    main()
