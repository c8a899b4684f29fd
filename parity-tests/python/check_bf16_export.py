#!/usr/bin/env python3
"""Loads a SavedModel written by `lxmert export --precision bf16` in Python (tf.saved_model.load), checks that
both signatures still take int ids and float32 features and return float32 (TF Serving clients do not change),
that the graph really computes in bfloat16 (bfloat16 MatMul/BatchMatMul ops in the signature's function), and
holds the outputs of every case of a float32 reference against the bfloat16 accuracy budget: cosine >= 0.999
per tensor, top-1 agreement >= 99 % per score tensor over rows whose reference top two are more than
0.05 x RMS apart (lxmert-parity's Budget.BFLOAT16).

Usage: check_bf16_export.py SAVED_MODEL_VERSION_DIR REFERENCE_DIR
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

MIN_COSINE, MIN_TOP1, TIE_MARGIN = 0.999, 0.99, 0.05
SCORES = {"prediction_logits", "cross_relationship_score", "question_answering_score", "obj_predict_head.obj",
          "obj_predict_head.attr"}


def cosine(a, e):
    a, e = a.astype(np.float64).ravel(), e.astype(np.float64).ravel()
    na, ne = np.linalg.norm(a), np.linalg.norm(e)
    return 1.0 if na == ne == 0 else 0.0 if na == 0 or ne == 0 else float(a @ e / (na * ne))


def top1(a, e):
    w = e.shape[-1]
    a, e = a.reshape(-1, w), e.reshape(-1, w)
    margin = TIE_MARGIN * np.sqrt(np.mean(e.astype(np.float64) ** 2))
    srt = np.sort(e, axis=1)
    decided = (srt[:, -1] - srt[:, -2]) > margin if w > 1 else np.ones(len(e), bool)
    agree = np.argmax(a, 1) == np.argmax(e, 1)
    return (float(agree[decided].mean()) if decided.any() else 1.0), int(decided.sum())


def main():
    export, ref_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(ref_dir, "manifest.json")) as f:
        manifest = json.load(f)
    loaded = tf.saved_model.load(export)
    failed = False
    lowest = 1.0
    for sig_name, int_type in (("serving_default", np.int32), ("int64_serving", np.int64)):
        fn = loaded.signatures[sig_name]
        for k, spec in fn.structured_input_signature[1].items():
            want = tf.float32 if k in ("visual_feats", "visual_pos") else tf.as_dtype(int_type)
            if spec.dtype != want:
                failed = True
                print(f"  {sig_name} input {k}: {spec.dtype.name}, expected {want.name}")
        for k, spec in fn.structured_outputs.items():
            if spec.dtype != tf.float32:
                failed = True
                print(f"  {sig_name} output {k}: {spec.dtype.name}, expected float32")
        ops = [n for n in fn.graph.as_graph_def().node] + [n for f in fn.graph.as_graph_def().library.function
                                                             for n in f.node_def]
        bf16 = [n for n in ops if n.op in ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "_FusedMatMul")
                and n.attr["T"].type == tf.bfloat16.as_datatype_enum]
        if not bf16:
            failed = True
            print(f"  {sig_name}: no bfloat16 matmul in the graph; was it exported with --precision bf16?")
        for case in manifest["cases"]:
            inp = {k: np.load(os.path.join(ref_dir, e["file"])) for k, e in case["inputs"].items()}
            if "visual_attention_mask" not in inp:
                inp["visual_attention_mask"] = np.ones(inp["visual_feats"].shape[:2], np.int32)
            out = fn(**{k: tf.constant(v.astype(int_type) if v.dtype.kind == "i" else v) for k, v in inp.items()})
            for key, t in out.items():
                t = t.numpy()
                if key not in case["outputs"]:
                    continue
                ref = np.load(os.path.join(ref_dir, case["outputs"][key]["file"]))
                c = cosine(t, ref)
                lowest = min(lowest, c)
                if key in SCORES:
                    agreement, rows = top1(t, ref)
                    ok = agreement >= MIN_TOP1
                    what = f"top-1 {100 * agreement:.1f}% of {rows} decided rows, cosine {c:.6f}"
                else:
                    ok = c >= MIN_COSINE
                    what = f"cosine {c:.6f}"
                if not ok:
                    failed = True
                print(f"  {sig_name} {case['name']} {key}: {what}{'' if ok else '  OVER BUDGET'}")
    print(f"bf16 Java export loaded in Python (tf.saved_model.load, both signatures, float32 in and out, "
          f"bfloat16 matmuls): lowest cosine {lowest:.6f} {'FAILED' if failed else 'ok'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
