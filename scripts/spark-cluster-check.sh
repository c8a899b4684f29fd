#!/usr/bin/env bash
# A real Spark standalone cluster on 127.0.0.1 from the pyspark 4.0.1 wheel: one Master, two Workers with one
# core each; the lxmert-spark job submitted with --master spark://127.0.0.1:PORT on a sample Parquet it generates,
# checked against a single-JVM (local[1]) run: every input row exactly once, values equal under the project's
# tolerance model. Then the fault test: one worker (and its executor) killed mid-job; the output must still be
# complete and duplicate-free. Prints the rates (rows/s) with 1 and 2 workers and the model-load time per executor.
# Also runs the PySpark wrapper (lxmert-spark/python/tflxmert_spark) in local[2] on the same rows against the
# single-JVM run. Stops everything it started, whatever happens (trap).
#
#   scripts/spark-cluster-check.sh                 # ROWS=8000 FAULT_ROWS=16000 by default
#   ROWS=4000 FAULT_ROWS=20000 scripts/spark-cluster-check.sh
#   scripts/spark-cluster-check.sh --bench --model DIR [--rows 400] [--workers 1]
#
# --bench: the figures at a model's own widths (e.g. the random-weight LXMERT-base model that
# parity-tests/python/bench_python.py write --out DIR writes): a sample of --rows rows with 36 random regions of the
# model's visual_feat_dim, scored with --threads 1 in one JVM (local[1]) and on one worker of the standalone cluster
# (1 core), both checked against each other; prints rows/s per core, the model-load time per JVM, the cluster/
# single-JVM ratio and the core-hours that 10 million questions would take at the cluster's rate. --workers N (a host
# with N free cores and 6 GB each) also runs N one-core workers and prints the speedup over one.
#
# Needs python3 (venv) and PyPI for the first run (about a minute; cached under ~/.cache/tf-lxmert), Java 17 and
# Maven to build lxmert-spark-app.jar when it is missing. Uses only 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=0
BENCH_MODEL=""
BENCH_ROWS=400
BENCH_WORKERS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) BENCH=1 ;;
    --model) BENCH_MODEL=$2; shift ;;
    --rows) BENCH_ROWS=$2; shift ;;
    --workers) BENCH_WORKERS=$2; shift ;;
    *) echo "spark-cluster-check: unknown option $1 (expected --bench --model DIR [--rows N] [--workers N])" >&2
       exit 2 ;;
  esac
  shift
done
if [ "$BENCH" = 1 ] && [ ! -f "$BENCH_MODEL/config.json" ]; then
  echo "spark-cluster-check: --bench --model DIR: expected an HF model directory with config.json, found" \
    "${BENCH_MODEL:-none}" >&2
  exit 2
fi
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

