#!/usr/bin/env bash
# How to get bfloat16 into the Java graph, measured: the float32 graph (graph), mixed bfloat16 written into the
# graph as casts with the kernels held in bfloat16 (graph-bf16, what --precision bf16 does), and the float32 graph
# under TensorFlow's Grappler pass auto_mixed_precision_onednn_bfloat16 (graph-bf16-rewrite; -unfused: on
# Keras' separate ops, which the rewrite's allow list names: MatMul, BatchMatMul). One process per
# variant; batch 1 and 8; p50 latency, first call (the rewrite runs there) and peak RSS.
#
# Usage: bench/bf16-strategies.sh MODEL_DIR [iters=10] [threads=2]
#   e.g. a base-widths reference model: parity-tests/python/export_reference.py --preset base-widths --out DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$1"; iters="${2:-10}"; threads="${3:-2}"
"$root/lxmert" --help > /dev/null
printf "%-20s %2s %8s %8s %8s %8s\n" variant B "p50 ms" "1st s" "RSS MB" "ex/s"
for b in 1 8; do
  for v in graph graph-bf16 graph-bf16-rewrite graph-bf16-rewrite-unfused; do
    "$root/lxmert" bench --model "$model" --variant "$v" --batch "$b" --threads "$threads" --iters "$iters" \
      | grep '^{' | python3 -c 'import json,sys; r=json.loads(sys.stdin.read());
print("%-20s %2d %8.1f %8.2f %8.0f %8.2f" % (r["variant"], r["batch"], r["p50_ms"], r["first_call_s"], r["peak_rss_mb"], r["throughput_eps"]))'
  done
done
