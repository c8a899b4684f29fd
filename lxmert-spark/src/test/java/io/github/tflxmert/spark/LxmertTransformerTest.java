package io.github.tflxmert.spark;

import static io.github.tflxmert.parity.ParityAssertions.assertAllClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.apache.spark.sql.functions.col;

import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transformer in local[2], compared row by row with the Java predictor under the project's tolerance. */
class LxmertTransformerTest {
  static SparkSession spark;
  static LxmertForPreTraining model;
  static LxmertTokenizer tok;
  static List<Row> sample;

  @BeforeAll
  static void start() throws Exception {
    spark = SparkTestSupport.session("LxmertTransformerTest");
    model = SparkTestSupport.openDemo();
    tok = LxmertTokenizer.fromDirectory(SparkTestSupport.DEMO);
    sample = SampleData.rows(SparkTestSupport.DEMO, 24, 7, 100);
  }

  @AfterAll
  static void stop() {
    SharedModels.closeAll();
    if (model != null) {
      model.close();
    }
    if (spark != null) {
      spark.stop();
    }
  }

  static LxmertTransformer transformer() {
    return new LxmertTransformer().setModelPath(SparkTestSupport.DEMO.toString()).setBatchSize(5).setTopK(3);
  }

  /** Rows by question_id, features and boxes from the sample. */
  static Map<Long, Row> byId(List<Row> rows) {
    Map<Long, Row> m = new TreeMap<>();
    for (Row r : rows) {
      m.put(r.getLong(0), r);
    }
    return m;
  }

  @Test
  void equalsJavaPredictorOnRaggedRowsWithEmptyPartitionsAndOneLoadPerJvm() {
    // 24 rows over 6 partitions of which some are empty (ids filtered out), ragged region counts 1..5.
    Dataset<Row> df = spark.createDataFrame(sample, SampleData.SCHEMA).repartition(6, col("question_id"))
        .filter(col("question_id").lt(118));
    int loadsBefore = SharedModels.loadCount();
    List<Row> out = transformer().setPooledOutputCol("pooled").transform(df).collectAsList();
    assertTrue(SharedModels.loadCount() - loadsBefore <= 1, "model loaded once per JVM, not per partition or task");
    assertEquals(18, out.size());
    assertEquals(18, byId(out).size(), "every row exactly once");
    Map<Long, Row> in = byId(sample);
    for (Row r : out) {
      long id = r.getLong(0);
      Row src = in.get(id);
      FloatArray[] e = SparkTestSupport.reference(model, tok, src.getString(2), SparkTestSupport.floats(src.getList(3)),
          SparkTestSupport.floats(src.getList(4)));
      List<Row> answers = r.getList(r.fieldIndex("answers"));
      assertEquals(3, answers.size());
      int[] top = io.github.tflxmert.array.Scores.topK(e[0].data(), 3);
      float[] scores = new float[3];
      float[] expected = new float[3];
      for (int k = 0; k < 3; k++) {
        scores[k] = answers.get(k).getFloat(2);
        expected[k] = e[0].data()[top[k]];
      }
      assertAllClose(SparkTestSupport.vector(expected), SparkTestSupport.vector(scores));
      List<String> labels = List.of("red", "blue", "green", "yellow", "white", "black", "cube", "sphere", "cylinder",
          "small", "large", "0", "1", "2", "3", "4", "5", "yes", "no");
      assertEquals(labels.get(answers.get(0).getInt(1)), answers.get(0).getString(0), "label from answers.json");
      assertAllClose(SparkTestSupport.vector(new float[] {e[1].data()[1]}),
          SparkTestSupport.vector(new float[] {r.getFloat(r.fieldIndex("match_probability"))}));
      assertAllClose(e[2], SparkTestSupport.vector(SparkTestSupport.rowFloats(r, "pooled")));
    }
  }

  @Test
  void binaryFeaturesNestedBoxesAndInputIdsGiveTheSameScores() {
    StructType schema = new StructType().add("question_id", DataTypes.LongType).add("input_ids",
            DataTypes.createArrayType(DataTypes.IntegerType))
        .add("features", DataTypes.BinaryType)
        .add("boxes", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
    List<Row> rows = new ArrayList<>();
    for (Row s : sample.subList(0, 6)) {
      float[] f = SparkTestSupport.floats(s.getList(3));
      ByteBuffer bb = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      bb.asFloatBuffer().put(f);
      float[] b = SparkTestSupport.floats(s.getList(4));
      List<List<Float>> nested = new ArrayList<>();
      for (int i = 0; i < b.length / 4; i++) {
        nested.add(List.of(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]));
      }
      List<Integer> ids = new ArrayList<>();
      for (int id : tok.encode(s.getString(2)).inputIds()) {
        ids.add(id);
      }
      rows.add(RowFactory.create(s.getLong(0), ids, bb.array(), nested));
    }
    List<Row> viaBinary = transformer().transform(spark.createDataFrame(rows, schema)).collectAsList();
    Map<Long, Row> plain = byId(transformer().transform(spark.createDataFrame(sample.subList(0, 6),
        SampleData.SCHEMA)).collectAsList());
    assertEquals(6, viaBinary.size());
    for (Row r : viaBinary) {
      Row p = plain.get(r.getLong(0));
      assertAllClose(SparkTestSupport.vector(new float[] {p.getFloat(p.fieldIndex("match_probability"))}),
          SparkTestSupport.vector(new float[] {r.getFloat(r.fieldIndex("match_probability"))}));
      assertEquals(p.getList(p.fieldIndex("answers")).get(0).toString(),
          r.getList(r.fieldIndex("answers")).get(0).toString());
    }
  }

