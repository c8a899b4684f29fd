#!/usr/bin/env bash
# Leak soak (io.github.tflxmert.reliability.Soak). Two forms:
#
#   scripts/soak.sh [CALLS=10000] [CYCLES=200] [WARMUP=1000]
#       the tiny fixture model: RSS (VmRSS) every 1,000 predict calls and the growth after warm-up (bound 5 %),
#       then RSS over CYCLES open/predict/close cycles. 256 MiB heap.
#
#   scripts/soak.sh --base [DIR] [CALLS=200] [CYCLES=10] [WARMUP=40]
#       the real LXMERT-base configuration (768 hidden, 12 heads, 9/5/5 layers, vocab 30522, 2048 features,
#       9500 answers): RSS every CALLS/10 predict calls (every 20 for 200: every 1,000 would print nothing before
#       the end), growth after warm-up (bound 5 %), then CYCLES open/close cycles (each loads 0.9 GB, about 10 s).
#       DIR (default target/soak-base) is an HF model directory; if it holds no config.json, a random-weight
#       checkpoint (config.json + model.safetensors, 0.9 GB, seed 7) is written there first, in a separate JVM,
#       so no Python and no download are needed. A real checkpoint works too (e.g. /tmp/bench-model, written by
#       parity-tests/python/bench_python.py). 1 GiB heap. Takes about 2 minutes plus the cycles on 2 cores.
#
# The heap is fixed and pre-touched (-Xms = -Xmx, AlwaysPreTouch) so that Java heap growth is not counted as a
# leak; native memory (TensorFlow, tensors, graphs, sessions) is what remains. Exits with status 3 if resident
# memory grew by 5 % or more after the warm-up. Linux only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -q -B -pl parity-tests -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test
cp="$root/parity-tests/target/test-classes:$root/tf-lxmert/target/classes:$root/savedmodel-loader/target/classes"
cp="$cp:$(cat parity-tests/target/test.classpath)"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
jvm=(-XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp")

if [[ "${1:-}" == "--base" ]]; then
  shift
  dir="$root/target/soak-base"
  if [[ $# -gt 0 && ! "$1" =~ ^[0-9]+$ ]]; then
    dir="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    shift
  fi
  if [[ ! -f "$dir/config.json" ]]; then
    java -Xmx3g "${jvm[@]}" io.github.tflxmert.reliability.Soak --write-random "$dir" 7
  fi
  cd parity-tests
  exec java -Xms1g -Xmx1g -XX:+AlwaysPreTouch "${jvm[@]}" io.github.tflxmert.reliability.Soak --model "$dir" "$@"
fi

cd parity-tests
exec java -Xms256m -Xmx256m -XX:+AlwaysPreTouch "${jvm[@]}" io.github.tflxmert.reliability.Soak "$@"
