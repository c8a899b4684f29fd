#!/usr/bin/env bash
# Regenerates parity-tests/fixtures/torch with the PyTorch venv (install_torch.sh), or writes them elsewhere.
# Usage: parity-tests/python/make_torch_fixtures.sh [OUT_DIR] [--compare DIR]   (Python: $TORCH_PYTHON, default
#        ~/.cache/tf-lxmert/torch-venv/bin/python)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${TORCH_PYTHON:-$HOME/.cache/tf-lxmert/torch-venv/bin/python}"
if [ $# -eq 0 ]; then set -- "$here/../fixtures/torch"; fi
exec "$py" "$here/make_torch_fixtures.py" "$@"
