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
    # bfloat16: AMX-BF16 tiles 1024 FLOP/cycle/core (TDPBF16PS, 16x16x32 per 16 cycles); AVX512-BF16's VDPBF16PS
    # twice the fp32 FMA rate; else none (emulated)
    bf16 = 1024 if "amx_bf16" in flags else 2 * per_cycle if "avx512_bf16" in flags else 0
    ghz = (mhz or 0) / 1e3
    return (cores * ghz * per_cycle, cores * ghz * bf16,
            f"{model}, {cores} cores @ {mhz:.0f} MHz, {per_cycle} fp32 / {bf16} bf16 FLOP/cycle/core"
            + ("" if "amx_bf16" in flags else " (no AMX)"))


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    with open(sys.argv[2]) as f:
        cfg = json.load(f)
    meta = json.loads(open(sys.argv[3]).read()) if len(sys.argv) > 3 else {}
    s, n = meta.get("text", 20), meta.get("regions", 36)
    fl = flops_per_example(cfg, s, n)
    peak, peak16, desc = machine_peak_gflops()
    print(f"workload: S={s} tokens, N={n} regions, {fl / 1e9:.2f} GFLOP per example (pretraining heads, computed "
          f"from config.json); machine peak {peak:.0f} GFLOP/s fp32, {peak16:.0f} GFLOP/s bf16 ({desc}); "
          "'% peak' of a bf16 variant is against the bf16 peak; 'x py bf16' = ratio to Python tf.function bf16 "
          "(Keras mixed_bfloat16)")
    weights = max((r.get("weights_bytes", 0) for r in rows), default=0)
    disk = meta.get("disk_read_s")
    if meta.get("checkpoint_bytes"):
        print(f"checkpoint {meta['checkpoint_bytes'] / 1e6:.0f} MB (float32 weights the graph loads: "
              f"{weights / 1e6:.0f} MB); reading the file from disk (O_DIRECT, no page cache): "
              + (f"{disk:.2f} s" if disk else "n/a") + f"; from the page cache: {meta['read_s']:.2f} s")
    print("init = TensorFlow runtime start (Python: import tensorflow, transformers); load = checkpoint or SavedModel "
          "load; 1st = first call (Python tf.function: includes tracing); x disk = load / disk read; "
          "x w = peak RSS / weights")
    # Each variant ran once per round (bench.sh --rounds): the k-th row of a variant is its round k. Figures are
    # medians over rounds; the ratio to tf.function is the median of per-round ratios (Python and Java of the same
    # round ran minutes apart at most), its range shown when there are several rounds.
    groups = {}
    for r in rows:
        groups.setdefault((r["batch"], r["side"], r["variant"]), []).append(r)
    rounds = max(len(g) for g in groups.values())
    if rounds > 1:
        print(f"{rounds} rounds: each figure is the median over rounds; 'x tf.fn' is the median of per-round ratios "
              "with their range; 'p50 range' is the spread of the rounds' p50")
    hdr = (f"{'side':6} {'variant':25} {'B':>2} {'init s':>6} {'load s':>6} {'x disk':>6} {'1st s':>6} "
           f"{'2nd s':>6} {'p50 ms':>7} {'p90 ms':>7} {'min-max ms':>15} {'p50 range':>13} {'ex/s':>6} "
           f"{'x tf.fn':>7} {'range':>11} {'x py bf16':>9} {'GFLOP/s':>7} {'% peak':>6} {'RSS MB':>6} {'x w':>4}")
    print(hdr)
    print("-" * len(hdr))

    def med(values):
        v = sorted(values)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    for key in sorted(groups, key=lambda k: (k[0], k[1] != "python", k[2])):
        g = groups[key]
        base = groups.get((key[0], "python", "function"), [])
        ratios = [r["throughput_eps"] / base[i]["throughput_eps"] for i, r in enumerate(g) if i < len(base)]
        m = {f: med([r[f] for r in g]) for f in ("runtime_init_s", "load_s", "first_call_s", "second_call_s",
                                                   "p50_ms", "p90_ms", "throughput_eps", "peak_rss_mb")}
        lo, hi = min(r["min_ms"] for r in g), max(r["max_ms"] for r in g)
        p50s = [r["p50_ms"] for r in g]
        ratio = med(ratios) if ratios else float("nan")
        base16 = groups.get((key[0], "python", "function-bf16"), [])
        r16 = [r["throughput_eps"] / base16[i]["throughput_eps"] for i, r in enumerate(g) if i < len(base16)]
        ratio16 = med(r16) if r16 else float("nan")
        is16 = "bf16" in key[2]
        pk = peak16 if is16 else peak
        rng = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
        prange = f"{min(p50s):.0f}-{max(p50s):.0f}" if len(p50s) > 1 else ""
        gflops = fl * m["throughput_eps"] / 1e9
        xdisk = m["load_s"] / disk if disk else float("nan")
        xw = m["peak_rss_mb"] * 1e6 / weights if weights else float("nan")
        print(f"{key[1]:6} {key[2]:25} {key[0]:>2} {m['runtime_init_s']:6.2f} {m['load_s']:6.2f} "
              f"{xdisk:6.2f} {m['first_call_s']:6.2f} {m['second_call_s']:6.3f} {m['p50_ms']:7.1f} "
              f"{m['p90_ms']:7.1f} {lo:7.1f}-{hi:<7.1f} {prange:>13} {m['throughput_eps']:6.2f} "
              f"{ratio:7.2f} {rng:>11} {ratio16:9.2f} {gflops:7.1f} {100 * gflops / pk if pk else float('nan'):6.1f} "
              f"{m['peak_rss_mb']:6.0f} {xw:4.2f}")

if __name__ == "__main__":
    main()
