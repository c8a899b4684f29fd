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
# Labels, loss terms, every gradient and (tiny only) one Adam step, for LossParityTest and TrainingStepParityTest.
"$py" "$here/export_training_reference.py" --ref "$root/tiny" --step
"$py" "$here/export_training_reference.py" --ref "$root/wide" --gradients
"$py" "$here/write_integration_inputs.py" "$root/integration"
"$py" "$here/export_tokenizer_reference.py" --out "$root/tokenizer"
