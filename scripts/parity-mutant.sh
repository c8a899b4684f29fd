#!/usr/bin/env bash
# A defect must not pass parity: runs `lxmert parity` on a copy of a reference's model whose config.json says
# hidden_act "gelu_new" (the tanh GELU) where the reference used the exact one, and requires exit 1 with the
# first diverging tensor named in language layer 0 (the feed-forward block after its attention).
# Usage: scripts/parity-mutant.sh REFERENCE_DIR
set -euo pipefail
ref="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
mutant="$(mktemp -d /tmp/tf-lxmert-mutant.XXXXXX)"
trap 'rm -rf "$mutant"' EXIT
for f in "$ref"/model/*; do ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$mutant/"; done
rm "$mutant/config.json"
sed 's/"hidden_act": *"gelu"/"hidden_act": "gelu_new"/' "$ref/model/config.json" > "$mutant/config.json"
grep -q '"gelu_new"' "$mutant/config.json" || { echo "parity-mutant: could not mutate $ref/model/config.json"; exit 1; }
set +e
out="$("$root/lxmert" parity --reference "$ref" --model "$mutant")"
rc=$?
set -e
first="$(grep -m1 '^first divergence:' <<<"$out" || true)"
echo "mutant (tanh GELU): exit $rc; $first"
if [ "$rc" != 1 ] || ! grep -q 'language_hidden_states.0 (language layer 0)' <<<"$first"; then
  echo "parity-mutant: expected exit 1 and the first divergence at language_hidden_states.0"; exit 1
fi
