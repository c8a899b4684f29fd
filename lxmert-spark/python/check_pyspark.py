"""Checks the PySpark wrapper (tflxmert_spark.LxmertTransformer) in a local[2] PySpark session with the app jar.

  check_pyspark.py --jar lxmert-spark-app.jar --model DIR --input SAMPLE.parquet --reference REF.parquet

REF is the Java job's output on the same input (LxmertJob, e.g. run in one JVM with local[1]). Checks:
  * the Python params mirror the Java class (names, defaults), reach the Java object by name, survive copy()
    and a save/load round trip; a bad value and a missing model path fail with a message naming them;
  * every input row is transformed exactly once through the Python wrapper, and per row the match probability
    and the top-k answer scores equal the Java job's under the project's tolerance model
    (parity-tests/python/tolerance.py), top-k indices equal except where two scores tie within it.
Prints one line per check and a summary line ending in PASS or FAIL; exits 0 only when everything passed.
Run by scripts/spark-cluster-check.sh (.ci/run step 6c) with the pyspark 4.0.1 venv's python.
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "parity-tests", "python"))

import numpy as np  # noqa: E402
import tolerance  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from tflxmert_spark import LxmertTransformer  # noqa: E402

failures = []


def expect(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def session(jar):
    return (SparkSession.builder.master("local[2]").appName("lxmert-pyspark-check")
            .config("spark.jars", jar).config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "2").getOrCreate())


def check_params(spark, model, tmp):
    t = LxmertTransformer(modelPath=model, batchSize=7, topK=3)
    j = t._java_obj
    java_names = sorted(p.name() for p in j.params())
    py_names = sorted(p.name for p in t.params)
    expect(java_names == py_names, f"params: Python {py_names} == Java {java_names}")
    fresh = LxmertTransformer()
    for p in fresh.params:
        jp = fresh._java_obj.getParam(p.name)
        jd = fresh._java_obj.getDefault(jp)
        java_default = jd.get() if jd.isDefined() else None
        py_default = fresh.getOrDefault(p) if fresh.hasDefault(p) else None
        expect(java_default == py_default, f"default {p.name}: Python {py_default!r} == Java {java_default!r}")
    t._transfer_params_to_java()
    expect(j.getOrDefault(j.batchSize()) == 7 and j.getOrDefault(j.topK()) == 3
           and j.getOrDefault(j.modelPath()) == model, "params reach the Java object by name")
    c = t.copy({t.batchSize: 11})
    c._transfer_params_to_java()
    expect(c.getBatchSize() == 11 and c._java_obj.getOrDefault(c._java_obj.batchSize()) == 11
           and t.getBatchSize() == 7 and c.uid == t.uid and c._java_obj is not t._java_obj,
           "copy(extra): new Java object with the extra param, same uid, original unchanged")
    path = os.path.join(tmp, "stage")
    t.setPooledOutputCol("emb").setHandleInvalid("skip").write().save(path)
    back = LxmertTransformer.load(path)
    expect(back.uid == t.uid and back.getPooledOutputCol() == "emb" and back.getBatchSize() == 7
           and back.getHandleInvalid() == "skip" and back.getModelPath() == model,
           "save/load round trip (Java writer, Python reader)")
    try:
        LxmertTransformer(modelPath=model, handleInvalid="bogus").transform(
            spark.createDataFrame([(1, "q")], "question_id long, text string"))
        expect(False, "handleInvalid=bogus is refused")
    except Exception as e:  # noqa: BLE001 - py4j/pyspark wrap the JVM's IllegalArgumentException
        expect("handleInvalid" in str(e) and "bogus" in str(e), "handleInvalid=bogus refused naming the param and "
               "value: " + str(e).splitlines()[0][:160])
    missing = os.path.join(tmp, "no-such-model")
    df = spark.read.parquet(ARGS.input).limit(2)
    try:
        LxmertTransformer(modelPath=missing).transform(df)
        expect(False, "a missing model path is refused on the driver")
    except Exception as e:  # noqa: BLE001
        expect(f"modelPath {missing}: expected an HF model directory or a SavedModel" in str(e),
               "missing model path refused on the driver naming it: " + str(e).splitlines()[0][:160])


def check_scores(spark, model):
    df = spark.read.parquet(ARGS.input)
    t = LxmertTransformer(modelPath=model, batchSize=ARGS.batch_size, topK=5, intraOpThreads=1)
    out = t.transform(df).select("question_id", "match_probability", "answers").collect()
    ref = {r.question_id: r for r in spark.read.parquet(ARGS.reference).select("question_id", "match", "answers")
           .collect()}
    ids = [r.question_id for r in df.select("question_id").collect()]
    got = [r.question_id for r in out]
    expect(len(got) == len(ids) and set(got) == set(ids) and len(set(got)) == len(got),
           f"every input row exactly once: input {len(ids)}, output {len(got)}, unique {len(set(got))}")
    mismatched, max_diff, first = 0, 0.0, None
    for r in out:
        e = ref.get(r.question_id)
        if e is None:
            mismatched += 1
            first = first or f"question_id {r.question_id}: not in the reference"
            continue
        a_scores = np.array([r.match_probability] + [x.score for x in r.answers], np.float32)
        e_scores = np.array([e.match] + [x.score for x in e.answers], np.float32)
        reason = tolerance.check(a_scores, e_scores) if a_scores.shape == e_scores.shape else "top-k length"
        if reason is None:
            max_diff = max(max_diff, tolerance.max_abs(a_scores, e_scores))
            es = e_scores[1:]
            for k, (a, x) in enumerate(zip(r.answers, e.answers)):
                tie = any(tolerance.check(np.float32(es[j]), np.float32(es[k])) is None
                          for j in (k - 1, k + 1) if 0 <= j < len(es))
                if a["index"] != x["index"] and not tie:  # Row.index is tuple.index: use the field by name
                    reason = f"answer {k}: index {a['index']}, expected {x['index']}"
                    break
        if reason is not None:
            mismatched += 1
            first = first or f"question_id {r.question_id}: {reason}"
    expect(mismatched == 0, f"scores equal the Java job's under the tolerance model (rtol {tolerance.RTOL:g}, "
           f"atol {tolerance.ATOL:g}): compared {len(out)}, mismatched {mismatched}, max_abs_diff {max_diff:.3g}"
           + (f", first {first}" if first else ""))
    return len(out), mismatched, max_diff


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--batch-size", type=int, default=32)
    ARGS = ap.parse_args()
    spark = session(ARGS.jar)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            check_params(spark, ARGS.model, tmp)
        rows, mismatched, max_diff = check_scores(spark, ARGS.model)
    finally:
        spark.stop()
    print(f"pyspark-check: rows={rows} mismatched={mismatched} max_abs_diff={max_diff:.3g} "
          f"failed_checks={len(failures)} {'PASS' if not failures else 'FAIL'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