  @Test
  void nullsAreKeptSkippedOrFailNamingTheRow() {
    List<Row> rows = new ArrayList<>(sample.subList(0, 4));
    Row s = sample.get(4);
    rows.add(RowFactory.create(7L, "scene-x", s.getString(2), null, s.get(4))); // no features
    rows.add(RowFactory.create(8L, "scene-y", null, s.get(3), s.get(4))); // no text
    Dataset<Row> df = spark.createDataFrame(rows, SampleData.SCHEMA).coalesce(1);
    List<Row> kept = transformer().setHandleInvalid("keep").transform(df).collectAsList();
    assertEquals(6, kept.size());
    Map<Long, Row> k = byId(kept);
    assertNull(k.get(7L).get(k.get(7L).fieldIndex("answers")));
    assertTrue(k.get(8L).isNullAt(k.get(8L).fieldIndex("match_probability")));
    assertTrue(!k.get(sample.get(0).getLong(0)).isNullAt(5));
    assertEquals(4, transformer().setHandleInvalid("skip").transform(df).count());
    Exception e = assertThrows(Exception.class, () -> transformer().transform(df).collectAsList());
    assertTrue(rootMessage(e).contains("row question_id=7: features: expected region data, found null"),
        rootMessage(e));
  }

  @Test
  void featuresOfTheWrongWidthFailNamingRowColumnAndWidth() {
    StructType schema = SampleData.SCHEMA;
    Row s = sample.get(0);
    List<Float> bad = new ArrayList<>();
    for (int i = 0; i < 17; i++) {
      bad.add(0.5f);
    }
    Dataset<Row> df = spark.createDataFrame(List.of(RowFactory.create(42L, "i", "what color is the cube?",
        scala.jdk.javaapi.CollectionConverters.asScala(bad).toSeq(), s.get(4))), schema);
    Exception e = assertThrows(Exception.class, () -> transformer().transform(df).collectAsList());
    assertTrue(rootMessage(e).contains("row question_id=42: features: expected a multiple of visual_feat_dim = 16"),
        rootMessage(e));
  }

  @Test
  void badColumnsAndModelPathsFailOnTheDriverNamingThem(@TempDir Path tmp) throws Exception {
    Dataset<Row> df = spark.createDataFrame(sample.subList(0, 2), SampleData.SCHEMA);
    IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class,
        () -> transformer().transform(df.withColumn("features", col("text"))));
    assertTrue(wrongType.getMessage().startsWith("featuresCol \"features\": expected array<float>, "
        + "array<array<float>> or binary (float32), found string"), wrongType.getMessage());
    IllegalArgumentException noText = assertThrows(IllegalArgumentException.class,
        () -> transformer().transform(df.drop("text")));
    assertTrue(noText.getMessage().startsWith("textCol/inputIdsCol: expected a column \"text\""), noText.getMessage());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> transformer().setModelPath(tmp.resolve("nope").toString()).transform(df));
    assertTrue(missing.getMessage().contains("nope: expected an HF model directory or a SavedModel, found no such"),
        missing.getMessage());
    Files.writeString(tmp.resolve("README"), "not a model");
    IllegalArgumentException notModel = assertThrows(IllegalArgumentException.class,
        () -> transformer().setModelPath(tmp.toString()).transform(df));
    assertTrue(notModel.getMessage().startsWith("modelPath " + tmp + ": expected an HF model directory"),
        notModel.getMessage());
  }

  @Test
  void paramsSaveAndLoad(@TempDir Path tmp) throws Exception {
    LxmertTransformer t = transformer().setPooledOutputCol("emb").setHandleInvalid("skip");
    t.write().save(tmp.resolve("stage").toString());
    LxmertTransformer back = LxmertTransformer.load(tmp.resolve("stage").toString());
    assertEquals(t.uid(), back.uid());
    assertEquals("emb", back.getOrDefault(back.pooledOutputCol()));
    assertEquals(5, back.getOrDefault(back.batchSize()));
    assertEquals(SparkTestSupport.DEMO.toString(), back.getOrDefault(back.modelPath()));
  }

  static String rootMessage(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getMessage()).append(" | ");
    }
    return sb.toString();
  }
}
