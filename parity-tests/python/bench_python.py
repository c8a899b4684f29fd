#!/usr/bin/env python3
"""Python side of the tf-lxmert benchmark (driven by bench/bench.sh).

  bench_python.py write --out DIR [--quick]      writes a model directory with deterministic random weights
                                                 (config.json, tf_model.h5, vocab.txt) and a Python SavedModel
  bench_python.py run --model DIR --variant eager|function|function-bf16[-rewrite]|saved_model --batch B [--text 20 --regions 36]
                  [--threads T] [--iters N]      one measurement, printed as one JSON line

Each `run` is its own process, so load time and peak resident memory (VmHWM) belong to that variant alone.

function-bf16 is tf.function with HF's model built under Keras' mixed_bfloat16 policy (variables float32, compute
bfloat16); function-bf16-rewrite is tf.function on the float32 model under TensorFlow's oneDNN bfloat16 rewrite
(Grappler's auto_mixed_precision_onednn_bfloat16).
"""
import argparse
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

BASE = dict(vocab_size=30522, hidden_size=768, num_attention_heads=12, intermediate_size=3072, l_layers=9,
            x_layers=5, r_layers=5, visual_feat_dim=2048, num_qa_labels=9500, num_object_labels=1600,
            num_attr_labels=400)
QUICK = dict(vocab_size=300, hidden_size=28, num_attention_heads=2, intermediate_size=64, l_layers=2, x_layers=1,
             r_layers=1, visual_feat_dim=128, num_qa_labels=30, num_object_labels=16, num_attr_labels=4)


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def write(args):
    import numpy as np
    from transformers import LxmertConfig, TFLxmertForPreTraining
    cfg = QUICK if args.quick else BASE
    model = TFLxmertForPreTraining(LxmertConfig(**cfg))
    model.build_in_name_scope()
    rng = np.random.default_rng(0)
    for v in model.weights:  # deterministic, cheap: N(0, 0.02) kernels, unit gammas
        leaf = v.name.split("/")[-1]
        if leaf.startswith("gamma"):
            v.assign(np.ones(v.shape, np.float32))
        else:
            v.assign((0.02 * rng.standard_normal(v.shape, dtype=np.float32)).astype(np.float32))
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    model.save_pretrained(args.out, saved_model=True, safe_serialization=False)
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                          [f"w{i}" for i in range(cfg["vocab_size"] - 5)]) + "\n")
    print(json.dumps({"written": args.out, "config": cfg}))


def run(args):
    t0 = time.perf_counter()
    import numpy as np
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.variant == "function-bf16-rewrite":
        tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": True})
    if args.variant == "function-bf16":
        tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    from transformers import TFLxmertForPreTraining
    runtime_init = time.perf_counter() - t0
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    rng = np.random.default_rng(1)
    b, s, n = args.batch, args.text, args.regions
    inputs = dict(
        input_ids=rng.integers(5, cfg["vocab_size"], (b, s)).astype(np.int32),
        attention_mask=np.ones((b, s), np.int32), token_type_ids=np.zeros((b, s), np.int32),
        visual_feats=rng.random((b, n, cfg["visual_feat_dim"]), dtype=np.float32),
        visual_pos=np.tile(np.array([0.1, 0.2, 0.5, 0.9], np.float32), (b, n, 1)),
        visual_attention_mask=np.ones((b, n), np.int32))
    feed = {k: tf.constant(v) for k, v in inputs.items()}
    t_load = time.perf_counter()
    if args.variant == "saved_model":
        loaded = tf.saved_model.load(os.path.join(args.model, "saved_model", "1"))
        sig = loaded.signatures["serving_default"]
        call = lambda: sig(**feed)  # noqa: E731
    else:
        model = TFLxmertForPreTraining.from_pretrained(args.model, use_safetensors=False)
        del feed["visual_attention_mask"]

        def eager():
            return model(**feed, training=False)

        call = tf.function(eager) if args.variant.startswith("function") else eager
    load = time.perf_counter() - t_load
    t_first = time.perf_counter()
    out = call()
    _ = out["prediction_logits"].numpy() if isinstance(out, dict) else out.prediction_logits.numpy()
    first_call = time.perf_counter() - t_first
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    out = call()
    second_call = time.perf_counter() - t1
    for _ in range(args.warmup):
        call()
    times = []
    for _ in range(args.iters):
        t = time.perf_counter()
        o = call()
        (o["prediction_logits"] if isinstance(o, dict) else o.prediction_logits).numpy()
        times.append(time.perf_counter() - t)
    times = np.array(times)
    print(json.dumps({"side": "python", "variant": args.variant, "batch": b, "runtime_init_s": runtime_init,
                      "load_s": load, "first_call_s": first_call, "load_to_first_result_s": first,
                      "second_call_s": second_call, "p50_ms": float(np.percentile(times, 50) * 1e3),
                      "p90_ms": float(np.percentile(times, 90) * 1e3), "min_ms": float(times.min() * 1e3),
                      "max_ms": float(times.max() * 1e3), "iters": args.iters,
                      "throughput_eps": float(b / np.median(times)), "peak_rss_mb": peak_rss_mb()}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--out", required=True)
    w.add_argument("--quick", action="store_true")
    r = sub.add_parser("run")
    r.add_argument("--model", required=True)
    r.add_argument("--variant", choices=["eager", "function", "function-bf16", "function-bf16-rewrite",
                                                "saved_model"], required=True)
    r.add_argument("--batch", type=int, default=1)
    r.add_argument("--text", type=int, default=20)
    r.add_argument("--regions", type=int, default=36)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--iters", type=int, default=20)
    r.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    write(args) if args.cmd == "write" else run(args)


if __name__ == "__main__":
    sys.exit(main())
