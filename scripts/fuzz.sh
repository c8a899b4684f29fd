#!/usr/bin/env bash
# Fuzzes the file parsers (safetensors header + tensors, .npy, config.json, the reference manifest, tf_model.h5,
# pytorch_model.bin in the zip and legacy formats),
# the tokenizer (arbitrary UTF-8 text) and the SavedModel loader: "opcheck" (generated SavedModels with denied ops
# at known places; the op check must refuse exactly those, naming op, function and call chain) and "savedmodel"
# (mutated saved_model.pb files through the real loader, down to TensorFlow's native loader).
#
#   scripts/fuzz.sh [EXECUTIONS] [SEED] [TARGET...]   seeded mutation fuzzer (io.github.tflxmert.reliability.Fuzz),
#                                                     default 100000 executions per target, all nine targets
#                                                     (e.g. scripts/fuzz.sh 100000 1 opcheck savedmodel)
#   scripts/fuzz.sh -jazzer [TARGET...]               Jazzer (libFuzzer, coverage-guided): 100000 executions per
#                                                     target (JazzerFuzzTest's @FuzzTest limit), one JVM per target
#
# Only IllegalArgumentException (and IOException where documented) may escape a parser; anything else is printed
# with its stack trace, the input is saved (parity-tests/target/fuzz-findings/, or for Jazzer in parity-tests/ or
# .cifuzz-corpus/), and the script exits non-zero.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ "${1:-}" == "-jazzer" ]]; then
  shift
  targets=("$@")
  [[ ${#targets[@]} -eq 0 ]] && targets=(safetensors npy config manifest h5 pytorch)
  # Jazzer's working corpus lives in parity-tests/.cifuzz-corpus/<class>/<method>; start it from the real files.
  corpus=parity-tests/.cifuzz-corpus/io.github.tflxmert.reliability.JazzerFuzzTest
  mkdir -p "$corpus"/{safetensors,npy,config,manifest,h5,pytorch}
  cp parity-tests/fixtures/tiny/model/model.safetensors "$corpus/safetensors/tf.safetensors"
  cp parity-tests/fixtures/tiny/model-pt/model.safetensors "$corpus/safetensors/pt.safetensors"
  cp parity-tests/fixtures/tiny/cases/b1_equal/inputs/*.npy "$corpus/npy/"
  cp parity-tests/fixtures/tiny/model/config.json "$corpus/config/tiny.json"
  cp parity-tests/fixtures/wide/model/config.json "$corpus/config/wide.json"
  cp parity-tests/fixtures/tiny/manifest.json "$corpus/manifest/"
  cp parity-tests/fixtures/hostile/dtypes.h5 "$corpus/h5/"
  cp parity-tests/fixtures/torch/{views,views-legacy,dtypes,dtypes-legacy}.bin "$corpus/pytorch/"
  status=0
  mkdir -p parity-tests/target
  for t in "${targets[@]}"; do
    echo "== jazzer: $t"
    start=$(date +%s)
    log="parity-tests/target/jazzer-$t.log"
    # Coverage from our classes and the parsers underneath them (Jackson, jhdf), not only the test's package.
    JAZZER_FUZZ=1 mvn -q -B -pl parity-tests -am test -Dtest="JazzerFuzzTest#$t" \
      -Dsurefire.failIfNoSpecifiedTests=false -Djazzer.regression.skip=true -DtrimStackTrace=false \
      -Djazzer.instrumentation_includes='io.github.tflxmert.**:com.fasterxml.jackson.**:io.jhdf.**' \
      >"$log" 2>&1 || status=1
    grep -E '^INFO: +[0-9]+ files found in .*cifuzz|INITED|DONE|^Done [0-9]+ runs|== Java Exception|Tests run|FAIL' "$log" || true
    echo "   $(( $(date +%s) - start )) s wall including the Maven build; full log: $log"
  done
  exit $status
fi

n="${1:-100000}"
seed="${2:-1}"
shift $(( $# > 2 ? 2 : $# )) || true
mvn -q -B -pl parity-tests -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test
cp="parity-tests/target/test-classes:tf-lxmert/target/classes:savedmodel-loader/target/classes:$(cat parity-tests/target/test.classpath)"
cp="$(echo "$cp" | sed "s#parity-tests/#$root/parity-tests/#; s#:tf-lxmert/#:$root/tf-lxmert/#; s#:savedmodel-loader/#:$root/savedmodel-loader/#")"
cd parity-tests
# TensorFlow logs every SavedModel load (and, at ERROR, every malformed one the savedmodel target feeds it).
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"
# A fixed, small heap: "bounded memory" means a hostile input cannot make the parser allocate past it.
exec java -Xmx512m -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dorg.slf4j.simpleLogger.log.io.jhdf=error -Dorg.slf4j.simpleLogger.log.io.github.tflxmert.savedmodel=error \
  -cp "$cp" \
  io.github.tflxmert.reliability.Fuzz "$n" "$seed" "$@"
