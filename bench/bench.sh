#!/usr/bin/env bash
# Benchmarks tf-lxmert against Python on this machine, in one run, at the real LXMERT-base configuration
# (768 hidden, 12 heads, 9/5/5 layers, vocab 30522, 2048 features, 9500 answers; deterministic random weights
# written once by Python), batch 1 and 8, 20 tokens, 36 regions, the same thread settings on both sides.
# Each variant runs in its own process (load time and peak RSS are its own).
#
# Usage: bench/bench.sh [--quick] [--threads T] [--iters N] [--rounds R] [--dir DIR] [--variants "V ..."]
#   --quick   the tiny config, a few iterations (seconds; what .ci/run runs as a smoke check)
#   --rounds  run every variant R times, Python and Java interleaved, and report the median over rounds with the
#             spread of the rounds (a shared machine drifts by several percent over minutes)
#   --variants only these variants, by name on either side (e.g. "function function-bf16 graph graph-bf16");
#             default all. bfloat16: Python function-bf16 (Keras mixed_bfloat16) and function-bf16-rewrite (oneDNN
#             rewrite), Java graph-bf16 (casts in the graph) and graph-bf16-rewrite (oneDNN rewrite); the bf16
#             variants are skipped on a CPU without bfloat16 instructions
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=0; threads=2; iters=20; rounds=1; dir=""; variants=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; iters=3 ;;
    --threads) threads="$2"; shift ;;
    --iters) iters="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --dir) dir="$2"; shift ;;
    --variants) variants=" $2 "; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
py="${PYTHON:-${TF_LXMERT_VENV:-$HOME/.cache/tf-lxmert/venv}/bin/python}"
[ -x "$py" ] || "$root/parity-tests/python/install.sh" "$(dirname "$(dirname "$py")")"
dir="${dir:-$(mktemp -d /tmp/tf-lxmert-bench.XXXXXX)}"
mkdir -p "$dir"
model="$dir/model"
out="$dir/results.jsonl"
: > "$out"
export TF_CPP_MIN_LOG_LEVEL=2
"$root/lxmert" --help > /dev/null   # builds the command if needed

if [ ! -f "$model/config.json" ]; then
  echo "writing the model with deterministic random weights to $model ..." >&2
  "$py" "$root/parity-tests/python/bench_python.py" write --out "$model" $([ $quick = 1 ] && echo --quick) > /dev/null
fi
rm -rf "$dir/java-export"
"$root/lxmert" export --model "$model" --out "$dir/java-export" --version 1 > /dev/null
bytes=$(stat -c %s "$model/tf_model.h5")
# Reading the checkpoint from disk: with O_DIRECT (bypasses the page cache, i.e. what a cold load pays), median of
# three; and from the page cache (cat after a first read).
disk_s=null
for i in 1 2 3; do
  start=$(date +%s.%N)
  if dd if="$model/tf_model.h5" of=/dev/null bs=16M iflag=direct 2>/dev/null; then
    end=$(date +%s.%N); python3 -c "print(round($end - $start, 4))"
  fi
done | sort -n | sed -n 2p > "$dir/disk_s" || true
[ -s "$dir/disk_s" ] && disk_s=$(cat "$dir/disk_s")
cat "$model/tf_model.h5" > /dev/null
start=$(date +%s.%N); cat "$model/tf_model.h5" > /dev/null; end=$(date +%s.%N)
read_s=$(python3 -c "print(round($end - $start, 4))")
echo "{\"text\": 20, \"regions\": 36, \"checkpoint_bytes\": $bytes, \"read_s\": $read_s, \"disk_read_s\": $disk_s}" > "$dir/meta.json"

has_bf16=0; grep -q -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo && has_bf16=1
want() {  # variant name -> whether to run it
  case "$1" in *bf16*) [ "$has_bf16" = 1 ] || return 1 ;; esac
  [ -z "$variants" ] || [[ "$variants" == *" $1 "* ]]
}
for round in $(seq 1 "$rounds"); do
  for b in 1 8; do
    for v in eager function function-bf16 function-bf16-rewrite saved_model; do
      want "$v" || continue
      echo "round $round: python $v batch $b ..." >&2
      "$py" "$root/parity-tests/python/bench_python.py" run --model "$model" --variant "$v" --batch "$b" \
        --threads "$threads" --iters "$iters" 2>/dev/null | grep '^{' >> "$out"
    done
    for v in graph graph-bf16 graph-bf16-unpacked graph-bf16-rewrite graph-unfused graph-grappler graph-no-lm graph-xla; do
      want "$v" || continue
      echo "round $round: java $v batch $b ..." >&2
      xla=""; [ "$v" = graph-xla ] && xla="--tf_xla_cpu_global_jit"
      TF_XLA_FLAGS="$xla" "$root/lxmert" bench --model "$model" --variant "$v" --batch "$b" --threads "$threads" \
        --iters "$iters" | grep '^{' >> "$out"
    done
    want saved-model || continue
    echo "round $round: java saved-model (Python export) batch $b ..." >&2
    "$root/lxmert" bench --model "$model/saved_model/1" --config "$model/config.json" --variant saved-model \
      --batch "$b" --threads "$threads" --iters "$iters" | grep '^{' | sed 's/"saved-model"/"saved-model (py export)"/' >> "$out"
    echo "round $round: java saved-model (Java export) batch $b ..." >&2
    "$root/lxmert" bench --model "$dir/java-export/1" --config "$model/config.json" --variant saved-model \
      --batch "$b" --threads "$threads" --iters "$iters" | grep '^{' | sed 's/"saved-model"/"saved-model (java export)"/' >> "$out"
  done
done
python3 "$root/bench/bench_report.py" "$out" "$model/config.json" "$dir/meta.json"
if want graph-xla; then
  echo "XLA parity re-check (graph-xla against the committed wide reference):"
  TF_XLA_FLAGS=--tf_xla_cpu_global_jit "$root/lxmert" parity --xla --reference "$root/parity-tests/fixtures/wide" \
    --model "$root/parity-tests/fixtures/wide/model" | grep -E "PASSED|FAILED" | sed 's/^/  /'
fi
if want graph-bf16; then
  echo "bfloat16 budget re-check (graph-bf16 against the committed wide reference):"
  "$root/lxmert" parity --precision bf16 --reference "$root/parity-tests/fixtures/wide" \
    --model "$root/parity-tests/fixtures/wide/model" | grep -E "PASSED|FAILED" | sed 's/^/  /'
fi

echo "raw results: $out" >&2
