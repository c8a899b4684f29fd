#!/usr/bin/env bash
# Trains the embedded demo model from scratch with the Java trainer (tf-lxmert, io.github.tflxmert.training; the program is in lxmert-examples)
# on the synthetic VQA task and writes it, with answers.json, vocab.txt and training.json (held-out accuracy),
# to OUT (default: the lxmert command's resource folder).
# Usage: scripts/train-demo-model.sh [OUT] [steps] [batch] [seed] [held-out examples] [lr]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-lxmert-cli/src/main/resources/io/github/tflxmert/cli/demo-model}"
shift || true
mvn -q -B -ntp compile -pl lxmert-examples -am
mvn -q -B -ntp dependency:build-classpath -pl lxmert-examples -am -Dmdep.outputFile=target/demo-classpath.txt >/dev/null
cp="lxmert-examples/target/classes:tf-lxmert/target/classes:lxmert-arrays/target/classes"
java -cp "$cp:$(cat lxmert-examples/target/demo-classpath.txt)" \
  io.github.tflxmert.examples.TrainDemoModel "$out" "$@"
# Sample scenes for `lxmert run` (feature files + their description).
java -cp "$cp:$(cat lxmert-examples/target/demo-classpath.txt)" \
  io.github.tflxmert.examples.WriteDemoScenes "$out" 3 2024
