#!/usr/bin/env python3
"""Compares two reference directories written by export_reference.py (e.g. the committed fixtures and a fresh
regeneration, possibly on another CPU): same config, cases and tensor names/shapes/dtypes, inputs equal, every
output within the project's tolerance model (tolerance.py: |a - e| <= atol + rtol |e|, NaN/Inf in place), and
every checkpoint tensor equal, and the training reference (labels equal; loss terms, gradients and
one-step weights under the same model). Prints one line per set and the drifted tensors; exits 1 on any drift.

Usage: compare_references.py COMMITTED_ROOT FRESH_ROOT [--names tiny wide] [--rtol 1.3e-6] [--atol 1e-5]
"""
import argparse
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tolerance  # noqa: E402


def load_manifest(d):
    with open(os.path.join(d, "manifest.json")) as f:
        return json.load(f)


def compare(a_dir, b_dir, rtol, atol):
    problems = []
    worst = (0.0, None)
    a, b = load_manifest(a_dir), load_manifest(b_dir)
    if a["config"] != b["config"]:
        problems.append(f"config differs: {a['config']} vs {b['config']}")
    a_cases = {c["name"]: c for c in a["cases"]}
    b_cases = {c["name"]: c for c in b["cases"]}
    if list(a_cases) != list(b_cases):
        problems.append(f"cases differ: {list(a_cases)} vs {list(b_cases)}")
    for name in a_cases:
        if name not in b_cases:
            continue
        for kind in ("inputs", "outputs"):
            ta, tb = a_cases[name][kind], b_cases[name][kind]
            if set(ta) != set(tb):
                problems.append(f"{name} {kind}: tensor names differ: {sorted(set(ta) ^ set(tb))}")
            for t in ta:
                if t not in tb:
                    continue
                x = np.load(os.path.join(a_dir, ta[t]["file"]))
                y = np.load(os.path.join(b_dir, tb[t]["file"]))
                if x.shape != y.shape or x.dtype != y.dtype:
                    problems.append(f"{name}/{kind}/{t}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
                    continue
                d = tolerance.max_abs(x, y)
                if d > worst[0]:
                    worst = (d, f"{name}/{t}")
                # Inputs are data, equal on every machine; outputs are computed, equal under the tolerance model.
                why = (None if np.array_equal(x, y) else "inputs differ") if kind == "inputs" else \
                    tolerance.check(y, x, rtol=rtol, atol=atol)
                if why:
                    problems.append(f"{name}/{kind}/{t}: {why}")
    for rel in ("model/model.safetensors", "model-pt/model.safetensors"):
        wa, wb = load_file(os.path.join(a_dir, rel)), load_file(os.path.join(b_dir, rel))
        if set(wa) != set(wb):
            problems.append(f"{rel}: tensor names differ: {sorted(set(wa) ^ set(wb))[:10]}")
        for k in wa:
            if k in wb and not np.array_equal(wa[k], wb[k]):
                problems.append(f"{rel}: weight {k} differs")
    compare_training(a_dir, b_dir, rtol, atol, problems)
    return problems, worst


def compare_training(a_dir, b_dir, rtol, atol, problems):
    """training/ (export_training_reference.py): labels, loss terms, the gradients and the one-step weights where
    present."""
    ta, tb = os.path.join(a_dir, "training"), os.path.join(b_dir, "training")
    if os.path.isdir(ta) != os.path.isdir(tb):
        problems.append(f"training/: present in only one of the two directories")
        return
    if not os.path.isdir(ta):
        return
    ma, mb = (json.load(open(os.path.join(d, "manifest.json"))) for d in (ta, tb))
    if set(ma["labels"]) != set(mb["labels"]):
        problems.append("training/labels: names differ")
    for k, e in ma["labels"].items():
        if k in mb["labels"] and not np.array_equal(np.load(os.path.join(ta, e["file"])),
                                                    np.load(os.path.join(tb, mb["labels"][k]["file"]))):
            problems.append(f"training/labels/{k} differs")
    for k, v in ma["loss_terms"].items():
        why = tolerance.check(np.float32(mb["loss_terms"].get(k, np.inf)), np.float32(v), rtol=rtol, atol=atol)
        if why:
            problems.append(f"training/loss_terms/{k}: {v} vs {mb['loss_terms'].get(k)}")
    if ("gradients" in ma) != ("gradients" in mb):
        problems.append("training/gradients: present in only one of the two directories")
    elif "gradients" in ma:
        ga, gb = (load_file(os.path.join(d, m["gradients"]["file"])) for d, m in ((ta, ma), (tb, mb)))
        if set(ga) != set(gb):
            problems.append(f"training/gradients: tensor names differ: {sorted(set(ga) ^ set(gb))[:10]}")
        for k in ga:
            if k not in gb:
                continue
            if ga[k].shape != gb[k].shape:
                problems.append(f"training/gradients: {k} shape {ga[k].shape} vs {gb[k].shape}")
                continue
            why = tolerance.check(gb[k], ga[k], rtol=rtol, atol=atol)
            if why:
                problems.append(f"training/gradients: {k}: {why}")
    if ("step" in ma) != ("step" in mb):
        problems.append("training/step: present in only one of the two directories")
    elif "step" in ma:
        wa, wb = (load_file(os.path.join(d, "updated.safetensors")) for d in (ta, tb))
        if set(wa) != set(wb):
            problems.append("training/updated.safetensors: tensor names differ")
        for k in wa:
            why = tolerance.check(wb[k], wa[k], rtol=rtol, atol=atol) if k in wb else None
            if why:
                problems.append(f"training/updated.safetensors: {k}: {why}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("committed")
    ap.add_argument("fresh")
    ap.add_argument("--names", nargs="+", default=["tiny", "wide"])
    ap.add_argument("--rtol", type=float, default=tolerance.RTOL)
    ap.add_argument("--atol", type=float, default=tolerance.ATOL)
    args = ap.parse_args()
    failed = False
    for n in args.names:
        problems, worst = compare(os.path.join(args.committed, n), os.path.join(args.fresh, n), args.rtol, args.atol)
        status = "DRIFT" if problems else "ok"
        print(f"reference {n}: {status}; largest difference {worst[0]:.3g} ({worst[1]}), rtol {args.rtol:g}, "
              f"atol {args.atol:g}")
        for p in problems:
            print("  " + p)
        failed |= bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
