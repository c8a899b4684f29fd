#!/usr/bin/env bash
# Creates (or reuses) the pinned Python reference environment.
# Usage: parity-tests/python/install.sh [VENV_DIR]   (default: parity-tests/python/.venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.tf-lxmert-requirements"
if [ -f "$stamp" ] && cmp -s "$stamp" "$here/requirements.txt"; then
  exit 0
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
# tf-keras's metadata depends on `tensorflow`, which would pull a second TensorFlow over tensorflow-cpu.
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps tf-keras==2.18.0
cp "$here/requirements.txt" "$stamp"
