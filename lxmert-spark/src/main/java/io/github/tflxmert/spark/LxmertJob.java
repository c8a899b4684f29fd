package io.github.tflxmert.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.unbase64;

/**
 * The batch job: {@code spark-submit --class io.github.tflxmert.spark.LxmertJob lxmert-spark-app.jar --model M
 * --input IN --output OUT}. Reads Parquet (question_id, text, features, boxes) or LXMERT's layout (a questions
 * JSON with question_id, img_id, sent, plus {@code --features} a bottom-up-attention TSV joined by img_id), scores
 * every row with {@link LxmertTransformer} and writes Parquet (question_id, [img_id,] answer, score, match,
 * answers[, pooled_output]). Bad arguments, paths and columns fail on the driver before the scoring job starts.
 * Ends with one summary line on stdout: {@code lxmert-spark: rows=... seconds=... rows_per_s=...}. Stateless (one
 * SparkSession per run, stopped by {@link #main}); not a library entry point.
 */
public final class LxmertJob {
  private LxmertJob() {}

  static final String USAGE = "usage: LxmertJob --model M --input IN --output OUT [--features TSV] "
      + "[--format parquet|lxmert] [--batch-size 32] [--top-k 5] [--threads 0] [--answers FILE] "
      + "[--handle-invalid error|keep|skip] [--pooled-output] [--partitions P] [--overwrite]";

  /** Parsed arguments; every option takes one value except the flags. */
  record Args(Map<String, String> values) {
    static final List<String> FLAGS = List.of("--pooled-output", "--overwrite");
    static final List<String> OPTIONS = List.of("--model", "--input", "--output", "--features", "--format",
        "--batch-size", "--top-k", "--threads", "--answers", "--handle-invalid", "--partitions", "--master");

    static Args parse(String[] argv) {
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < argv.length; i++) {
        String a = argv[i];
        if (FLAGS.contains(a)) {
          m.put(a, "true");
        } else if (OPTIONS.contains(a)) {
          if (i + 1 >= argv.length) {
            throw new IllegalArgumentException(a + ": expected a value, found the end of the arguments");
          }
          m.put(a, argv[++i]);
        } else {
          throw new IllegalArgumentException("argument " + a + ": expected one of " + OPTIONS + " or " + FLAGS
              + "\n" + USAGE);
        }
      }
      for (String req : List.of("--model", "--input", "--output")) {
        if (!m.containsKey(req)) {
          throw new IllegalArgumentException(req + ": required, found none\n" + USAGE);
        }
      }
      return new Args(m);
    }

    String get(String k, String dflt) {
      return values.getOrDefault(k, dflt);
    }

    int integer(String k, int dflt) {
      String v = values.get(k);
      if (v == null) {
        return dflt;
      }
      try {
        return Integer.parseInt(v);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(k + ": expected an integer, found \"" + v + "\"");
      }
    }

