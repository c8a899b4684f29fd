#!/usr/bin/env bash
# Regenerates the committed parity fixtures (or writes them elsewhere, for the CI drift check).
# Usage: parity-tests/python/make_fixtures.sh [OUT_ROOT]   (default: parity-tests/fixtures)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${1:-$here/../fixtures}"
py="${PYTHON:-$here/.venv/bin/python}"
mkdir -p "$root"
"$py" "$here/export_reference.py" --preset tiny --seed 0 --saved-model zip --out "$root/tiny"
"$py" "$here/export_reference.py" --preset wide --seed 1 --saved-model zip --out "$root/wide"
# Labels, loss terms and (tiny only) one Adam step, for LossParityTest and TrainingStepParityTest.
"$py" "$here/export_training_reference.py" --ref "$root/tiny" --step
"$py" "$here/export_training_reference.py" --ref "$root/wide"
# The lxmert command's embedded default model is the tiny fixture model (random weights) with the 36 regions
# of its long case as sample features. Only when writing the committed fixtures.
if [ -z "${1:-}" ]; then
  res="$here/../../lxmert-cli/src/main/resources/io/github/tflxmert/cli/default-model"
  mkdir -p "$res"
  cp "$root/tiny/model/config.json" "$root/tiny/model/model.safetensors" "$root/tiny/model/vocab.txt" "$res/"
  cp "$root/tiny/cases/b1_long/inputs/visual_feats.npy" "$res/sample-features.npy"
  cp "$root/tiny/cases/b1_long/inputs/visual_pos.npy" "$res/sample-boxes.npy"
fi
"$py" "$here/write_integration_inputs.py" "$root/integration"
"$py" "$here/export_tokenizer_reference.py" --out "$root/tokenizer"
