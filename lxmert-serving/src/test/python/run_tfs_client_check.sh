#!/usr/bin/env bash
# Starts `./lxmert serve` twice on 127.0.0.1 and checks both with TF Serving's Python client
# (tfs_client_check.py): (1) --model-config-file serving the Python-exported tiny SavedModel (py) and the Java
# export of the same weights (java), each held to tf.saved_model.load of its own SavedModel; (2) --model on the
# tiny HF directory (the Java graph), held to the Python-exported SavedModel of the same weights.
# Usage: lxmert-serving/src/test/python/run_tfs_client_check.sh [PYTHON]   (default: the pinned venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
cd "$root"
py="${1:-${TF_LXMERT_VENV:-$HOME/.cache/tf-lxmert/venv}/bin/python}"
api="${TFS_API_DIR:-$HOME/.cache/tf-lxmert/tfs-api}"
if [ ! -d "$api/tensorflow_serving" ]; then
  "$py" -m pip install -q --no-deps --target "$api" tensorflow-serving-api==2.18.0   # beside the pinned TF
fi
tmp="$(mktemp -d /tmp/tfs-client-check.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
tiny=parity-tests/fixtures/tiny
mkdir -p "$tmp/py"
(cd "$tmp/py" && unzip -q "$root/$tiny/saved_model.zip")
cp "$tiny/model/config.json" "$tmp/py/config.json"
./lxmert export --model "$tiny/model" --out "$tmp/java" > /dev/null
cat > "$tmp/models.config" <<CFG
model_config_list {
  config { name: "py" base_path: "$tmp/py" model_platform: "tensorflow" }
  config { name: "java" base_path: "$tmp/java" model_platform: "tensorflow" }
}
CFG
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start() { # LOG ARGS... -> starts the server, waits (bounded) for its ready line
  local log="$1"; shift
  ./lxmert serve --host 127.0.0.1 "$@" > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 240); do
    grep -q "lxmert serve: serving" "$log" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.5
  done
  cat "$log"; return 1
}
g1=$(free_port); r1=$(free_port); g2=$(free_port); r2=$(free_port)
start "$tmp/a.log" --port "$g1" --rest_api_port="$r1" --model_config_file="$tmp/models.config"
start "$tmp/b.log" --port "$g2" --rest-api-port "$r2" --model "$tiny/model" --model-name hf
export PYTHONPATH="$api${PYTHONPATH:+:$PYTHONPATH}" PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
check=lxmert-serving/src/test/python/tfs_client_check.py
"$py" "$check" --grpc "127.0.0.1:$g1" --rest "http://127.0.0.1:$r1" --model py --saved-model "$tmp/py/1"
"$py" "$check" --grpc "127.0.0.1:$g1" --rest "http://127.0.0.1:$r1" --model java --saved-model "$tmp/java/1"
"$py" "$check" --grpc "127.0.0.1:$g2" --rest "http://127.0.0.1:$r2" --model hf --saved-model "$tmp/py/1"
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
grep -q "lxmert serve: stopped" "$tmp/a.log" && grep -q "lxmert serve: stopped" "$tmp/b.log" \
  || { echo "a server did not drain and stop on SIGTERM"; tail -5 "$tmp/a.log" "$tmp/b.log"; exit 1; }
echo "tfs client check: all ok (SavedModel from Python, Java export, HF directory; SIGTERM drained)"
