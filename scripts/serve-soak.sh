#!/usr/bin/env bash
# Load-and-fault soak of a real `lxmert serve` process (issue 19, item 9), loopback only, bounded: the tiny model
# exported to BASE/1/, served with batching on (max 8 rows), 16 clients for 60 s mixing good gRPC/REST predicts
# (held to their solo answers) and 14 kinds of bad requests (each must get its 4xx / gRPC status), RSS (VmRSS)
# sampled every second (< 5 % growth after a 15 s warm-up), BASE/2/ appearing under load at 7 s, inside the
# warm-up, so the RSS check sees steady state with the new version (no request lost), then
# SIGTERM under load (every accepted request answered, later ones refused cleanly, the process exits and says
# it drained). The driver is lxmert-serving's ServingSoak; it prints one ok/FAIL line per check.
# Usage: scripts/serve-soak.sh [--seconds 60] [--clients 16]        exit 0 when every check passed
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds=60; clients=16
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
export TF_CPP_MIN_LOG_LEVEL=2
# the driver's classpath first (mvn), then ./lxmert: never both at once in one checkout
mvn -q -B -ntp -o -pl lxmert-serving -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/soak.classpath -Dmdep.includeScope=test -Djazzer.regression.skip=true
cp="lxmert-serving/target/test-classes:lxmert-serving/target/classes:$(cat lxmert-serving/target/soak.classpath)"
tmp="$(mktemp -d /tmp/tf-lxmert-serve-soak.XXXXXX)"
pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
./lxmert export --model parity-tests/fixtures/tiny/model --out "$tmp/base" > /dev/null
free_port() { java "$root/scripts/FreePort.java" 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
g="$(free_port)"; r="$(free_port)"
: > "$tmp/serve.log"
# a fixed, pre-touched heap (as a production server runs), so Java heap growth is not counted as a leak
LXMERT_JAVA_OPTS="-Xms512m -Xmx512m -XX:+AlwaysPreTouch" ./lxmert serve --host 127.0.0.1 --port "$g" --rest-api-port "$r" --model-base-path "$tmp/base" --model-name m \
  --max-batch-size 8 --batch-timeout-micros 2000 --file-system-poll-wait-seconds 1 \
  --rest-api-max-body-bytes 1048576 --drain-seconds 30 > "$tmp/serve.log" 2>&1 &
pid=$!   # ./lxmert execs java: this is the server's own pid
for _ in $(seq 1 240); do
  grep -q "lxmert serve: serving" "$tmp/serve.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
  sleep 0.5
done
grep -q "lxmert serve: serving" "$tmp/serve.log" || { echo "server did not start"; cat "$tmp/serve.log"; exit 1; }
status=0
java -Xmx512m -cp "$cp" io.github.tflxmert.serving.ServingSoak --grpc "$g" --rest "$r" --pid "$pid" \
  --base "$tmp/base" --seconds "$seconds" --clients "$clients" 2> "$tmp/driver.err" || status=$?
rc=0; wait "$pid" 2>/dev/null || rc=$?
pid=""
if grep -q "lxmert serve: stopped (every request in flight answered)" "$tmp/serve.log"; then
  echo "ok   server log: $(grep 'lxmert serve: stopped' "$tmp/serve.log"), exit status $rc"
else
  echo "FAIL server log: expected 'lxmert serve: stopped (every request in flight answered)', found:"
  tail -5 "$tmp/serve.log"; status=1
fi
if [ "$rc" != 0 ] && [ "$rc" != 143 ]; then echo "FAIL server exit status $rc after SIGTERM"; status=1; fi
grep -q "serving model m version 2" "$tmp/serve.log" && echo "ok   server log: version 2 loaded under load" \
  || { echo "FAIL server log: no 'serving model m version 2'"; status=1; }
[ "$status" = 0 ] || { echo "driver stderr:"; tail -20 "$tmp/driver.err"; }
[ "$status" = 0 ] && echo "serve-soak: all checks passed" || echo "serve-soak: FAILED"
exit "$status"
