#!/usr/bin/env python3
"""Compares two reference directories written by export_reference.py (e.g. the committed fixtures and a fresh
regeneration): same config, cases and tensor names/shapes/dtypes, every input and output within --atol, every
checkpoint tensor equal, and the training reference (labels equal, loss terms and one-step weights within --atol,
gradients within --atol + 1.3e-6*|committed|). Prints one line per set and the drifted tensors; exits 1 on any drift.

Usage: compare_references.py COMMITTED_ROOT FRESH_ROOT [--names tiny wide] [--atol 1e-6]
"""
import argparse
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def load_manifest(d):
    with open(os.path.join(d, "manifest.json")) as f:
        return json.load(f)


def compare(a_dir, b_dir, atol):
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
                d = float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
                if d > worst[0]:
                    worst = (d, f"{name}/{t}")
                if d > atol:
                    problems.append(f"{name}/{kind}/{t}: max abs difference {d:.3g} > {atol:g}")
    for rel in ("model/model.safetensors", "model-pt/model.safetensors"):
        wa, wb = load_file(os.path.join(a_dir, rel)), load_file(os.path.join(b_dir, rel))
        if set(wa) != set(wb):
            problems.append(f"{rel}: tensor names differ: {sorted(set(wa) ^ set(wb))[:10]}")
        for k in wa:
            if k in wb and not np.array_equal(wa[k], wb[k]):
                problems.append(f"{rel}: weight {k} differs")
    compare_training(a_dir, b_dir, atol, problems)
    return problems, worst


# Gradients reach |g| ~ 5 on the fixtures, where float32 rounding alone is ~5e-7: they are held element-wise to
# atol + rtol*|committed| (torch's float32 rtol), not to atol alone.
GRADIENT_RTOL = 1.3e-6


def compare_training(a_dir, b_dir, atol, problems):
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
        if abs(v - mb["loss_terms"].get(k, float("inf"))) > atol:
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
            x, y = ga[k].astype(np.float64), gb[k].astype(np.float64)
            over = np.abs(x - y) > atol + GRADIENT_RTOL * np.abs(x)
            if np.any(over):
                problems.append(f"training/gradients: {k}: {int(over.sum())} elements differ by more than "
                                f"{atol:g} + {GRADIENT_RTOL:g}*|committed|")
    if ("step" in ma) != ("step" in mb):
        problems.append("training/step: present in only one of the two directories")
    elif "step" in ma:
        wa, wb = (load_file(os.path.join(d, "updated.safetensors")) for d in (ta, tb))
        if set(wa) != set(wb):
            problems.append("training/updated.safetensors: tensor names differ")
        for k in wa:
            if k in wb and float(np.max(np.abs(wa[k].astype(np.float64) - wb[k]))) > atol:
                problems.append(f"training/updated.safetensors: {k} differs by more than {atol:g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("committed")
    ap.add_argument("fresh")
    ap.add_argument("--names", nargs="+", default=["tiny", "wide"])
    ap.add_argument("--atol", type=float, default=1e-6)
    args = ap.parse_args()
    failed = False
    for n in args.names:
        problems, worst = compare(os.path.join(args.committed, n), os.path.join(args.fresh, n), args.atol)
        status = "DRIFT" if problems else "ok"
        print(f"reference {n}: {status}; largest difference {worst[0]:.3g} ({worst[1]}), atol {args.atol:g}")
        for p in problems:
            print("  " + p)
        failed |= bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
