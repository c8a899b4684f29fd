#!/usr/bin/env python3
"""Checks a running `lxmert serve` with TensorFlow Serving's own Python client (tensorflow-serving-api 2.18.0).

gRPC (PredictionService.Predict / GetModelMetadata, ModelService.GetModelStatus, an INVALID_ARGUMENT and a
NOT_FOUND) and REST (status, metadata, :predict in row and columnar format, a 400 and a 404), every number held to
`tf.saved_model.load(SAVED_MODEL).signatures[...]` in this process under the project's tolerance model
|a - e| <= atol + rtol * |e| (atol 1e-5, rtol 1.3e-6; --atol/--rtol to change).

  PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python PYTHONPATH=~/.cache/tf-lxmert/tfs-api \
    python tfs_client_check.py --grpc 127.0.0.1:8500 --rest http://127.0.0.1:8501 --model NAME --saved-model BASE/1

prediction_service_pb2 needs the pure-Python protobuf backend (the env var above); the script sets it if unset.
Exits 0 when every check passed, 1 with the first failure otherwise. run_tfs_client_check.sh starts the servers.
"""
import os

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

HEADS = ["prediction_logits", "cross_relationship_score", "question_answering_score"]


def inputs(seed, batch, text, regions, feat_dim, vocab):
    r = np.random.default_rng(seed)
    ids = r.integers(1, vocab, size=(batch, text), dtype=np.int32)
    mask = np.ones((batch, text), np.int32)
    mask[0, -1] = 0  # one padded token: masks are honoured
    xy = r.random((batch, regions, 2), dtype=np.float32) * 0.5
    pos = np.concatenate([xy, xy + 0.4], axis=-1).astype(np.float32)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros((batch, text), np.int32),
            "visual_feats": r.random((batch, regions, feat_dim), dtype=np.float32), "visual_pos": pos,
            "visual_attention_mask": np.ones((batch, regions), np.int32)}


