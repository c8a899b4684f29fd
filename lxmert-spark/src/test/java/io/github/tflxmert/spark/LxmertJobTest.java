package io.github.tflxmert.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batch job in local[2]: Parquet and LXMERT layouts, output checked by CheckOutputs, bad input fails fast. */
class LxmertJobTest {
  static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = SparkTestSupport.session("LxmertJobTest");
  }

  @AfterAll
  static void stop() {
    SharedModels.closeAll();
    if (spark != null) {
      spark.stop();
    }
  }

  static String run(String... args) throws Exception {
    return LxmertJob.run(spark, LxmertJob.Args.parse(args));
  }

  @Test
  void parquetJobWritesEveryRowOnceEqualToASingleBatchRun(@TempDir Path tmp) throws Exception {
    String in = tmp.resolve("in").toString();
    spark.createDataFrame(SampleData.rows(SparkTestSupport.DEMO, 30, 3, 0), SampleData.SCHEMA).repartition(3)
        .write().parquet(in);
    String summary = run("--model", SparkTestSupport.DEMO.toString(), "--input", in, "--output",
        tmp.resolve("out").toString(), "--batch-size", "8");
    assertTrue(summary.matches("lxmert-spark: rows=30 seconds=[0-9.]+ rows_per_s=[0-9.]+ first_row_ms=[0-9]+ output=.*"), summary);
    // The reference: one partition, batch size 1 (every row alone, as the Java predictor runs it).
    run("--model", SparkTestSupport.DEMO.toString(), "--input", in, "--output", tmp.resolve("ref").toString(),
        "--batch-size", "1", "--partitions", "1");
    CheckOutputs.Result r = CheckOutputs.check(spark, in, tmp.resolve("out").toString(), tmp.resolve("ref").toString());
    assertTrue(r.passed(), r.line());
    Row first = spark.read().parquet(tmp.resolve("out").toString()).orderBy("question_id").first();
    assertEquals(List.of("question_id", "img_id", "answer", "score", "match", "answers"), List.of(first.schema()
        .fieldNames()));
  }

  @Test
  void lxmertLayoutJoinsQuestionsWithTheFeatureTsvAndNormalisesBoxes(@TempDir Path tmp) throws Exception {
    // Two images in a bottom-up-attention TSV with pixel boxes (640 x 480), three questions referring to them.
    StringBuilder tsv = new StringBuilder();
    List<float[][]> scenes = new ArrayList<>();
    for (int s = 0; s < 2; s++) {
      FloatArray f = Npy.readFloat(SparkTestSupport.DEMO.resolve("scene-" + s + "-features.npy"));
      FloatArray b = Npy.readFloat(SparkTestSupport.DEMO.resolve("scene-" + s + "-boxes.npy"));
      int n = (int) (f.data().length / 16);
      float[] pixels = b.data().clone();
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] *= i % 2 == 0 ? 640 : 480;
      }
      tsv.append("img").append(s).append("\t480\t640\t\t\t\t\t").append(n).append('\t').append(base64(pixels))
          .append('\t').append(base64(f.data())).append('\n');
      scenes.add(new float[][] {f.data(), b.data()});
    }
    Files.writeString(tmp.resolve("feats.tsv"), tsv);
    Files.writeString(tmp.resolve("q.json"), "[{\"question_id\": 1, \"img_id\": \"img0\", \"sent\": \"what color is "
        + "the cube?\"}, {\"question_id\": 2, \"img_id\": \"img1\", \"sent\": \"how many cylinders are there?\"}, "
        + "{\"question_id\": 3, \"img_id\": \"img1\", \"sent\": \"what shape is the red object?\"}]");
    String summary = run("--model", SparkTestSupport.DEMO.toString(), "--input", tmp.resolve("q.json").toString(),
        "--features", tmp.resolve("feats.tsv").toString(), "--output", tmp.resolve("out").toString());
    assertTrue(summary.startsWith("lxmert-spark: rows=3 "), summary);
    // Same rows as Parquet with normalised boxes give the same answers.
    List<Row> rows = List.of(
        org.apache.spark.sql.RowFactory.create(1L, "img0", "what color is the cube?", seq(scenes.get(0)[0]),
            seq(scenes.get(0)[1])),
        org.apache.spark.sql.RowFactory.create(2L, "img1", "how many cylinders are there?", seq(scenes.get(1)[0]),
            seq(scenes.get(1)[1])),
        org.apache.spark.sql.RowFactory.create(3L, "img1", "what shape is the red object?", seq(scenes.get(1)[0]),
            seq(scenes.get(1)[1])));
    String in = tmp.resolve("in").toString();
    spark.createDataFrame(rows, SampleData.SCHEMA).write().parquet(in);
    run("--model", SparkTestSupport.DEMO.toString(), "--input", in, "--output", tmp.resolve("ref").toString());
    CheckOutputs.Result r = CheckOutputs.check(spark, in, tmp.resolve("out").toString(), tmp.resolve("ref").toString());
    assertTrue(r.passed(), r.line());
  }

  @Test
  void badArgumentsAndPathsFailBeforeAnyTaskNamingThem(@TempDir Path tmp) throws Exception {
    String in = tmp.resolve("in").toString();
    spark.createDataFrame(SampleData.rows(SparkTestSupport.DEMO, 2, 3, 0), SampleData.SCHEMA).write().parquet(in);
    String model = SparkTestSupport.DEMO.toString();
    assertEquals("--output: required, found none", firstLine(assertThrows(IllegalArgumentException.class,
        () -> LxmertJob.Args.parse(new String[] {"--model", model, "--input", in}))));
    assertEquals("--input " + tmp.resolve("missing") + ": expected an existing file or directory, found none",
        assertThrows(IllegalArgumentException.class, () -> run("--model", model, "--input",
            tmp.resolve("missing").toString(), "--output", tmp.resolve("o1").toString())).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> run("--model", tmp.resolve("nomodel").toString(),
        "--input", in, "--output", tmp.resolve("o2").toString())).getMessage().startsWith("modelPath "
        + tmp.resolve("nomodel") + ": expected an HF model directory or a SavedModel, found no such"));
    assertEquals("--output " + in + ": expected a path that does not exist yet (or --overwrite), found it exists",
        assertThrows(IllegalArgumentException.class, () -> run("--model", model, "--input", in, "--output", in))
            .getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> run("--model", model, "--input",
        tmp.resolve("q.json").toString(), "--output", tmp.resolve("o3").toString())).getMessage()
        .startsWith("--features: required with the LXMERT layout"));
  }

  private static String firstLine(Exception e) {
    return e.getMessage().lines().findFirst().orElse("");
  }

  private static String base64(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(bb.array());
  }

  private static scala.collection.immutable.Seq<Float> seq(float[] v) {
    List<Float> l = new ArrayList<>();
    for (float x : v) {
      l.add(x);
    }
    return scala.jdk.javaapi.CollectionConverters.asScala(l).toSeq();
  }
}
