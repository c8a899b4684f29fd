package io.github.tflxmert.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;

/**
 * Fused Dense layers ({@link KernelFusion}) against the Keras ops they replace: same values to rounding, at rank 2
 * and 3, with GELU (fused where supported) and with activations that are never fused.
 */
class KernelFusionTest {
  static final ConfigProto CONFIG = ConfigProto.newBuilder().setIntraOpParallelismThreads(2)
      .setInterOpParallelismThreads(2).build();

  /** Runs Dense(in→out) + activation on x [rows..., in] with the given fusion; returns the values and op types. */
  static float[] run(KernelFusion fusion, String activation, long[] xShape, long out, List<String> types) {
    long in = xShape[xShape.length - 1];
    Random r = new Random(7);
    try (Graph g = new Graph(); Session s = new Session(g, CONFIG);
         TFloat32 x = TFloat32.tensorOf(Shape.of(xShape));
         TFloat32 k = TFloat32.tensorOf(Shape.of(in, out));
         TFloat32 b = TFloat32.tensorOf(Shape.of(out))) {
      x.scalars().forEach(v -> v.setFloat((float) r.nextGaussian()));
      k.scalars().forEach(v -> v.setFloat((float) (r.nextGaussian() * 0.1)));
      b.scalars().forEach(v -> v.setFloat((float) (r.nextGaussian() * 0.1)));
      Ops tf = Ops.create(g);
      Operand<TFloat32> xp = tf.placeholder(TFloat32.class,
          org.tensorflow.op.core.Placeholder.shape(Shape.of(xShape)));
      Operand<TFloat32> kp = tf.placeholder(TFloat32.class);
      Operand<TFloat32> bp = tf.placeholder(TFloat32.class);
      Operand<TFloat32> y = new Layers.Dense(kp, bp, in, out, fusion).apply(tf, xp, activation);
      for (Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
        types.add(it.next().type());
      }
      try (Result res = s.runner().feed(xp, x).feed(kp, k).feed(bp, b).fetch(y).run()) {
        TFloat32 t = (TFloat32) res.get(0);
        long[] expected = xShape.clone();
        expected[expected.length - 1] = out;
        assertEquals(Shape.of(expected), t.shape());
        float[] v = new float[(int) t.shape().size()];
        t.asRawTensor().data().asFloats().read(v);
        return v;
      }
    }
  }

  @ParameterizedTest(name = "{0}, {1}, rank {2}")
  @CsvSource({"BIAS_ADD, gelu, 3", "BIAS_ADD, gelu, 2", "BIAS_ADD, relu, 3", "BIAS_ADD, tanh, 2",
      "ONEDNN, gelu, 3", "ONEDNN, gelu, 2", "ONEDNN, gelu_new, 3", "ONEDNN, none, 3"})
  void fusedDenseMatchesTheKerasOps(KernelFusion fusion, String activation, int rank) {
    if (fusion == KernelFusion.ONEDNN) {
      assumeTrue(KernelFusion.best(CONFIG) == KernelFusion.ONEDNN, "no fused GELU in this TensorFlow build");
    }
    String act = activation.equals("none") ? null : activation;
    long[] shape = rank == 3 ? new long[] {3, 17, 64} : new long[] {51, 64};
    List<String> fusedTypes = new ArrayList<>();
    List<String> plainTypes = new ArrayList<>();
    float[] fused = run(fusion, act, shape, 96, fusedTypes);
    float[] plain = run(KernelFusion.OFF, act, shape, 96, plainTypes);
    assertEquals(plain.length, fused.length);
    double max = 0;
    for (int i = 0; i < plain.length; i++) {
      max = Math.max(max, Math.abs(plain[i] - fused[i]) / Math.max(1.0, Math.abs(plain[i])));
    }
    assertTrue(max <= 2e-6, "max relative difference " + max);
    assertTrue(fusedTypes.contains("_FusedMatMul") && !fusedTypes.contains("MatMul")
        && !fusedTypes.contains("BiasAdd"), "fused graph: " + fusedTypes);
    assertTrue(plainTypes.contains("MatMul") && plainTypes.contains("BiasAdd")
        && !plainTypes.contains("_FusedMatMul"), "plain graph: " + plainTypes);
    boolean geluFused = fusion == KernelFusion.ONEDNN && "gelu".equals(act);
    assertEquals(!geluFused && "gelu".equals(act), fusedTypes.contains("Erf"), "Erf left only when GELU is not fused");
  }

  @Test
  void probeFindsFusedGeluOnX86WithOneDnn() {
    String arch = System.getProperty("os.arch");
    assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "oneDNN ops are on by default on x86-64 only");
    assumeTrue(!"0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS")), "oneDNN ops switched off");
    assertEquals(KernelFusion.ONEDNN, KernelFusion.best(CONFIG));
  }
}