def close(what, expected, actual, atol, rtol):
    expected = np.asarray(expected, np.float32)
    actual = np.asarray(actual, np.float32)
    if expected.shape != actual.shape:
        fail(f"{what}: expected shape {expected.shape}, found {actual.shape}")
    d = np.abs(actual.astype(np.float64) - expected)
    bad = d > atol + rtol * np.abs(expected)
    if bad.any():
        i = np.unravel_index(np.argmax(d), d.shape)
        fail(f"{what}: {int(bad.sum())} element(s) outside |a-e| <= {atol} + {rtol}|e|; worst at {i}: expected "
             f"{expected[i]}, found {actual[i]}")
    print(f"ok  {what}: {expected.shape}, max |a-e| = {d.max():.3g}")


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def http(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpc", required=True, help="HOST:PORT of the gRPC server")
    ap.add_argument("--rest", required=True, help="http://HOST:PORT of the REST server")
    ap.add_argument("--model", required=True, help="the served model name")
    ap.add_argument("--saved-model", required=True, help="the SavedModel directory to hold the numbers to")
    ap.add_argument("--expect-encoding", choices=["float_val", "tensor_content"], default="float_val",
                    help="where the gRPC answers' floats must be (tensor_content: lxmert serve --response-tensor-content)")
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--rtol", type=float, default=1.3e-6)
    a = ap.parse_args()

    ref = tf.saved_model.load(a.saved_model)
    sig = ref.signatures["serving_default"]
    feat_dim = sig.structured_input_signature[1]["visual_feats"].shape[-1]
    x = inputs(0, 2, 7, 5, feat_dim, 300)
    wanted = {k: v for k, v in x.items() if k in sig.structured_input_signature[1]}
    expected = {k: v.numpy() for k, v in sig(**{k: tf.constant(v) for k, v in wanted.items()}).items()}
    heads = [h for h in HEADS if h in expected]

    channel = grpc.insecure_channel(a.grpc)
    predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    req = predict_pb2.PredictRequest()
    req.model_spec.name = a.model
    req.model_spec.signature_name = "serving_default"
    for k, v in wanted.items():
        req.inputs[k].CopyFrom(tf.make_tensor_proto(v))
    resp = predict.Predict(req, timeout=120)
    print(f"ok  gRPC Predict: model {resp.model_spec.name} version {resp.model_spec.version.value}, outputs "
          f"{sorted(resp.outputs)}")
    for k in heads:
        close(f"gRPC {k}", expected[k], tf.make_ndarray(resp.outputs[k]), a.atol, a.rtol)
        t = resp.outputs[k]
        found = "tensor_content" if t.tensor_content and not t.float_val else "float_val" if t.float_val else "neither"
        if found != a.expect_encoding:
            fail(f"gRPC {k}: expected the floats in {a.expect_encoding}, found them in {found}")
    print(f"ok  gRPC answers' floats in {a.expect_encoding}")

    # int64_serving with typed int64_val, one output filtered
    req64 = predict_pb2.PredictRequest()
    req64.model_spec.name = a.model
    req64.model_spec.signature_name = "int64_serving"
    for k, v in wanted.items():
        req64.inputs[k].CopyFrom(tf.make_tensor_proto(v.astype(np.int64) if v.dtype == np.int32 else v))
    req64.output_filter.append("cross_relationship_score")
    r64 = predict.Predict(req64, timeout=120)
    if list(r64.outputs) != ["cross_relationship_score"]:
        fail(f"output_filter: expected only cross_relationship_score, found {list(r64.outputs)}")
    close("gRPC int64_serving cross_relationship_score", expected["cross_relationship_score"],
          tf.make_ndarray(r64.outputs["cross_relationship_score"]), a.atol, a.rtol)

    md = predict.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec={"name": a.model}, metadata_field=["signature_def"]), timeout=60)
    sdm = get_model_metadata_pb2.SignatureDefMap()
    md.metadata["signature_def"].Unpack(sdm)
    if "serving_default" not in sdm.signature_def or "input_ids" not in sdm.signature_def["serving_default"].inputs:
        fail(f"GetModelMetadata: expected serving_default with input_ids, found {list(sdm.signature_def)}")
    print(f"ok  gRPC GetModelMetadata: signatures {sorted(sdm.signature_def)}")

    st = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": a.model}), timeout=60)
    states = [get_model_status_pb2.ModelVersionStatus.State.Name(v.state) for v in st.model_version_status]
    if "AVAILABLE" not in states:
        fail(f"GetModelStatus: expected an AVAILABLE version, found {states}")
    print(f"ok  gRPC GetModelStatus: {states}")

    bad = predict_pb2.PredictRequest()
    bad.CopyFrom(req)
    bad.inputs["input_ids"].CopyFrom(tf.make_tensor_proto(np.full((2, 7), 100000, np.int32)))
    for r, code in ((bad, grpc.StatusCode.INVALID_ARGUMENT), (None, grpc.StatusCode.NOT_FOUND)):
        if r is None:
            r = predict_pb2.PredictRequest()
            r.CopyFrom(req)
            r.model_spec.name = "no-such-model"
        try:
            predict.Predict(r, timeout=60)
            fail(f"expected {code}, the request succeeded")
        except grpc.RpcError as e:
            if e.code() != code:
                fail(f"expected {code}, found {e.code()}: {e.details()}")
            print(f"ok  gRPC {code.name}: {e.details()}")

    base = f"{a.rest}/v1/models/{a.model}"
    s, body = http("GET", base)
    if s != 200 or body["model_version_status"][0]["state"] != "AVAILABLE":
        fail(f"REST status: {s} {body}")
    print(f"ok  REST GET /v1/models/{a.model}: {body['model_version_status']}")
    s, body = http("GET", base + "/metadata")
    if s != 200 or "serving_default" not in body["metadata"]["signature_def"]["signature_def"]:
        fail(f"REST metadata: {s} {str(body)[:300]}")
    print("ok  REST metadata")
    instances = [{k: v[i].tolist() for k, v in wanted.items()} for i in range(2)]
    s, body = http("POST", base + ":predict", {"instances": instances})
    if s != 200:
        fail(f"REST row predict: {s} {body}")
    for k in heads:
        close(f"REST rows {k}", expected[k], [p[k] for p in body["predictions"]], a.atol, a.rtol)
    s, body = http("POST", base + ":predict", {"signature_name": "serving_default",
                                                "inputs": {k: v.tolist() for k, v in wanted.items()}})
    if s != 200:
        fail(f"REST columnar predict: {s} {body}")
    for k in heads:
        close(f"REST columns {k}", expected[k], body["outputs"][k], a.atol, a.rtol)
    s, body = http("POST", base + ":predict", {"instances": [{"input_ids": [1, 2]}]})
    if s != 400 or set(body) != {"error"}:
        fail(f"REST bad request: expected 400 {{'error': ...}}, found {s} {body}")
    print(f"ok  REST 400: {body['error']}")
    s, body = http("POST", f"{a.rest}/v1/models/no-such-model:predict", {"instances": instances})
    if s != 404:
        fail(f"REST unknown model: expected 404, found {s} {body}")
    print(f"ok  REST 404: {body['error']}")
    print(f"tfs_client_check: {a.model} ok")


if __name__ == "__main__":
    main()
