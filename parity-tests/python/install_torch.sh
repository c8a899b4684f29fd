#!/usr/bin/env bash
# Creates (or reuses) the pinned PyTorch fixture environment for make_torch_fixtures.py.
# Usage: parity-tests/python/install_torch.sh [VENV_DIR]   (default: ~/.cache/tf-lxmert/torch-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$HOME/.cache/tf-lxmert/torch-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.tf-lxmert-torch-requirements"
if [ -f "$stamp" ] && cmp -s "$stamp" "$here/torch-requirements.txt"; then
  exit 0
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/torch-requirements.txt"
cp "$here/torch-requirements.txt" "$stamp"
