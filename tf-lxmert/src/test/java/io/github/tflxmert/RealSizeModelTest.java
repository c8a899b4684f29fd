package io.github.tflxmert;

import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.array.FloatArray;
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
import io.github.tflxmert.export.SavedModelExporter;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The real LXMERT-base configuration (768 hidden, 12 heads, 9/5/5 layers, vocab 30522, 2048 features, 9500
 * answers) builds, loads random weights through the tf_model.h5 path, runs one batch, exports a SavedModel and
 * reloads it with bit-identical outputs. The checkpoint is
 * written by the test (about 0.9 GB in a temporary directory), never committed.
 */
class RealSizeModelTest {
  @TempDir Path tmp;

  static int[] flat(int[][] m) {
    return java.util.Arrays.stream(m).flatMapToInt(java.util.Arrays::stream).toArray();
  }

  static int[] fill(int n, int v) {
    int[] a = new int[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

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
    // The graph optimizer on, as TensorFlow's SavedModel loader has it, so that the reloaded export below must give
    // bit-identical numbers (with it off they differ by rounding); fused kernels off, as the export has the public ops.
    try (LxmertForPreTraining m = LxmertForPreTraining.create(c, h5,
        LoadOptions.defaults().withGraphOptimizer(true).withKernelFusion(KernelFusion.OFF))) {
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
      // Export (weights as variables, so 0.9 GB is no problem) and reload through TensorFlow's loader.
      Path dir = SavedModelExporter.export(c, h5, tmp.resolve("export"), 1, SavedModelExporter.Options.pretraining());
      try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
           TInt32 idT = TInt32.tensorOf(Shape.of(b, s), t -> t.asRawTensor().data().asInts().write(flat(ids)));
           TInt32 ones = TInt32.tensorOf(Shape.of(b, s), t -> t.asRawTensor().data().asInts().write(fill(b * s, 1)));
           TInt32 zeros = TInt32.tensorOf(Shape.of(b, s), t -> t.asRawTensor().data().asInts().write(fill(b * s, 0)));
           TInt32 vmask = TInt32.tensorOf(Shape.of(b, n), t -> t.asRawTensor().data().asInts().write(fill(b * n, 1)));
           TFloat32 f = TFloat32.tensorOf(Shape.of(b, n, 2048), t -> t.asRawTensor().data().asFloats().write(feats));
           TFloat32 p = TFloat32.tensorOf(Shape.of(b, n, 4), t -> t.asRawTensor().data().asFloats().write(boxes));
           Result r = bundle.function("serving_default").call(Map.of("input_ids", idT, "attention_mask", ones,
               "token_type_ids", zeros, "visual_attention_mask", vmask, "visual_feats", f, "visual_pos", p))) {
        TFloat32 qa = (TFloat32) r.get("question_answering_score").orElseThrow();
        float[] got = new float[b * 9500];
        qa.asRawTensor().data().asFloats().read(got);
        assertArrayEquals(out.questionAnsweringScore().data(), got, "reloaded export is bit-identical");
      }
    }
  }
}
