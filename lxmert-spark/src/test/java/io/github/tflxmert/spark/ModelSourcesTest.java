package io.github.tflxmert.spark;

import static io.github.tflxmert.parity.ParityAssertions.assertAllClose;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Scores;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.export.SavedModelExporter;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.weights.WeightSources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the model comes from, in local[2]: a SavedModel exported by the project's Java exporter (scores equal
 * {@link SavedModelPredictor} on the same rows under the tolerance model), and a model behind a Hadoop FileSystem
 * scheme that is not {@code file:} ({@link LocalSchemeFileSystem}, registered with {@code fs.lxmtest.impl} through
 * {@code spark.hadoop.*}, its FileSystem cache off so an executor that ignored the driver's Hadoop configuration
 * would fail): localized through the Hadoop API once per JVM; bad remote paths fail naming them.
 */
class ModelSourcesTest {
  @TempDir
  static Path tmp;
  static SparkSession spark;
  static LxmertTokenizer tok;
  static List<Row> sample;
  static Path savedModelBase;

  @BeforeAll
  static void start() throws Exception {
    spark = SparkTestSupport.session("ModelSourcesTest", Map.of(
        "spark.hadoop.fs." + LocalSchemeFileSystem.SCHEME + ".impl", LocalSchemeFileSystem.class.getName(),
        "spark.hadoop.fs." + LocalSchemeFileSystem.SCHEME + ".impl.disable.cache", "true"));
    tok = LxmertTokenizer.fromDirectory(SparkTestSupport.DEMO);
    sample = SampleData.rows(SparkTestSupport.DEMO, 24, 11, 300);
    // A TF Serving base exported by the Java exporter, with the vocab and labels beside the version directory.
    savedModelBase = tmp.resolve("saved-model");
    LxmertConfig cfg = LxmertConfig.fromJsonFile(SparkTestSupport.DEMO.resolve("config.json"));
    SavedModelExporter.export(cfg, WeightSources.checkpointIn(SparkTestSupport.DEMO), savedModelBase, 1,
        SavedModelExporter.Options.pretraining());
    for (String f : List.of("vocab.txt", "answers.json")) {
      Files.copy(SparkTestSupport.DEMO.resolve(f), savedModelBase.resolve(f));
    }
  }

  @AfterAll
  static void stop() {
    SharedModels.closeAll();
    if (spark != null) {
      spark.stop();
    }
  }

  static Dataset<Row> frame(int partitions) {
    return spark.createDataFrame(sample, SampleData.SCHEMA).repartition(partitions, col("question_id"));
  }

  /** Each output row against the predictor run on that row alone: top-k scores, labels' indices, match. */
  static void assertEqualsPredictor(List<Row> out, LxmertPredictor ref, int topK) {
    assertEquals(sample.size(), out.size());
    assertEquals(sample.size(), LxmertTransformerTest.byId(out).size(), "every row exactly once");
    Map<Long, Row> in = LxmertTransformerTest.byId(sample);
    for (Row r : out) {
      Row src = in.get(r.getLong(0));
      FloatArray[] e = SparkTestSupport.reference(ref, tok, src.getString(2), SparkTestSupport.floats(src.getList(3)),
          SparkTestSupport.floats(src.getList(4)));
      List<Row> answers = r.getList(r.fieldIndex("answers"));
      assertEquals(topK, answers.size());
      int[] top = Scores.topK(e[0].data(), topK);
      float[] got = new float[topK];
      float[] want = new float[topK];
      for (int k = 0; k < topK; k++) {
        got[k] = answers.get(k).getFloat(2);
        want[k] = e[0].data()[top[k]];
      }
      assertAllClose(SparkTestSupport.vector(want), SparkTestSupport.vector(got));
      assertEquals(top[0], answers.get(0).getInt(1), "row " + r.getLong(0) + ": top answer index");
      assertAllClose(SparkTestSupport.vector(new float[] {e[1].data()[1]}),
          SparkTestSupport.vector(new float[] {r.getFloat(r.fieldIndex("match_probability"))}));
    }
  }

