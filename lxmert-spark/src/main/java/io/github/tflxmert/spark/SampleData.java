package io.github.tflxmert.spark;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes a sample input Parquet for the job from the demo model's three scenes: {@code question_id} (long),
 * {@code img_id}, {@code text}, {@code features} (array&lt;float&gt;, N*F) and {@code boxes} (array&lt;float&gt;,
 * N*4), with questions drawn from the demo model's templates and a random prefix of each scene's regions (so
 * region counts are ragged). With {@code --regions N} (for a model without scenes, e.g. a random-weight model at
 * LXMERT-base widths for benchmarks) every row instead gets N regions of random features of the model's
 * {@code visual_feat_dim} (uniform [0, 1), as ReLU'd detector features are non-negative) and random normalised
 * boxes. Deterministic for a seed. Usage: {@code SampleData --model DIR --output OUT --rows N [--partitions P]
 * [--seed S] [--regions N]}. Stateless.
 */
public final class SampleData {
  private SampleData() {}

  static final String[] QUESTIONS = {"what color is the cube?", "what color is the sphere?",
      "what color is the cylinder?", "what shape is the red object?", "what shape is the blue object?",
      "what size is the green object?", "how many cubes are there?", "how many blue objects are there?",
      "how many spheres are there?", "is there a small red cube?", "is there a large yellow sphere?",
      "what color is the small cylinder?"};

  static final StructType SCHEMA = new StructType().add("question_id", DataTypes.LongType, false)
      .add("img_id", DataTypes.StringType).add("text", DataTypes.StringType)
      .add("features", DataTypes.createArrayType(DataTypes.FloatType, false))
      .add("boxes", DataTypes.createArrayType(DataTypes.FloatType, false));

  /** {@code rows} sample rows, question ids from {@code firstId}. */
  static List<Row> rows(Path modelDir, int rows, long seed, long firstId) throws IOException {
    List<FloatArray> feats = new ArrayList<>();
    List<FloatArray> boxes = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      feats.add(Npy.readFloat(modelDir.resolve("scene-" + s + "-features.npy")));
      boxes.add(Npy.readFloat(modelDir.resolve("scene-" + s + "-boxes.npy")));
    }
    Random r = new Random(seed);
    List<Row> out = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      int s = r.nextInt(3);
      FloatArray f = squeeze(feats.get(s));
      FloatArray b = squeeze(boxes.get(s));
      int n = (int) f.dim(0);
      int keep = 1 + r.nextInt(n);
      int w = (int) f.dim(1);
      out.add(RowFactory.create(firstId + i, "scene-" + s, QUESTIONS[r.nextInt(QUESTIONS.length)],
          boxed(f.data(), keep * w), boxed(b.data(), keep * 4)));
    }
    return out;
  }

  /** {@code rows} rows of {@code regions} random regions of width {@code featDim}, question ids from 0. */
  static List<Row> randomRows(int featDim, int regions, int rows, long seed) {
    Random r = new Random(seed);
    List<Row> out = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      // primitive arrays (Spark converts them): 400 rows of 36 x 2048 are 118 MB, not a gigabyte of boxed floats
      float[] f = new float[regions * featDim];
      for (int k = 0; k < f.length; k++) {
        f[k] = r.nextFloat();
      }
      float[] b = new float[regions * 4];
      for (int k = 0; k < regions; k++) {
        b[4 * k] = 0.8f * r.nextFloat();
        b[4 * k + 1] = 0.8f * r.nextFloat();
        b[4 * k + 2] = b[4 * k] + 0.05f + 0.15f * r.nextFloat();
        b[4 * k + 3] = b[4 * k + 1] + 0.05f + 0.15f * r.nextFloat();
      }
      out.add(RowFactory.create((long) i, "image-" + (i % 100), QUESTIONS[r.nextInt(QUESTIONS.length)], f, b));
    }
    return out;
  }

  private static FloatArray squeeze(FloatArray a) {
    return a.rank() == 3 ? new FloatArray(new long[] {a.dim(1), a.dim(2)}, a.data()) : a;
  }

  private static scala.collection.immutable.Seq<Float> boxed(float[] d, int len) {
    List<Float> l = new ArrayList<>(len);
    for (int i = 0; i < len; i++) {
      l.add(d[i]);
    }
    return scala.jdk.javaapi.CollectionConverters.asScala(l).toSeq();
  }

  public static void main(String[] argv) throws IOException {
    LxmertJob.Args a = parse(argv);
    SparkSession spark = SparkSession.builder().appName("lxmert-spark-sample").getOrCreate();
    try {
      int n = a.integer("--rows", 1000);
      Path model = Path.of(a.get("--model", null));
      int regions = a.integer("--regions", 0);
      List<Row> rows = regions > 0 ? randomRows(io.github.tflxmert.config.LxmertConfig.fromJsonFile(
          model.resolve("config.json")).visualFeatDim(), regions, n, a.integer("--seed", 1))
          : rows(model, n, a.integer("--seed", 1), 0);
      Dataset<Row> df = spark.createDataFrame(rows, SCHEMA);
      df.repartition(a.integer("--partitions", 8)).write().mode(SaveMode.Overwrite).parquet(a.get("--output", null));
      System.out.println("lxmert-spark sample: rows=" + n + " output=" + a.get("--output", null));
    } finally {
      spark.stop();
    }
  }

  private static LxmertJob.Args parse(String[] argv) {
    java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      m.put(argv[i], argv[i + 1]);
    }
    if (!m.containsKey("--model") || !m.containsKey("--output")) {
      throw new IllegalArgumentException("usage: SampleData --model DIR --output OUT --rows N [--partitions P] "
          + "[--seed S] [--regions N]");
    }
    return new LxmertJob.Args(m);
  }
}
