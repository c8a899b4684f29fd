#!/usr/bin/env python3
"""grpcurl-style check of a running `lxmert serve` through gRPC server reflection only.

With grpcio-reflection's client (ProtoReflectionDescriptorDatabase, protocol grpc.reflection.v1alpha) it lists the
services, fetches the file descriptors of tensorflow.serving.PredictionService, builds a PredictRequest from the
reflected descriptors alone (descriptor_pool + message_factory; no tensorflow_serving or tensorflow _pb2 module is
used for it), calls Predict with it, and holds every output to the answer of TF Serving's own Python client
(predict_pb2 + PredictionServiceStub) for the same inputs under the project's tolerance model
|a - e| <= atol + rtol * |e| (atol 1e-5, rtol 1.3e-6). It also lists the services through the v1 protocol
(grpc.reflection.v1.ServerReflection, the one grpcurl tries first; its messages are v1alpha's, field for field).

  PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python PYTHONPATH=~/.cache/tf-lxmert/tfs-api \
    python tfs_reflection_check.py --grpc 127.0.0.1:8500 --model NAME

Exits 0 when every check passed, 1 with the first failure. run_tfs_client_check.sh starts the servers.
"""
import os

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import sys  # noqa: E402

import grpc  # noqa: E402
import numpy as np  # noqa: E402
from google.protobuf import descriptor_pool, message_factory  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2  # noqa: E402
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase  # noqa: E402

WANTED_SERVICES = {"tensorflow.serving.PredictionService", "tensorflow.serving.ModelService", "grpc.health.v1.Health",
                   "lxmert.serving.AnswerService"}


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def inputs(seed, batch, text, regions, feat_dim, vocab):
    r = np.random.default_rng(seed)
    ids = r.integers(1, vocab, size=(batch, text), dtype=np.int32)
    mask = np.ones((batch, text), np.int32)
    mask[-1, -2:] = 0
    xy = r.random((batch, regions, 2), dtype=np.float32) * 0.5
    return {"input_ids": ids, "attention_mask": mask,
            "visual_feats": r.random((batch, regions, feat_dim), dtype=np.float32),
            "visual_pos": np.concatenate([xy, xy + 0.4], axis=-1).astype(np.float32)}


def reflected_ndarray(t, dt):
    """A reflected tensorflow.TensorProto (float) as numpy: float_val or tensor_content."""
    shape = [d.size for d in t.tensor_shape.dim]
    if t.dtype != dt.values_by_name["DT_FLOAT"].number:
        fail(f"reflected answer: expected DT_FLOAT outputs, found dtype {dt.values_by_number[t.dtype].name}")
    a = np.frombuffer(t.tensor_content, "<f4") if t.tensor_content else np.asarray(t.float_val, np.float32)
    return a.reshape(shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpc", required=True, help="HOST:PORT of the gRPC server")
    ap.add_argument("--model", required=True, help="the served model name")
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--rtol", type=float, default=1.3e-6)
    a = ap.parse_args()
    channel = grpc.insecure_channel(a.grpc)

    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    if not WANTED_SERVICES <= services:
        fail(f"reflection list_services: expected {sorted(WANTED_SERVICES)}, found {sorted(services)}")
    print(f"ok  reflection (v1alpha) list_services: {sorted(services)}")

    v1 = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                               request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                               response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    answers = list(v1(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=60))
    v1_services = {s.name for s in answers[0].list_services_response.service}
    if v1_services != services:
        fail(f"reflection v1 list_services: expected the v1alpha list {sorted(services)}, found {sorted(v1_services)}")
    print("ok  reflection (v1) list_services: the same services")

    pool = descriptor_pool.DescriptorPool(db)  # every descriptor below comes from the server
    svc = pool.FindServiceByName("tensorflow.serving.PredictionService")
    method = svc.methods_by_name["Predict"]
    files = sorted({svc.file.name} | {d.name for d in svc.file.dependencies})
    print(f"ok  reflection file descriptors for {svc.full_name}: {files}; methods {sorted(svc.methods_by_name)}")
    Request = message_factory.GetMessageClass(method.input_type)
    Response = message_factory.GetMessageClass(method.output_type)
    dt = pool.FindEnumTypeByName("tensorflow.DataType")

    # the feature width from the server's own metadata, read with reflected types
    md_method = svc.methods_by_name["GetModelMetadata"]
    MdRequest = message_factory.GetMessageClass(md_method.input_type)
    MdResponse = message_factory.GetMessageClass(md_method.output_type)
    md_req = MdRequest()
    md_req.model_spec.name = a.model
    md_req.metadata_field.append("signature_def")
    md = channel.unary_unary(f"/{svc.full_name}/GetModelMetadata", request_serializer=MdRequest.SerializeToString,
                             response_deserializer=MdResponse.FromString)(md_req, timeout=60)
    SigMap = message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.SignatureDefMap"))
    sdm = SigMap()
    sdm.ParseFromString(md.metadata["signature_def"].value)
    feat_dim = sdm.signature_def["serving_default"].inputs["visual_feats"].tensor_shape.dim[-1].size
    x = inputs(7, 2, 6, 4, feat_dim, 300)

    req = Request()
    req.model_spec.name = a.model
    req.model_spec.signature_name = "serving_default"
    for k, v in x.items():
        t = req.inputs[k]
        t.dtype = dt.values_by_name["DT_INT32" if v.dtype == np.int32 else "DT_FLOAT"].number
        for d in v.shape:
            t.tensor_shape.dim.add().size = d
        (t.int_val if v.dtype == np.int32 else t.float_val).extend(v.ravel().tolist())
    resp = channel.unary_unary(f"/{svc.full_name}/{method.name}",
                               request_serializer=Request.SerializeToString,
                               response_deserializer=Response.FromString)(req, timeout=120)
    print(f"ok  Predict from reflected descriptors: model {resp.model_spec.name} version "
          f"{resp.model_spec.version.value}, outputs {sorted(resp.outputs)}")

    # the same request through TF Serving's own client (its _pb2 modules; imported only now)
    import tensorflow as tf  # noqa: E402
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402
    ref = predict_pb2.PredictRequest()
    ref.model_spec.name = a.model
    ref.model_spec.signature_name = "serving_default"
    for k, v in x.items():
        ref.inputs[k].CopyFrom(tf.make_tensor_proto(v))  # tensor_content, where the reflected one has typed *_val
    expected = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(ref, timeout=120)
    if sorted(expected.outputs) != sorted(resp.outputs):
        fail(f"outputs: expected the client's {sorted(expected.outputs)}, found {sorted(resp.outputs)}")
    for k in sorted(expected.outputs):
        e = tf.make_ndarray(expected.outputs[k])
        g = reflected_ndarray(resp.outputs[k], dt)
        if e.shape != g.shape:
            fail(f"{k}: expected shape {e.shape}, found {g.shape}")
        d = np.abs(g.astype(np.float64) - e)
        bad = d > a.atol + a.rtol * np.abs(e)
        if bad.any():
            fail(f"{k}: {int(bad.sum())} element(s) outside |a-e| <= {a.atol} + {a.rtol}|e|, max |a-e| {d.max():.3g}")
        print(f"ok  reflected Predict {k} = client's: {e.shape}, max |a-e| = {d.max():.3g}")
    print(f"tfs_reflection_check: {a.model} ok")


if __name__ == "__main__":
    main()
