#!/usr/bin/env bash
# A real Spark standalone cluster on 127.0.0.1 from the pyspark 4.0.1 wheel: one Master, two Workers with one
# core each; the lxmert-spark job submitted with --master spark://127.0.0.1:PORT on a sample Parquet it generates,
# checked against a single-JVM (local[1]) run: every input row exactly once, values equal under the project's
# tolerance model. Then the fault test: one worker (and its executor) killed mid-job; the output must still be
# complete and duplicate-free. Prints the rates (rows/s) with 1 and 2 workers and the model-load time per executor.
# Stops everything it started, whatever happens (trap).
#
#   scripts/spark-cluster-check.sh                 # ROWS=8000 FAULT_ROWS=16000 by default
#   ROWS=4000 FAULT_ROWS=20000 scripts/spark-cluster-check.sh
#
# Needs python3 (venv) and PyPI for the first run (about a minute; cached under ~/.cache/tf-lxmert), Java 17 and
# Maven to build lxmert-spark-app.jar when it is missing. Uses only 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-8000}
FAULT_ROWS=${FAULT_ROWS:-16000}
PORT=${SPARK_MASTER_PORT:-7177}
UI=${SPARK_MASTER_WEBUI_PORT:-8180}
VENV=${LXMERT_PYSPARK_VENV:-$HOME/.cache/tf-lxmert/pyspark-4.0.1}
JAR=$ROOT/lxmert-spark/target/lxmert-spark-app.jar
MODEL=$ROOT/lxmert-cli/src/main/resources/io/github/tflxmert/cli/demo-model

# pyspark.ml needs numpy (pinned as in parity-tests/python/requirements.txt) for the PySpark wrapper check
if [ ! -x "$VENV/bin/spark-submit" ] || ! "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
  echo "installing pyspark==4.0.1 and numpy into $VENV (about a minute, once)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pyspark==4.0.1 numpy==2.0.2
fi
SPARK_HOME=$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_HOME
if [ ! -f "$JAR" ]; then
  (cd "$ROOT" && mvn -B -ntp -q -pl lxmert-spark -am package -DskipTests)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lxmert-spark-cluster.XXXXXX")
export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS=$WORK/local SPARK_LOG_DIR=$WORK/logs SPARK_PID_DIR=$WORK
export SPARK_WORKER_DIR=$WORK/work TF_CPP_MIN_LOG_LEVEL=2
declare -A PIDS=()

