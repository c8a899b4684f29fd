#!/usr/bin/env python3
"""Reads the JSON lines of bench/bench.sh and prints one table with ratios against Python tf.function, the
workload's FLOP count (computed from the config) and achieved GFLOP/s against the machine's peak."""
import json
import os
import sys


def flops_per_example(c, s, n):
    """Multiply-adds x 2 of one forward pass with the pretraining heads (LM head over the whole text)."""
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    f = c["visual_feat_dim"]
    dense = lambda m, a, b: 2 * m * a * b  # noqa: E731

    def self_layer(length):
        return (3 * dense(length, h, h) + 2 * 2 * length * length * h + dense(length, h, h)
                + dense(length, h, i) + dense(length, i, h))

    total = dense(n, f, h) + dense(n, 4, h)
    total += c["l_layers"] * self_layer(s) + c["r_layers"] * self_layer(n)
    cross = (dense(s, h, h) + 2 * dense(n, h, h) + 4 * s * n * h + dense(s, h, h)   # lang queries over vision
             + dense(n, h, h) + 2 * dense(s, h, h) + 4 * n * s * h + dense(n, h, h))  # vision queries over lang
    total += c["x_layers"] * (cross + self_layer(s) + self_layer(n))  # + self-attention and FFN per modality
    total += dense(1, h, h)                                      # pooler
    total += dense(s, h, h) + dense(s, h, v)                     # LM head transform + tied decoder
    total += dense(1, h, 2) + dense(1, h, 2 * h) + dense(1, 2 * h, c["num_qa_labels"])
    return total


def machine_peak_gflops():
    cores = os.cpu_count()
    mhz, flags, model = None, "", "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("cpu MHz") and mhz is None:
                mhz = float(line.split(":")[1])
            elif line.startswith("flags") and not flags:
                flags = line
            elif line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
    per_cycle = 64 if "avx512f" in flags else 32 if "avx2" in flags else 8  # fp32 FLOP/cycle/core, 2 FMA units
    return cores * (mhz or 0) / 1e3 * per_cycle, f"{model}, {cores} cores @ {mhz:.0f} MHz, {per_cycle} FLOP/cycle/core"


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    with open(sys.argv[2]) as f:
        cfg = json.load(f)
    meta = json.loads(open(sys.argv[3]).read()) if len(sys.argv) > 3 else {}
    s, n = meta.get("text", 20), meta.get("regions", 36)
    fl = flops_per_example(cfg, s, n)
    peak, desc = machine_peak_gflops()
    print(f"workload: S={s} tokens, N={n} regions, {fl / 1e9:.2f} GFLOP per example (pretraining heads, computed "
          f"from config.json); machine peak {peak:.0f} GFLOP/s ({desc})")
    weights = max((r.get("weights_bytes", 0) for r in rows), default=0)
    disk = meta.get("disk_read_s")
    if meta.get("checkpoint_bytes"):
        print(f"checkpoint {meta['checkpoint_bytes'] / 1e6:.0f} MB (float32 weights the graph loads: "
              f"{weights / 1e6:.0f} MB); reading the file from disk (O_DIRECT, no page cache): "
              + (f"{disk:.2f} s" if disk else "n/a") + f"; from the page cache: {meta['read_s']:.2f} s")
    print("init = TensorFlow runtime start (Python: import tensorflow, transformers); load = checkpoint or SavedModel "
          "load; 1st = first call (Python tf.function: includes tracing); x disk = load / disk read; "
          "x w = peak RSS / weights")
    base = {r["batch"]: r for r in rows if r["side"] == "python" and r["variant"] == "function"}
    hdr = (f"{'side':6} {'variant':25} {'B':>2} {'init s':>6} {'load s':>6} {'x disk':>6} {'1st s':>6} "
           f"{'2nd s':>6} {'p50 ms':>7} {'p90 ms':>7} {'min-max ms':>15} {'ex/s':>6} {'x tf.fn':>7} "
           f"{'GFLOP/s':>7} {'RSS MB':>6} {'x w':>4}")
    print(hdr)
    print("-" * len(hdr))
    for r in sorted(rows, key=lambda r: (r["batch"], r["side"] != "python", r["variant"])):
        b = base.get(r["batch"])
        ratio = r["throughput_eps"] / b["throughput_eps"] if b else float("nan")
        gflops = fl * r["throughput_eps"] / 1e9
        xdisk = r["load_s"] / disk if disk else float("nan")
        xw = r["peak_rss_mb"] * 1e6 / weights if weights else float("nan")
        print(f"{r['side']:6} {r['variant']:25} {r['batch']:>2} {r['runtime_init_s']:6.2f} {r['load_s']:6.2f} "
              f"{xdisk:6.2f} {r['first_call_s']:6.2f} {r['second_call_s']:6.3f} {r['p50_ms']:7.1f} "
              f"{r['p90_ms']:7.1f} {r['min_ms']:7.1f}-{r['max_ms']:<7.1f} {r['throughput_eps']:6.2f} "
              f"{ratio:7.2f} {gflops:7.1f} {r['peak_rss_mb']:6.0f} {xw:4.2f}")


if __name__ == "__main__":
    main()
