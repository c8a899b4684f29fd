#!/usr/bin/env bash
# Starts `./lxmert serve` three times on 127.0.0.1 and checks both with TF Serving's Python client
# (tfs_client_check.py): (1) --model-config-file serving the Python-exported tiny SavedModel (py) and the Java
# export of the same weights (java), each held to tf.saved_model.load of its own SavedModel; (2) --model on the
# tiny HF directory (the Java graph), held to the Python-exported SavedModel of the same weights; (3) the same with
# --response-tensor-content (the answers' floats in tensor_content, read by tf.make_ndarray); then
# tfs_reflection_check.py on the first two: services, descriptors and a Predict through server reflection only.
# Usage: lxmert-serving/src/test/python/run_tfs_client_check.sh [PYTHON]   (default: the pinned venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
cd "$root"
py="${1:-${TF_LXMERT_VENV:-$HOME/.cache/tf-lxmert/venv}/bin/python}"
api="${TFS_API_DIR:-$HOME/.cache/tf-lxmert/tfs-api}"
if [ ! -d "$api/tensorflow_serving" ]; then
  "$py" -m pip install -q --no-deps --target "$api" tensorflow-serving-api==2.18.0   # beside the pinned TF
fi
# grpcio-reflection (the grpcurl-style check), --no-deps into the same directory: the version of the venv's grpcio
# where PyPI has it and its generated code runs on the venv's protobuf; else (grpcio 1.85.3 has no
# grpcio-reflection 1.85.3, and 1.85.1's code is protobuf 7 gencode, refused by protobuf 5.29) the newest one whose
# declared requirements (grpcio >=, protobuf range) the venv's grpcio and protobuf meet, as pip resolves it.
refl_ok() { PYTHONPATH="$api" "$py" -c 'from grpc_reflection.v1alpha import proto_reflection_descriptor_database' 2>/dev/null; }
if ! refl_ok; then
  grpcio="$("$py" -c 'import grpc; print(grpc.__version__)')"
  pb="$("$py" -c 'import google.protobuf as p; print(p.__version__)')"
  refl="$grpcio"
  if ! "$py" -m pip install -q --no-deps --upgrade --target "$api" "grpcio-reflection==$refl" > /dev/null 2>&1 || ! refl_ok; then
    refl="$("$py" -m pip install -q --dry-run --ignore-installed --report - grpcio-reflection "grpcio==$grpcio" "protobuf==$pb" \
      | "$py" -c 'import json, sys; print(next(i["metadata"]["version"] for i in json.load(sys.stdin)["install"] if i["metadata"]["name"] == "grpcio-reflection"))')"
    "$py" -m pip install -q --no-deps --upgrade --target "$api" "grpcio-reflection==$refl"
  fi
  refl_ok || { echo "grpcio-reflection $refl does not import beside grpcio $grpcio / protobuf $pb"; exit 1; }
  echo "installed grpcio-reflection $refl (venv: grpcio $grpcio, protobuf $pb) into $api"
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
g1=$(free_port); r1=$(free_port); g2=$(free_port); r2=$(free_port); g3=$(free_port); r3=$(free_port)
start "$tmp/a.log" --port "$g1" --rest_api_port="$r1" --model_config_file="$tmp/models.config"
start "$tmp/b.log" --port "$g2" --rest-api-port "$r2" --model "$tiny/model" --model-name hf
start "$tmp/c.log" --port "$g3" --rest-api-port "$r3" --model "$tiny/model" --model-name hf --response-tensor-content
export PYTHONPATH="$api${PYTHONPATH:+:$PYTHONPATH}" PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
check=lxmert-serving/src/test/python/tfs_client_check.py
"$py" "$check" --grpc "127.0.0.1:$g1" --rest "http://127.0.0.1:$r1" --model py --saved-model "$tmp/py/1"
"$py" "$check" --grpc "127.0.0.1:$g1" --rest "http://127.0.0.1:$r1" --model java --saved-model "$tmp/java/1"
"$py" "$check" --grpc "127.0.0.1:$g2" --rest "http://127.0.0.1:$r2" --model hf --saved-model "$tmp/py/1"
"$py" "$check" --grpc "127.0.0.1:$g3" --rest "http://127.0.0.1:$r3" --model hf --saved-model "$tmp/py/1" \
  --expect-encoding tensor_content
reflect=lxmert-serving/src/test/python/tfs_reflection_check.py   # grpcurl-style: reflected descriptors only
"$py" "$reflect" --grpc "127.0.0.1:$g1" --model py
"$py" "$reflect" --grpc "127.0.0.1:$g2" --model hf
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
for l in a b c; do
  grep -q "lxmert serve: stopped" "$tmp/$l.log" || { echo "server $l did not drain and stop on SIGTERM"; tail -5 "$tmp/$l.log"; exit 1; }
done
echo "tfs client check: all ok (SavedModel from Python, Java export, HF directory, tensor_content answers; reflection;"\
  "SIGTERM drained)"