  @Test
  void javaExportedSavedModelEqualsSavedModelPredictorOnTheSameRows() throws Exception {
    List<Row> out = new LxmertTransformer().setModelPath(savedModelBase.toString()).setBatchSize(4).setTopK(3)
        .transform(frame(3)).collectAsList();
    try (SavedModelPredictor ref = SavedModelPredictor.open(savedModelBase)) {
      assertEqualsPredictor(out, ref, 3);
    }
    List<String> labels = LoadedModel.readLabels(savedModelBase.resolve("answers.json"));
    for (Row r : out) {
      for (Object a : r.getList(r.fieldIndex("answers"))) {
        Row answer = (Row) a;
        assertEquals(labels.get(answer.getInt(1)), answer.getString(0), "label from the base directory's answers.json");
      }
    }
  }

  @Test
  void modelBehindACustomHadoopSchemeIsLocalizedThroughHadoopOncePerJvm() throws Exception {
    Path remote = tmp.resolve("remote/demo-model");
    Files.createDirectories(remote);
    try (Stream<Path> files = Files.list(SparkTestSupport.DEMO)) {
      for (Path f : files.toList()) {
        Files.copy(f, remote.resolve(f.getFileName()));
      }
    }
    String uri = LocalSchemeFileSystem.uri(remote);
    assertTrue(uri.startsWith("lxmtest:///") && !ModelFiles.isLocal(uri), uri);
    int opensBefore = LocalSchemeFileSystem.opens("model.safetensors");
    int loadsBefore = SharedModels.loadCount();
    List<Row> out = new LxmertTransformer().setModelPath(uri).setBatchSize(5).setTopK(3).transform(frame(6))
        .collectAsList();
    assertEquals(1, LocalSchemeFileSystem.opens("model.safetensors") - opensBefore,
        "the weights read once through the lxmtest: FileSystem (6 partitions, 2 task threads)");
    assertEquals(1, SharedModels.loadCount() - loadsBefore, "one model load in this (driver = executor) JVM");
    try (LxmertPredictor ref = SparkTestSupport.openDemo()) {
      assertEqualsPredictor(out, ref, 3);
    }
    // A second job with the same params shares the loaded model: no new copy, no new load.
    assertEquals(sample.size(), new LxmertTransformer().setModelPath(uri).setBatchSize(5).setTopK(3)
        .transform(frame(4)).count());
    assertEquals(1, LocalSchemeFileSystem.opens("model.safetensors") - opensBefore, "no second copy");
    assertEquals(1, SharedModels.loadCount() - loadsBefore, "no second load");
  }

  @Test
  void badRemoteModelPathsFailNamingThem() throws Exception {
    Dataset<Row> df = frame(2);
    String missing = LocalSchemeFileSystem.uri(tmp.resolve("no-such-model"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LxmertTransformer().setModelPath(missing).transform(df));
    assertEquals("modelPath " + missing + ": expected an HF model directory or a SavedModel, found no such path on "
        + "lxmtest:///", e.getMessage());

    Path notModel = Files.createDirectories(tmp.resolve("not-a-model"));
    Files.writeString(notModel.resolve("README"), "no model here");
    String notModelUri = LocalSchemeFileSystem.uri(notModel);
    e = assertThrows(IllegalArgumentException.class, () -> new LxmertTransformer().setModelPath(notModelUri)
        .transform(df));
    assertTrue(e.getMessage().startsWith("modelPath " + notModelUri + ": expected an HF model directory (config.json "
        + "with model.safetensors or tf_model.h5) or a SavedModel") && e.getMessage().endsWith("found [README] on "
        + "lxmtest:///"), e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> new LxmertTransformer()
        .setModelPath("nofs://bucket/models/lxmert").transform(df));
    assertTrue(e.getMessage().startsWith("modelPath nofs://bucket/models/lxmert: expected a local path or a URI whose "
        + "scheme has a Hadoop FileSystem, found scheme \"nofs\" with none"), e.getMessage());

    // Unchecked on the driver: the executor's load fails, naming the path.
    Exception task = assertThrows(Exception.class, () -> new LxmertTransformer().setModelPath(missing)
        .setCheckModelOnDriver(false).transform(df).collectAsList());
    assertTrue(LxmertTransformerTest.rootMessage(task).contains("modelPath " + missing + ": expected an HF model "
        + "directory or a SavedModel, found no such path on lxmtest:///"), LxmertTransformerTest.rootMessage(task));
  }
}