# Two runs on one host must not share a cluster: Spark would move this master to the next free port while the
# workers and jobs below joined the other run's master on $PORT. Refuse taken ports, and let the master fail rather
# than move (spark.port.maxRetries=0).
for p in "$PORT" "$UI" $((UI + 1)) $((UI + 2)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "spark-cluster-check: port $p on 127.0.0.1 is in use (another cluster check?); choose free ones with" \
      "SPARK_MASTER_PORT and SPARK_MASTER_WEBUI_PORT (UI, UI+1, UI+2)" >&2
    exit 1
  fi
done
SPARK_MASTER_OPTS="${SPARK_MASTER_OPTS:-} -Dspark.port.maxRetries=0" "$SPARK_HOME/bin/spark-class" \
  org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$PORT" --webui-port "$UI" > "$WORK/master.log" 2>&1 &
PIDS[master]=$!
WORKERS=2
WORKER_MEM=2g
[ "$BENCH" = 1 ] && WORKERS=$BENCH_WORKERS && WORKER_MEM=6g
for i in $(seq 1 $WORKERS); do
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 --memory $WORKER_MEM \
    --webui-port $((UI + i)) --work-dir "$WORK/work$i" "spark://127.0.0.1:$PORT" > "$WORK/worker$i.log" 2>&1 &
  PIDS[worker$i]=$!
done
for _ in $(seq 1 120); do [ "$(alive_workers)" = $WORKERS ] && break; sleep 1; done
[ "$(alive_workers)" = $WORKERS ] || { echo "spark-cluster-check: the workers did not register" >&2; exit 1; }
echo "cluster: master spark://127.0.0.1:$PORT, $WORKERS worker(s) x 1 core"

# Small input splits (64 KiB) give the demo runs many tasks to spread and retry; the bench keeps Spark's defaults.
DRIVER_MEM=1g EXECUTOR_MEM=1g SPLIT_BYTES=65536
submit() { # MASTER CLASS ARGS...
  local master=$1 cls=$2; shift 2
  local split=(--conf spark.sql.files.maxPartitionBytes=$SPLIT_BYTES --conf spark.sql.files.openCostInBytes=$SPLIT_BYTES)
  [ "$SPLIT_BYTES" = default ] && split=()
  "$SPARK_HOME/bin/spark-submit" --master "$master" --class "$cls" --driver-memory $DRIVER_MEM \
    --conf spark.executor.memory=$EXECUTOR_MEM --conf spark.driver.host=127.0.0.1 \
    --conf spark.driver.bindAddress=127.0.0.1 --conf spark.ui.enabled=false \
    --conf spark.scheduler.minRegisteredResourcesRatio=1.0 --conf spark.scheduler.maxRegisteredResourcesWaitingTime=60s \
    "${split[@]}" "$@"
}
CLUSTER=spark://127.0.0.1:$PORT
JOB=io.github.tflxmert.spark.LxmertJob
load_ms() { grep -hoE 'loaded model .* in [0-9]+ ms' "$@" 2>/dev/null | sed -E 's/.* in ([0-9]+) ms/\1/' | tr '\n' ' '; }
rate() { sed -nE 's/.*rows_per_s=([0-9.]+).*/\1/p' "$1"; }

if [ "$BENCH" = 1 ]; then
  started=$(date +%s)
  MODEL=$(cd "$BENCH_MODEL" && pwd) SPLIT_BYTES=default DRIVER_MEM=4g EXECUTOR_MEM=4g
  widths=$("$VENV/bin/python" -c 'import json,sys; c=json.load(open(sys.argv[1]))
print("hidden=%d heads=%d layers=%d/%d/%d visual_feat_dim=%d answers=%d vocab=%d" % (c["hidden_size"],
  c["num_attention_heads"], c["l_layers"], c["x_layers"], c["r_layers"], c["visual_feat_dim"], c["num_qa_labels"],
  c["vocab_size"]))' "$MODEL/config.json")
  echo "bench: model $MODEL ($widths), $BENCH_ROWS rows x 36 regions, --threads 1, batch size 32"
  submit local[1] io.github.tflxmert.spark.SampleData "$JAR" --model "$MODEL" --output "$WORK/sample" \
    --rows "$BENCH_ROWS" --partitions $((4 * WORKERS)) --regions 36 2> "$WORK/sample.log" > /dev/null
  submit local[1] $JOB "$JAR" --model "$MODEL" --input "$WORK/sample" --output "$WORK/ref" --threads 1 \
    2> "$WORK/ref.log" > "$WORK/ref.out"
  echo "single JVM (local[1]): $(grep '^lxmert-spark:' "$WORK/ref.out")"
  runs="1"; [ "$WORKERS" -gt 1 ] && runs="1 $WORKERS"
  for n in $runs; do
    submit "$CLUSTER" $JOB --conf spark.cores.max=$n "$JAR" --model "$MODEL" --input "$WORK/sample" \
      --output "$WORK/out$n" --threads 1 2> "$WORK/job$n.log" > "$WORK/job$n.out"
    echo "$n worker(s): $(grep '^lxmert-spark:' "$WORK/job$n.out")"
    submit local[1] io.github.tflxmert.spark.CheckOutputs "$JAR" --input "$WORK/sample" --output "$WORK/out$n" \
      --reference "$WORK/ref" 2> "$WORK/check$n.log" | tee -a "$WORK/checks.out"
  done
  "$VENV/bin/python" - "$WORK" "$WORKERS" "$(load_ms "$WORK/ref.log")" "$(load_ms "$WORK"/work*/*/*/stderr)" \
    "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$(( $(date +%s) - started ))" <<'PY'
import re, sys
work, workers, load_single, load_exec, cores, load, secs = sys.argv[1:]
def rate(name):  # rows / seconds of the job's summary line (more digits than its rows_per_s)
    m = re.search(r"rows=(\d+) seconds=([\d.]+)", open(f"{work}/{name}.out").read())
    return int(m.group(1)) / float(m.group(2))
single, one = rate("ref"), rate("job1")
print(f"bench: rows_per_s_per_core single_jvm={single:.2f} cluster_1_worker={one:.2f} "
      f"cluster/single={one / single:.2f} model_load_ms single_jvm={load_single.strip() or '?'} "
      f"per_executor={load_exec.strip() or '?'}")
if int(workers) > 1:
    n = int(workers)
    many = rate(f"job{n}")
    print(f"bench: cluster_{n}_workers rows_per_s={many:.2f} speedup={many / one:.2f} (ideal {n}) "
          f"efficiency={many / one / n:.2f}")
print(f"bench: 10M questions at {one:.2f} rows/s per core = {1e7 / one / 3600:.0f} core-hours "
      f"(one task per core, --threads 1; e.g. {1e7 / one / 3600 / 200:.1f} h on 200 cores)")
print(f"bench: host {cores} CPUs, load average {load} at the end (indicative unless the host was otherwise idle); "
      f"{secs} s")
PY
  [ "$(grep -c 'PASS$' "$WORK/checks.out")" = "$(echo $runs | wc -w)" ] || {
    echo "spark-cluster-check: a cluster output differs from the single-JVM run" >&2; exit 1; }
  exit 0
fi

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
echo "model load per executor (ms): $(load_ms "$WORK"/work*/*/*/stderr)"
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
echo "spark-cluster-check: 4 passed (PySpark wrapper, 1 worker, 2 workers, worker killed), 0 failed"
