#!/usr/bin/env bash
# `lxmert serve` throughput and latency (lxmert-serving's ServingBenchmark, gRPC on 127.0.0.1): requests/s and
# p50/p99 at concurrency 1, 8 and 32, batching off and on, B=1 requests of 20 tokens and 36 regions, on the
# LXMERT-base configuration with deterministic random weights (written by parity-tests/python/bench_python.py,
# as bench/bench.sh does) or, with --quick, the tiny fixture model for a few seconds.
# Usage: bench/serve-bench.sh [--quick] [--seconds S] [--dir DIR] [--base-path]   (--base-path: serve the
#   `lxmert export` SavedModel instead of the HF directory)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
quick=0; seconds=20; dir=""; use_base=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; seconds=3 ;;
    --seconds) seconds="$2"; shift ;;
    --dir) dir="$2"; shift ;;
    --base-path) use_base=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
export TF_CPP_MIN_LOG_LEVEL=2
mvn -q -B -ntp -pl lxmert-serving -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="lxmert-serving/target/test-classes:lxmert-serving/target/classes:$(cat lxmert-serving/target/bench.classpath)"
if [ "$quick" = 1 ]; then
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
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores" >&2
java -Xmx4g -cp "$cp" io.github.tflxmert.serving.ServingBenchmark "${what[@]}" --seconds "$seconds" \
  --warmup $([ "$quick" = 1 ] && echo 1 || echo 5) --concurrency 1,8,32 2>/dev/null | grep '^RESULT'
