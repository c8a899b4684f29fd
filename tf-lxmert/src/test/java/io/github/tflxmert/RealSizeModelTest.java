package io.github.tflxmert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.graph.ModelScope;
import io.github.tflxmert.weights.HfH5Writer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;

/**
 * The real LXMERT-base configuration (768 hidden, 12 heads, 9/5/5 layers, vocab 30522, 2048 features, 9500
 * answers) builds, loads random weights through the tf_model.h5 path and runs one batch. The checkpoint is
 * written by the test (about 0.9 GB in a temporary directory), never committed.
 */
class RealSizeModelTest {
  @TempDir Path tmp;

  @Test
  void baseConfigurationBuildsLoadsFromH5AndRuns() throws IOException {
    LxmertConfig c = LxmertConfig.defaults();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    long params = 0;
    try (Graph g = new Graph()) {
      LxmertGraph lg = new LxmertGraph(g, c, LxmertGraph.Kind.PRETRAINING);
      for (ModelScope.Weight w : lg.scope().weights().values()) {
        shapes.put(w.name(), w.shape());
        long n = 1;
        for (long d : w.shape()) {
          n *= d;
        }
        params += n;
      }
    }
    // Spec section 1 (derived from the shape rules): TFLxmertForPreTraining has 228,051,752 parameters.
    assertEquals(228_051_752L, params);
    Map<String, float[]> values = new LinkedHashMap<>();
    Random rnd = new Random(7);
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long n = 1;
      for (long d : e.getValue()) {
        n *= d;
      }
      float[] v = new float[(int) n];
      boolean gamma = e.getKey().endsWith("gamma");
      for (int i = 0; i < v.length; i++) {
        v[i] = gamma ? 1f : (float) (rnd.nextGaussian() * 0.02);
      }
      values.put(e.getKey(), v);
    }
    Path h5 = tmp.resolve("tf_model.h5");
    HfH5Writer.write(h5, "tf_lxmert_for_pre_training", shapes, values);
    values.clear();
    try (LxmertForPreTraining m = LxmertForPreTraining.create(c, h5, LoadOptions.defaults())) {
      int b = 2;
      int s = 20;
      int n = 36;
      int[][] ids = new int[b][s];
      for (int[] row : ids) {
        for (int i = 0; i < s; i++) {
          row[i] = 1000 + rnd.nextInt(20000);
        }
      }
      float[] feats = new float[b * n * 2048];
      for (int i = 0; i < feats.length; i++) {
        feats[i] = rnd.nextFloat();
      }
      float[] boxes = new float[b * n * 4];
      for (int i = 0; i < boxes.length; i += 4) {
        boxes[i] = 0.1f;
        boxes[i + 1] = 0.2f;
        boxes[i + 2] = 0.5f;
        boxes[i + 3] = 0.9f;
      }
      LxmertInputs in = LxmertInputs.builder().inputIds(ids)
          .visualFeats(new FloatArray(new long[] {b, n, 2048}, feats))
          .visualPos(new FloatArray(new long[] {b, n, 4}, boxes)).build();
      LxmertOutputs out = m.predict(in);
      assertArrayEquals(new long[] {b, s, 30522}, out.predictionLogits().shape());
      assertArrayEquals(new long[] {b, 2}, out.crossRelationshipScore().shape());
      assertArrayEquals(new long[] {b, 9500}, out.questionAnsweringScore().shape());
      for (float v : out.predictionLogits().data()) {
        assertTrue(Float.isFinite(v));
      }
    }
  }
}
