package io.github.tflxmert.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.TensorFlow;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.OpDef;
import org.tensorflow.types.TFloat32;

/**
 * Fused Dense layers ({@link KernelFusion}) against the Keras ops they replace: same values to rounding, at rank 2
 * and 3, with GELU (fused where supported) and with activations that are never fused; the probe, the fallback and
 * the required mode; the private ops' registered attributes pinned against TensorFlow 2.18.
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
      assumeTrue(KernelFusion.support(CONFIG).best() == KernelFusion.ONEDNN, "no fused GELU in this TensorFlow build");
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

  /**
   * Mixed bfloat16 Dense: a plain MatMul + BiasAdd in bfloat16 at every fusion level, never {@code _FusedMatMul}
   * (oneDNN runs a bfloat16 _FusedMatMul on fed weights as an inner product without AMX, a MatMul on AMX), with
   * values within bfloat16 rounding of the float32 layer.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"ONEDNN", "BIAS_ADD", "OFF"})
  void bfloat16DenseIsAPlainMatMulAtEveryFusionLevel(KernelFusion fusion) {
    // bfloat16 matmuls where oneDNN is capped below bfloat16 (ONEDNN_MAX_CPU_ISA=AVX2) die with SIGILL
    assumeTrue(io.github.tflxmert.Bfloat16Support.detect().available(),
        () -> io.github.tflxmert.Bfloat16Support.detect().missing());
    long in = 64;
    long out = 96;
    Random r = new Random(11);
    try (Graph g = new Graph(); Session s = new Session(g, CONFIG);
         TFloat32 x = TFloat32.tensorOf(Shape.of(3, 17, in));
         TFloat32 k = TFloat32.tensorOf(Shape.of(in, out));
         TFloat32 b = TFloat32.tensorOf(Shape.of(out))) {
      x.scalars().forEach(v -> v.setFloat((float) r.nextGaussian()));
      k.scalars().forEach(v -> v.setFloat((float) (r.nextGaussian() * 0.1)));
      b.scalars().forEach(v -> v.setFloat((float) (r.nextGaussian() * 0.1)));
      Ops tf = Ops.create(g);
      Operand<TFloat32> xp = tf.placeholder(TFloat32.class,
          org.tensorflow.op.core.Placeholder.shape(Shape.of(3, 17, in)));
      Operand<TFloat32> kp = tf.placeholder(TFloat32.class);
      Operand<TFloat32> bp = tf.placeholder(TFloat32.class);
      var k16 = tf.dtypes.cast(kp, org.tensorflow.types.TBfloat16.class);
      Operand<TFloat32> y16 = new Layers.Dense(null, bp, in, out, fusion, k16).apply(tf, xp, "gelu");
      Operand<TFloat32> y32 = new Layers.Dense(kp, bp, in, out, KernelFusion.OFF).apply(tf, xp, "gelu");
      List<String> bf16Types = bfloat16OpTypes(g);
      assertTrue(bf16Types.contains("MatMul") && bf16Types.contains("BiasAdd")
          && !bf16Types.contains(KernelFusion.FUSED_MATMUL), "bfloat16 ops: " + bf16Types);
      try (Result res = s.runner().feed(xp, x).feed(kp, k).feed(bp, b).fetch(y16).fetch(y32).run()) {
        double cosine = cosine((TFloat32) res.get(0), (TFloat32) res.get(1));
        assertTrue(cosine >= 0.999 && cosine < 1, "cosine with float32 " + cosine);
      }
    }
  }

  /**
   * Packed mixed-bfloat16 Dense ({@link KernelFusion#packedMatMul}): one oneDNN op for matmul, bias and GELU, within
   * bfloat16 rounding of the float32 layer; oneDNN packs the fed kernel at the first run and reuses that copy, so
   * runs at other row counts afterwards (and back) must still agree with float32, and a new kernel fed to a new
   * session must not see the old one's cache.
   */
  @Test
  void packedBfloat16DenseKeepsItsKernelAcrossShapes() {
    assumeTrue(io.github.tflxmert.Bfloat16Support.detect().available(),
        () -> io.github.tflxmert.Bfloat16Support.detect().missing());
    String missing = KernelFusion.packedUnsupported(CONFIG);
    assumeTrue(missing == null, () -> missing);
    long in = 64;
    long out = 96;
    for (int seed : new int[] {5, 6}) {
      Random r = new Random(seed);
      try (Graph g = new Graph(); Session s = new Session(g, CONFIG);
           TFloat32 k = TFloat32.tensorOf(Shape.of(in, out));
           TFloat32 b = TFloat32.tensorOf(Shape.of(out))) {
        k.scalars().forEach(v -> v.setFloat((float) (r.nextGaussian() * 0.1)));
        b.scalars().forEach(v -> v.setFloat((float) (r.nextGaussian() * 0.1)));
        Ops tf = Ops.create(g);
        Operand<TFloat32> xp = tf.placeholder(TFloat32.class,
            org.tensorflow.op.core.Placeholder.shape(Shape.of(-1, -1, in)));
        Operand<TFloat32> kp = tf.placeholder(TFloat32.class);
        Operand<TFloat32> bp = tf.placeholder(TFloat32.class);
        var k16 = tf.dtypes.cast(kp, org.tensorflow.types.TBfloat16.class);
        Operand<TFloat32> y16 = new Layers.Dense(null, bp, in, out, KernelFusion.ONEDNN, k16, true, null)
            .apply(tf, xp, "gelu");
        Operand<TFloat32> y32 = new Layers.Dense(kp, bp, in, out, KernelFusion.OFF).apply(tf, xp, "gelu");
        List<String> bf16Types = bfloat16OpTypes(g);
        assertTrue(bf16Types.contains(KernelFusion.PACKED_MATMUL) && !bf16Types.contains("MatMul"),
            "bfloat16 ops: " + bf16Types);
        for (int[] bs : new int[][] {{3, 17}, {1, 5}, {8, 36}, {3, 17}}) {
          try (TFloat32 x = TFloat32.tensorOf(Shape.of(bs[0], bs[1], in))) {
            x.scalars().forEach(v -> v.setFloat((float) r.nextGaussian()));
            try (Result res = s.runner().feed(xp, x).feed(kp, k).feed(bp, b).fetch(y16).fetch(y32).run()) {
              double cosine = cosine((TFloat32) res.get(0), (TFloat32) res.get(1));
              assertTrue(cosine >= 0.999 && cosine < 1, "seed " + seed + ", rows " + bs[0] * bs[1]
                  + ": cosine with float32 " + cosine);
            }
          }
        }
      }
    }
  }

  /** The types of the graph's ops whose first output is bfloat16. */
  private static List<String> bfloat16OpTypes(Graph g) {
    List<String> types = new ArrayList<>();
    for (Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.numOutputs() > 0 && op.output(0).dataType() == org.tensorflow.proto.DataType.DT_BFLOAT16) {
        types.add(op.type());
      }
    }
    return types;
  }

  private static double cosine(TFloat32 a, TFloat32 e) {
    float[] x = new float[(int) a.size()];
    float[] y = new float[(int) e.size()];
    a.asRawTensor().data().asFloats().read(x);
    e.asRawTensor().data().asFloats().read(y);
    double dot = 0;
    double na = 0;
    double ne = 0;
    for (int i = 0; i < x.length; i++) {
      dot += (double) x[i] * y[i];
      na += (double) x[i] * x[i];
      ne += (double) y[i] * y[i];
    }
    return dot / Math.sqrt(na * ne);
  }

  @Test
  void probeFindsFusedGeluOnX86WithOneDnn() {
    String arch = System.getProperty("os.arch");
    assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "oneDNN ops are on by default on x86-64 only");
    assumeTrue(!"0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS")), "oneDNN ops switched off");
    KernelFusion.Support s = KernelFusion.support(CONFIG);
    assertEquals(KernelFusion.ONEDNN, s.best(), s.reason());
    assertNull(s.reason());
  }

  /** Under {@code TF_ENABLE_ONEDNN_OPTS=0} (one of .ci/run's passes) the probe says why, and required fails. */
  @Test
  void withoutOneDnnTheProbeNamesTheReasonAndRequiredFails() {
    assumeTrue("0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS")), "oneDNN ops are on");
    KernelFusion.Support s = KernelFusion.support(CONFIG);
    assertEquals(KernelFusion.BIAS_ADD, s.best());
    assertTrue(s.reason() != null && !s.reason().isBlank(), "no reason");
    assertEquals(KernelFusion.BIAS_ADD, KernelFusion.resolve(KernelFusion.ONEDNN, false, CONFIG));
    assertThrows(UnsupportedOperationException.class, () -> KernelFusion.resolve(KernelFusion.ONEDNN, true, CONFIG));
  }

  @Test
  void aMissingLevelFallsBackOrFailsWhenRequired() {
    KernelFusion.Support biasOnly = new KernelFusion.Support(KernelFusion.BIAS_ADD, "op _MklLayerNorm is not registered");
    assertEquals(KernelFusion.BIAS_ADD, KernelFusion.resolve(KernelFusion.ONEDNN, false, biasOnly));
    assertEquals(KernelFusion.BIAS_ADD, KernelFusion.resolve(KernelFusion.BIAS_ADD, true, biasOnly));
    assertEquals(KernelFusion.OFF, KernelFusion.resolve(KernelFusion.OFF, true, CONFIG));
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> KernelFusion.resolve(KernelFusion.ONEDNN, true, biasOnly));
    assertTrue(e.getMessage().contains("withKernelFusionRequired") && e.getMessage().contains("BIAS_ADD")
        && e.getMessage().contains("_MklLayerNorm is not registered"), e.getMessage());
  }

  /**
   * The private ops' registered definitions (inputs, outputs, attributes with types and defaults) as TensorFlow
   * 2.18 has them. The fused graph sets these attributes by name; an upgrade that renames, retypes or adds one
   * fails here instead of making every load fall back to the slower kernels.
   */
  @Test
  void privateOpsHaveTheAttributesOfTensorFlow218() {
    Map<String, String> expected = Map.of(
        KernelFusion.FUSED_MATMUL, "_FusedMatMul(a: T, b: T, args: num_args * T) -> (product: T)"
            + " attrs[transpose_a: bool = false; transpose_b: bool = false; T: type in [DT_BFLOAT16, DT_HALF,"
            + " DT_FLOAT]; num_args: int >= 0; fused_ops: list(string) = []; epsilon: float = 1.0E-4;"
            + " leakyrelu_alpha: float = 0.2]",
        KernelFusion.MKL_LAYER_NORM, "_MklLayerNorm(x: T, scale: T, offset: T) -> (y: T)"
            + " attrs[T: type in [DT_FLOAT, DT_BFLOAT16, DT_HALF]; epsilon: float = 0.001]",
        KernelFusion.PACKED_MATMUL, "_MklNativeFusedMatMul(a: T, b: T, args: num_args * T) -> (product: T)"
            + " attrs[is_filter_const: bool = false; transpose_a: bool = false; transpose_b: bool = false; T: type in"
            + " [DT_BFLOAT16, DT_FLOAT, DT_HALF]; num_args: int >= 0; fused_ops: list(string) = []; epsilon: float ="
            + " 1.0E-4; leakyrelu_alpha: float = 0.2]");
    Map<String, String> found = new TreeMap<>();
    for (OpDef d : TensorFlow.registeredOpList().getOpList()) {
      if (expected.containsKey(d.getName())) {
        found.put(d.getName(), signature(d));
      }
    }
    assertEquals(new TreeMap<>(expected), found, "TensorFlow " + TensorFlow.version());
  }

  /** An OpDef without its documentation: inputs, outputs, and each attribute's type, constraint and default. */
  static String signature(OpDef d) {
    StringBuilder b = new StringBuilder(d.getName()).append('(');
    b.append(d.getInputArgList().stream().map(KernelFusionTest::arg).collect(Collectors.joining(", ")));
    b.append(") -> (").append(d.getOutputArgList().stream().map(KernelFusionTest::arg)
        .collect(Collectors.joining(", "))).append(") attrs[");
    b.append(d.getAttrList().stream().map(a -> {
      String s = a.getName() + ": " + a.getType();
      if (a.hasAllowedValues()) {
        s += " in " + a.getAllowedValues().getList().getTypeList();
      }
      if (a.getHasMinimum()) {
        s += " >= " + a.getMinimum();
      }
      if (a.hasDefaultValue()) {
        AttrValue v = a.getDefaultValue();
        s += " = " + switch (v.getValueCase()) {
          case B -> String.valueOf(v.getB());
          case F -> String.valueOf(v.getF());
          case I -> String.valueOf(v.getI());
          case LIST -> v.getList().getSList().stream().map(x -> x.toStringUtf8()).toList().toString();
          default -> v.toString().trim();
        };
      }
      return s;
    }).collect(Collectors.joining("; "))).append(']');
    return b.toString();
  }

  private static String arg(OpDef.ArgDef a) {
    String type = a.getTypeAttr().isEmpty() ? a.getType().toString() : a.getTypeAttr();
    return a.getName() + ": " + (a.getNumberAttr().isEmpty() ? "" : a.getNumberAttr() + " * ") + type;
  }
}