stop_tree() { # kill a process and its descendants, by id
  local pid=$1 child
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do stop_tree "$child"; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  for name in "${!PIDS[@]}"; do stop_tree "${PIDS[$name]}"; done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then echo "spark-cluster-check: FAILED (rc=$rc); logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

master_json() { curl -sf "http://127.0.0.1:$UI/json/" || true; }
alive_workers() { master_json | "$VENV/bin/python" -c 'import json,sys
try: print(json.load(sys.stdin).get("aliveworkers", 0))
except Exception: print(0)'; }

"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$PORT" \
  --webui-port "$UI" > "$WORK/master.log" 2>&1 &
PIDS[master]=$!
for i in 1 2; do
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 --memory 2g \
    --webui-port $((UI + i)) --work-dir "$WORK/work$i" "spark://127.0.0.1:$PORT" > "$WORK/worker$i.log" 2>&1 &
  PIDS[worker$i]=$!
done
for _ in $(seq 1 120); do [ "$(alive_workers)" = 2 ] && break; sleep 1; done
[ "$(alive_workers)" = 2 ] || { echo "spark-cluster-check: the two workers did not register" >&2; exit 1; }
echo "cluster: master spark://127.0.0.1:$PORT, 2 workers x 1 core"

submit() { # MASTER CLASS ARGS...
  local master=$1 cls=$2; shift 2
  "$SPARK_HOME/bin/spark-submit" --master "$master" --class "$cls" --driver-memory 1g \
    --conf spark.executor.memory=1g --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 \
    --conf spark.ui.enabled=false --conf spark.scheduler.minRegisteredResourcesRatio=1.0 \
    --conf spark.scheduler.maxRegisteredResourcesWaitingTime=60s \
    --conf spark.sql.files.maxPartitionBytes=65536 --conf spark.sql.files.openCostInBytes=65536 "$@"
}
CLUSTER=spark://127.0.0.1:$PORT
JOB=io.github.tflxmert.spark.LxmertJob

submit local[1] io.github.tflxmert.spark.SampleData "$JAR" --model "$MODEL" --output "$WORK/sample" --rows "$ROWS" \
  --partitions 8 2> "$WORK/sample.log"
submit local[1] $JOB "$JAR" --model "$MODEL" --input "$WORK/sample" --output "$WORK/ref" --threads 1 \
  2> "$WORK/ref.log" | tee "$WORK/ref.out"
echo "single JVM (local[1]): $(grep '^lxmert-spark:' "$WORK/ref.out")"
# The PySpark wrapper (lxmert-spark/python/tflxmert_spark) in local[2] on the same rows, against that run.
"$VENV/bin/python" "$ROOT/lxmert-spark/python/check_pyspark.py" --jar "$JAR" --model "$MODEL" --input "$WORK/sample" \
  --reference "$WORK/ref" 2> "$WORK/pyspark.log" | tee "$WORK/pyspark.out" | grep -v '^ok ' || true
grep -q '^pyspark-check: .* PASS$' "$WORK/pyspark.out" || { echo "spark-cluster-check: the PySpark check failed" >&2; exit 1; }

submit "$CLUSTER" $JOB --conf spark.cores.max=1 "$JAR" --model "$MODEL" --input "$WORK/sample" \
  --output "$WORK/out1" --threads 1 2> "$WORK/job1.log" | tee "$WORK/job1.out"
echo "1 worker:  $(grep '^lxmert-spark:' "$WORK/job1.out")"
submit "$CLUSTER" $JOB "$JAR" --model "$MODEL" --input "$WORK/sample" --output "$WORK/out2" --threads 1 \
  2> "$WORK/job2.log" | tee "$WORK/job2.out"
echo "2 workers: $(grep '^lxmert-spark:' "$WORK/job2.out")"
echo "model load per executor: $(grep -rhoE 'loaded model .* in [0-9]+ ms' "$WORK"/work*/*/*/stderr | sed -E 's/.* in ([0-9]+) ms/\1 ms/' | tr '\n' ' ')"
submit local[1] io.github.tflxmert.spark.CheckOutputs "$JAR" --input "$WORK/sample" --output "$WORK/out1" \
  --reference "$WORK/ref" 2> "$WORK/check1.log" | tee -a "$WORK/checks.out"
submit local[1] io.github.tflxmert.spark.CheckOutputs "$JAR" --input "$WORK/sample" --output "$WORK/out2" \
  --reference "$WORK/ref" 2> "$WORK/check2.log" | tee -a "$WORK/checks.out"

# Fault test: a larger input, worker 2 and its executor killed once a few tasks have finished.
submit local[1] io.github.tflxmert.spark.SampleData "$JAR" --model "$MODEL" --output "$WORK/fsample" \
  --rows "$FAULT_ROWS" --partitions 24 --seed 2 2> "$WORK/fsample.log"
submit local[1] $JOB "$JAR" --model "$MODEL" --input "$WORK/fsample" --output "$WORK/fref" --threads 1 \
  2> "$WORK/fref.log" > "$WORK/fref.out"
submit "$CLUSTER" $JOB "$JAR" --model "$MODEL" --input "$WORK/fsample" --output "$WORK/fout" --threads 1 \
  2> "$WORK/fjob.log" > "$WORK/fjob.out" &
PIDS[fault-job]=$!
for _ in $(seq 1 600); do
  # two tasks of the Parquet write (not of the first-row check) have finished: the job is well under way
  done_tasks=$(awk '/missing tasks from ResultStage .* at parquet at LxmertJob/ {on=1} on && /Finished task/ {n++}
    END {print n+0}' "$WORK/fjob.log" 2>/dev/null || echo 0)
  [ "$done_tasks" -ge 2 ] && break
  kill -0 "${PIDS[fault-job]}" 2>/dev/null || break
  sleep 0.2
done
kill -0 "${PIDS[fault-job]}" 2>/dev/null || { echo "spark-cluster-check: the fault job ended before the kill" >&2; exit 1; }
echo "fault: killing worker 2 (pid ${PIDS[worker2]}) and its executor mid-job"
stop_tree "${PIDS[worker2]}"
unset 'PIDS[worker2]'
wait "${PIDS[fault-job]}"
unset 'PIDS[fault-job]'
echo "fault job: $(grep '^lxmert-spark:' "$WORK/fjob.out")"
lost=$(grep -cE 'Lost executor|Executor .* removed|lost worker|Removing executor' "$WORK/fjob.log" || true)
[ "$lost" -ge 1 ] || { echo "spark-cluster-check: the driver never saw the executor go" >&2; exit 1; }
echo "fault: driver log lines about the lost executor: $lost; tasks retried: $(grep -c 'Lost task\|Resubmitted' "$WORK/fjob.log" || true)"
submit local[1] io.github.tflxmert.spark.CheckOutputs "$JAR" --input "$WORK/fsample" --output "$WORK/fout" \
  --reference "$WORK/fref" 2> "$WORK/fcheck.log" | tee -a "$WORK/checks.out"
[ "$(grep -c 'PASS$' "$WORK/checks.out")" = 3 ] || { echo "spark-cluster-check: a check failed" >&2; exit 1; }
echo "spark-cluster-check: 3 passed, 0 failed"
