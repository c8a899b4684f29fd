#!/usr/bin/env bash
# Prints the parity figures the README quotes: for each reference (default: the committed tiny and wide fixtures)
# and each CPU code path (default oneDNN, oneDNN capped at AVX2, oneDNN off), `lxmert parity` on the Java graph:
# worst max abs, worst element-wise excess over the bound, tensors passed only by the Python-noise rule, verdict.
# Usage: scripts/parity-table.sh [REFERENCE_DIR ...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
refs=("$@")
[ ${#refs[@]} -gt 0 ] || refs=("$root/parity-tests/fixtures/tiny" "$root/parity-tests/fixtures/wide")
tmp="$(mktemp -d /tmp/tf-lxmert-parity-table.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
cpu="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
flags="$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_tile)$' | tr '\n' ' ')"
echo "CPU: $cpu ($flags)"
printf '| reference | CPU code path | cases | worst max abs | worst tensor | noise-rule passes | result |\n|---|---|---|---|---|---|---|\n'
for ref in "${refs[@]}"; do
  for path in default avx2 onednn-off; do
    case "$path" in
      default) envs=() ;;
      avx2) envs=(ONEDNN_MAX_CPU_ISA=AVX2) ;;
      onednn-off) envs=(TF_ENABLE_ONEDNN_OPTS=0) ;;
    esac
    json="$tmp/$(basename "$ref")-$path.json"
    env "${envs[@]}" "$root/lxmert" parity --reference "$ref" --model "$ref/model" --json "$json" > /dev/null || true
    python3 - "$json" "$(basename "$ref")" "$path" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = [t for c in r["cases"] for t in c["tensors"]]
worst = max(rows, key=lambda t: t["max_abs"] if isinstance(t["max_abs"], float) else float("inf"))
noise = sum(t["verdict"] == "within_python_noise" for t in rows)
print(f"| {sys.argv[2]} | {sys.argv[3]} | {len(r['cases'])} | {worst['max_abs']:.3g} | `{worst['tensor']}` | {noise} "
      f"of {len(rows)} | {'passed' if r['passed'] else 'FAILED'} |")
PY
  done
done
