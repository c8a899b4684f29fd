#!/usr/bin/env python3
"""Loads SavedModels exported from Java (ExportParityTest with -Dlxmert.export.dir) in Python with
tf.saved_model.load, calls both signatures on every case of the reference, and compares with the Python
reference outputs under the project's tolerance model (tolerance.py). Proves TF-ecosystem consumers can use the
Java export.

Usage: check_java_export.py EXPORT_ROOT REFERENCE_ROOT [--names tiny wide] [--rtol 1.3e-6] [--atol 1e-5]
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tolerance  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exports")
    ap.add_argument("references")
    ap.add_argument("--names", nargs="+", default=["tiny", "wide"])
    ap.add_argument("--rtol", type=float, default=tolerance.RTOL)
    ap.add_argument("--atol", type=float, default=tolerance.ATOL)
    args = ap.parse_args()
    failed = False
    for name in args.names:
        ref_dir = os.path.join(args.references, name)
        with open(os.path.join(ref_dir, "manifest.json")) as f:
            manifest = json.load(f)
        loaded = tf.saved_model.load(os.path.join(args.exports, name, "1"))
        worst = 0.0
        for sig_name, int_type in (("serving_default", np.int32), ("int64_serving", np.int64)):
            fn = loaded.signatures[sig_name]
            for case in manifest["cases"]:
                inp = {k: np.load(os.path.join(ref_dir, e["file"])) for k, e in case["inputs"].items()}
                if "visual_attention_mask" not in inp:
                    inp["visual_attention_mask"] = np.ones(inp["visual_feats"].shape[:2], np.int32)
                feed = {k: tf.constant(v.astype(int_type) if v.dtype.kind == "i" else v) for k, v in inp.items()}
                out = fn(**feed)
                for key, t in out.items():
                    t = t.numpy()
                    if key in case["outputs"]:
                        pairs = [(t, key)]
                    else:  # stacked per-layer tuple
                        pairs = [(t[i], f"{key}.{i}") for i in range(t.shape[0])]
                    for actual, ref_key in pairs:
                        entry = case["outputs"][ref_key]
                        ref = np.load(os.path.join(ref_dir, entry["file"]))
                        worst = max(worst, tolerance.max_abs(actual, ref) if actual.shape == ref.shape else np.inf)
                        why = tolerance.check(actual, ref, rtol=args.rtol, atol=args.atol,
                                              noise=entry.get("python_noise", {}).get("max_abs"))
                        if why:
                            failed = True
                            print(f"  {name}/{case['name']} {sig_name} {ref_key}: {why}")
        print(f"Java export {name} loaded in Python (tf.saved_model.load, both signatures): "
              f"max abs vs Python reference {worst:.3g} (rtol {args.rtol:g}, atol {args.atol:g}) "
              f"{'FAILED' if failed else 'ok'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