    boolean flag(String k) {
      return values.containsKey(k);
    }
  }

  public static void main(String[] argv) throws IOException {
    Args args;
    try {
      args = Args.parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println("lxmert-spark: " + e.getMessage());
      System.exit(2);
      return;
    }
    SparkSession.Builder b = SparkSession.builder().appName("lxmert-spark");
    if (args.values().containsKey("--master")) {
      b.master(args.get("--master", null));
    }
    SparkSession spark = b.getOrCreate();
    int rc = 0;
    try {
      System.out.println(run(spark, args));
    } catch (IllegalArgumentException e) {
      System.err.println("lxmert-spark: " + e.getMessage());
      rc = 2;
    } finally {
      spark.stop();
    }
    if (rc != 0) {
      System.exit(rc);
    }
  }

  /** Runs the job; returns the summary line. */
  static String run(SparkSession spark, Args args) throws IOException {
    String input = args.get("--input", null);
    String output = args.get("--output", null);
    String tsv = args.get("--features", null);
    String format = args.get("--format", tsv != null || input.toLowerCase(Locale.ROOT).endsWith(".json")
        ? "lxmert" : "parquet");
    if (!format.equals("parquet") && !format.equals("lxmert")) {
      throw new IllegalArgumentException("--format: expected parquet or lxmert, found " + format);
    }
    if (format.equals("lxmert") && tsv == null) {
      throw new IllegalArgumentException("--features: required with the LXMERT layout (a bottom-up-attention TSV "
          + "with img_id, img_h, img_w, ..., boxes, features), found none");
    }
    requireExists(spark, input, "--input");
    if (tsv != null) {
      requireExists(spark, tsv, "--features");
    }
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
    FileSystem outFs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
    boolean overwrite = args.flag("--overwrite");
    if (outFs.exists(out) && !overwrite) {
      throw new IllegalArgumentException("--output " + output + ": expected a path that does not exist yet (or "
          + "--overwrite), found it exists");
    }
    Dataset<Row> in = format.equals("parquet") ? spark.read().parquet(input) : readLxmert(spark, input, tsv);
    int partitions = args.integer("--partitions", 0);
    if (partitions > 0) {
      in = in.repartition(partitions);
    }
    LxmertTransformer t = new LxmertTransformer().setModelPath(args.get("--model", null))
        .setBatchSize(args.integer("--batch-size", 32)).setTopK(args.integer("--top-k", 5))
        .setIntraOpThreads(args.integer("--threads", 0)).setHandleInvalid(args.get("--handle-invalid", "error"))
        .setAnswersPath(args.get("--answers", ""));
    if (args.flag("--pooled-output")) {
      t.setPooledOutputCol("pooled_output");
    }
    Dataset<Row> scored = t.transform(in); // checks schema and model path on the driver
    String id = t.getOrDefault(t.idCol());
    List<Column> cols = new ArrayList<>();
    List<String> names = Arrays.asList(scored.columns());
    for (String c : List.of(id, "img_id")) {
      if (names.contains(c)) {
        cols.add(col(c));
      }
    }
    cols.add(element_at(col("answers"), 1).getField("answer").as("answer"));
    cols.add(element_at(col("answers"), 1).getField("score").as("score"));
    cols.add(col("match_probability").as("match"));
    cols.add(col("answers"));
    if (args.flag("--pooled-output")) {
      cols.add(col("pooled_output"));
    }
    // Fail fast on data problems the schema cannot show (feature width, text too long, ...): score the first row
    // before the real job. It also loads the model on one executor, so the rate below is mostly scoring.
    long w0 = System.nanoTime();
    t.transform(in.limit(1)).collectAsList();
    long warmMs = (System.nanoTime() - w0) / 1_000_000;
    long t0 = System.nanoTime();
    scored.select(cols.toArray(new Column[0])).write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists)
        .parquet(output);
    double seconds = (System.nanoTime() - t0) / 1e9;
    long rows = spark.read().parquet(output).count();
    return String.format(Locale.ROOT, "lxmert-spark: rows=%d seconds=%.2f rows_per_s=%.1f first_row_ms=%d output=%s",
        rows, seconds, rows / seconds, warmMs, output);
  }

  private static void requireExists(SparkSession spark, String path, String option) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
    FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
    if (!fs.exists(p)) {
      throw new IllegalArgumentException(option + " " + path + ": expected an existing file or directory, found none");
    }
  }

  /** The bottom-up-attention TSV columns, in order (all read as strings). */
  static final List<String> TSV_FIELDS = List.of("img_id", "img_h", "img_w", "objects_id", "objects_conf",
      "attrs_id", "attrs_conf", "num_boxes", "boxes", "features");

  /**
   * LXMERT's layout: questions JSON (a list of {question_id, img_id, sent}) left-joined with the feature TSV by
   * img_id (a question whose image is missing gets null features and so fails naming its question_id, or is
   * kept/skipped per --handle-invalid). Boxes are divided by img_w / img_h as LXMERT's loader does.
   */
  static Dataset<Row> readLxmert(SparkSession spark, String questions, String tsv) {
    Dataset<Row> q = spark.read().option("multiLine", true).json(questions);
    for (String c : List.of("question_id", "img_id", "sent")) {
      if (!Arrays.asList(q.columns()).contains(c)) {
        throw new IllegalArgumentException("--input " + questions + ": expected question objects with question_id, "
            + "img_id and sent, found no " + c + " (fields " + Arrays.toString(q.columns()) + ")");
      }
    }
    StructType schema = new StructType();
    for (String f : TSV_FIELDS) {
      schema = schema.add(f, DataTypes.StringType);
    }
    spark.udf().register("lxmert_norm_boxes", (UDF3<byte[], String, String, float[]>) LxmertJob::normaliseBoxes,
        DataTypes.createArrayType(DataTypes.FloatType, false));
    Dataset<Row> f = spark.read().option("sep", "\t").option("mode", "FAILFAST").schema(schema).csv(tsv)
        .select(col("img_id"), unbase64(col("features")).as("features"),
            org.apache.spark.sql.functions.call_udf("lxmert_norm_boxes", unbase64(col("boxes")), col("img_w"),
                col("img_h")).as("boxes"));
    return q.select(col("question_id"), col("img_id"), col("sent").as("text")).join(f, q.col("img_id")
        .equalTo(f.col("img_id")), "left").drop(f.col("img_id"));
  }

  /** float32 little-endian pixel boxes (x1, y1, x2, y2) divided by the image width and height. */
  static float[] normaliseBoxes(byte[] raw, String w, String h) {
    if (raw == null) {
      return null;
    }
    double width = Double.parseDouble(w.strip());
    double height = Double.parseDouble(h.strip());
    float[] b = new float[raw.length / 4];
    java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(b);
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) (b[i] / (i % 2 == 0 ? width : height));
    }
    return b;
  }
}
