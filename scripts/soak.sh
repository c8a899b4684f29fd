#!/usr/bin/env bash
# Leak soak on the tiny fixture model (io.github.tflxmert.reliability.Soak):
#   scripts/soak.sh [CALLS=10000] [CYCLES=200] [WARMUP=1000]
# prints resident memory (VmRSS) every 1,000 predict calls and the growth after warm-up (target < 5 % over 10,000
# calls), then RSS over CYCLES open/predict/close cycles. The heap is fixed and pre-touched (-Xms = -Xmx,
# AlwaysPreTouch) so that Java heap growth is not counted as a leak; native memory (TensorFlow, tensors, graphs,
# sessions) is what remains. Linux only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -q -B -pl parity-tests -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test
cp="$root/parity-tests/target/test-classes:$root/tf-lxmert/target/classes:$root/savedmodel-loader/target/classes"
cp="$cp:$(cat parity-tests/target/test.classpath)"
cd parity-tests
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$cp" io.github.tflxmert.reliability.Soak "$@"
