#!/usr/bin/env bash
# Trains the embedded demo model from scratch with the Java trainer (tf-lxmert, io.github.tflxmert.training)
# on the synthetic VQA task and writes it, with answers.json, vocab.txt and training.json (held-out accuracy),
# to OUT (default: the lxmert command's resource folder).
# Usage: scripts/train-demo-model.sh [OUT] [steps] [batch] [seed] [held-out examples] [lr]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-lxmert-cli/src/main/resources/io/github/tflxmert/cli/demo-model}"
shift || true
mvn -q -B -ntp compile -pl tf-lxmert
mvn -q -B -ntp dependency:build-classpath -pl tf-lxmert -Dmdep.outputFile=target/demo-classpath.txt >/dev/null
java -cp "tf-lxmert/target/classes:$(cat tf-lxmert/target/demo-classpath.txt)" \
  io.github.tflxmert.training.demo.TrainDemoModel "$out" "$@"
# Sample scenes for `lxmert run` (feature files + their description).
java -cp "tf-lxmert/target/classes:$(cat tf-lxmert/target/demo-classpath.txt)" \
  io.github.tflxmert.training.demo.WriteDemoScenes "$out" 3 2024
