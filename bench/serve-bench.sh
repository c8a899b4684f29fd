#!/usr/bin/env bash
# `lxmert serve` throughput and latency (lxmert-serving's ServingBenchmark, gRPC on 127.0.0.1): requests/s and
# p50/p99 at concurrency 1, 8 and 32, batching off and on (lxmert serve's defaults: max 32 rows, 1000 us, one
# batch thread per core), B=1 requests of 20 tokens and 36 regions asking for the three heads (what `lxmert bench`
# computes), on the LXMERT-base configuration with deterministic random weights (written by
# parity-tests/python/bench_python.py, as bench/bench.sh does) or, with --quick, the tiny fixture model.
# Before the server runs, `lxmert bench --variant graph` measures the same input in-process; the summary gives
#   - the batching on/off throughput ratio at concurrency 8 (target >= 1.5x), and
#   - p99 at concurrency 1 over `lxmert bench`'s p50 (target <= 1.2x: what the server adds).
# At base widths it then measures concurrency 8 again with both servers up at once, batching off and on, in
# --pairs P (default 4) pairs of 15 s segments in alternating order (off/on, on/off, ...): this host's speed drifts
# by up to 2x over minutes, so one off run and one on run minutes apart can disagree by more than the effect; the
# INTERLEAVED line gives each pair's ratio and the SUMMARY their median and range. --pairs 0 skips it.
# At base widths the first server first gets 20 s of concurrency-1 calls (--jit-warmup): calls were still getting
# faster 10-15 s after a 5 s warm-up (ServingBenchmark --timeline true) (most likely the JIT compiling the server's code on the model's cores).
# RESULT lines carry rows_per_run (mean rows per model run while measuring, from the batch-size histogram).
# --sweep adds, at concurrency 8, batching on with --num-batch-threads 1 and 2 x --batch-timeout-micros 1000,
# 5000 and 20000 (each against the batching-off figure of the main run): what limits the gain at base widths is
# how many requests one run merges (8 closed-loop clients split into cohorts that never meet when the batch
# timeout is shorter than a client's round trip, and 2 batch threads halve each batch).
# Usage: bench/serve-bench.sh [--quick] [--seconds S] [--dir DIR | --model HF_DIR] [--text S] [--regions N]
#          [--base-path] [--sweep] [--pairs P] [-- ServingBenchmark options]
#   --model: serve this HF model directory instead of the base-widths one (e.g. the embedded demo model,
#   lxmert-cli/src/main/resources/io/github/tflxmert/cli/demo-model, with --text 12 --regions 6: its positions
#   stop at 16); --text / --regions: the request's tokens and regions (default 20 and 36);
#   --base-path: serve the `lxmert export` SavedModel instead of the HF directory; options after -- go to
#   ServingBenchmark (e.g. -- --batch-timeout-micros 5000 --batch-threads 1 --concurrency 8).
# Takes about 7 min at base widths (about 3 of them the interleaved pairs) with the default 20 s per point (plus
# writing the 1 GB model once).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
quick=0; seconds=20; dir=""; model=""; text=20; regions=36; use_base=0; sweep=0; pairs=""; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; seconds=3 ;;
    --seconds) seconds="$2"; shift ;;
    --dir) dir="$2"; shift ;;
    --model) model="$(cd "$2" && pwd)"; shift ;;
    --text) text="$2"; shift ;;
    --regions) regions="$2"; shift ;;
    --base-path) use_base=1 ;;
    --sweep) sweep=1 ;;
    --pairs) pairs="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
export TF_CPP_MIN_LOG_LEVEL=2
start=$(date +%s)
mvn -q -B -ntp -pl lxmert-serving -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test -Djazzer.regression.skip=true
cp="lxmert-serving/target/test-classes:lxmert-serving/target/classes:$(cat lxmert-serving/target/bench.classpath)"
if [ -n "$model" ]; then
  [ -f "$model/config.json" ] || { echo "--model $model: expected an HF model directory (config.json)" >&2; exit 2; }
elif [ "$quick" = 1 ]; then
  model="$root/parity-tests/fixtures/tiny/model"
else
  py="${PYTHON:-${TF_LXMERT_VENV:-$HOME/.cache/tf-lxmert/venv}/bin/python}"
  dir="${dir:-$(mktemp -d /tmp/tf-lxmert-serve-bench.XXXXXX)}"
  model="$dir/model"
  [ -f "$model/config.json" ] || "$py" parity-tests/python/bench_python.py write --out "$model" > /dev/null
fi
what=(--model "$model")
if [ "$use_base" = 1 ]; then
  base="$(mktemp -d /tmp/tf-lxmert-serve-base.XXXXXX)"
  ./lxmert export --model "$model" --out "$base" > /dev/null
  what=(--base "$base")
fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# the same input in-process: B=1, $text tokens, $regions regions, the three heads, 2 threads (as the server's session)
bench_json="$(./lxmert bench --model "$model" --variant graph --batch 1 --text "$text" --regions "$regions" --threads "$(nproc)" \
  --iters $([ "$quick" = 1 ] && echo 20 || echo 30) 2>/dev/null | tail -1)"
p50="$(echo "$bench_json" | grep -o '"p50_ms" *: *[0-9.]*' | grep -o '[0-9.]*$')"
echo "lxmert bench --variant graph --batch 1 --text $text --regions $regions: p50 ${p50} ms"
warm=$([ "$quick" = 1 ] && echo 1 || echo 5)
jit=$([ "$quick" = 1 ] && echo 0 || echo 20)   # once per JVM, before the first point: the JIT settles (ServingBenchmark)
pairs="${pairs:-$([ "$quick" = 1 ] && echo 0 || echo 4)}"
out="$(java -Xmx4g -cp "$cp" io.github.tflxmert.serving.ServingBenchmark "${what[@]}" --seconds "$seconds" --text "$text" --regions "$regions" \
  --warmup "$warm" --jit-warmup "$jit" --concurrency 1,8,32 --bench-p50-ms "$p50" --interleave "$pairs" "${extra[@]}" 2>/dev/null \
  | grep -E '^(RESULT|SUMMARY|DIRECT|INTERLEAVED)')"
echo "$out"
if [ "$sweep" = 1 ]; then
  off8="$(echo "$out" | grep '"batching": false, "concurrency": 8,' | grep -o '"rps": [0-9.]*' | grep -o '[0-9.]*$')"
  for threads in 1 2; do
    for timeout in 1000 5000 20000; do
      line="$(java -Xmx4g -cp "$cp" io.github.tflxmert.serving.ServingBenchmark "${what[@]}" --seconds "$seconds" --text "$text" --regions "$regions" \
        --warmup "$warm" --concurrency 8 --batching on --batch-threads "$threads" --batch-timeout-micros "$timeout" \
        2>/dev/null | grep '^RESULT')"
      rps="$(echo "$line" | grep -o '"rps": [0-9.]*' | grep -o '[0-9.]*$')"
      rows="$(echo "$line" | grep -o '"rows_per_run": [0-9.]*' | grep -o '[0-9.]*$')"
      echo "SWEEP concurrency 8, --num-batch-threads $threads --batch-timeout-micros $timeout: $rps req/s, $rows rows/run, $(awk "BEGIN{printf \"%.2f\", $rps / $off8}")x batching off ($off8 req/s)"
    done
  done
fi
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); took $(( $(date +%s) - start )) s"
