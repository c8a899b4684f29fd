package io.github.tflxmert.spark;

import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** A loopback-only local[2] session and the single-JVM reference the Spark results are compared with. */
final class SparkTestSupport {
  private SparkTestSupport() {}

  /** The demo model shipped by lxmert-cli (tests run with the module directory as working directory). */
  static final Path DEMO = Path.of("../lxmert-cli/src/main/resources/io/github/tflxmert/cli/demo-model")
      .toAbsolutePath().normalize();

  static SparkSession session(String name) {
    return session(name, java.util.Map.of());
  }

  /** The session with extra settings (e.g. {@code spark.hadoop.*}). */
  static SparkSession session(String name, java.util.Map<String, String> extra) {
    SparkSession.Builder b = SparkSession.builder().master("local[2]").appName(name)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2").config("spark.default.parallelism", "2");
    extra.forEach(b::config);
    return b.getOrCreate();
  }

  /**
   * What the Java predictor gives for one row on its own (batch of 1, no padding), as {@code lxmert run} does:
   * {softmax(question_answering_score), softmax(cross_relationship_score), pooled_output}.
   */
  static FloatArray[] reference(LxmertPredictor model, LxmertTokenizer tok, String text, float[] feats,
                                float[] boxes) {
    int f = model.config().visualFeatDim();
    int n = feats.length / f;
    LxmertInputs in = LxmertInputs.builder().inputIds(new int[][] {tok.encode(text).inputIds()})
        .visualFeats(new FloatArray(new long[] {1, n, f}, feats))
        .visualPos(new FloatArray(new long[] {1, n, 4}, boxes)).build();
    boolean pooled = model.availableOutputs().contains(OutputNames.POOLED_OUTPUT);
    LxmertOutputs out = model.predict(in, pooled ? OutputSelection.of(OutputNames.QUESTION_ANSWERING_SCORE,
        OutputNames.CROSS_RELATIONSHIP_SCORE, OutputNames.POOLED_OUTPUT) : OutputSelection.of(
        OutputNames.QUESTION_ANSWERING_SCORE, OutputNames.CROSS_RELATIONSHIP_SCORE));
    float[] qa = io.github.tflxmert.array.Scores.softmax(out.questionAnsweringScore().row(0));
    float[] match = io.github.tflxmert.array.Scores.softmax(out.crossRelationshipScore().row(0));
    return new FloatArray[] {vector(qa), vector(match), pooled ? vector(out.pooledOutput().row(0)) : null};
  }

  static FloatArray vector(float[] v) {
    return new FloatArray(new long[] {v.length}, v);
  }

  static float[] floats(List<?> l) {
    float[] out = new float[l.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Number) l.get(i)).floatValue();
    }
    return out;
  }

  static LxmertForPreTraining openDemo() throws IOException {
    return LxmertForPreTraining.fromPretrained(DEMO);
  }

  static float[] rowFloats(Row r, String col) {
    return floats(r.getList(r.fieldIndex(col)));
  }
}
