package io.github.tflxmert.graph;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.TensorFlow;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.exceptions.TFUnimplementedException;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TNumber;

/**
 * Kernel fusion, the one setting for Dense layers and LayerNorms: "fused" in this library means several of Keras'
 * ops run as one TensorFlow kernel, and nothing else. A fused Dense runs MatMul, bias add and activation as
 * {@code _FusedMatMul} (TensorFlow's oneDNN build runs it as a oneDNN matmul with the bias and GELU applied to each
 * output tile while it is still in cache) instead of two or six kernels that each pass over the whole activation;
 * a fused LayerNorm runs as oneDNN's {@code _MklLayerNorm} (mean and variance in one pass) instead of Keras' ten
 * ops. Python's Keras Dense on [B,L,H] inputs goes through tensordot (a reshape between MatMul and BiasAdd), which
 * Grappler cannot fuse, so this is something the Java graph does that {@code tf.function} does not.
 *
 * <p>Both ops are private to TensorFlow ({@code _} names, built by Grappler, not by users), so the levels are
 * probed once per process by running them ({@link #support}); a runtime that lacks them gets the most it has, logged once at WARN
 * with the reason, unless the caller requires the level asked for ({@link #resolve}). {@code KernelFusionTest}
 * pins the ops' registered attributes, so a TensorFlow upgrade that changes them fails a test instead of silently
 * falling back. Only the inference graph uses fusion: the fused ops have no gradient, so training and export graphs
 * stay with the public ops. Results differ from the separate ops by rounding only (oneDNN sums in another order):
 * {@code KernelFusionTest} checks each fused layer against the Keras ops and {@code GraphParityTest} the whole model
 * against Python, fused and unfused, at the same bar. {@code bench/bench.sh} measures both ({@code graph},
 * {@code graph-unfused}; README, Benchmarks). Thread-safe (immutable; the probe runs once).
 */
public enum KernelFusion {
  /** MatMul, BiasAdd, the activation and LayerNorm as separate ops, exactly as Keras builds them. */
  OFF,
  /** MatMul with its bias add as one {@code _FusedMatMul}; activation and LayerNorm separate. */
  BIAS_ADD,
  /**
   * MatMul, bias add and exact GELU as one {@code _FusedMatMul}, and each LayerNorm as one {@code _MklLayerNorm};
   * needs TensorFlow's oneDNN ops (x86-64 builds, not switched off with {@code TF_ENABLE_ONEDNN_OPTS=0}).
   */
  ONEDNN;

  /** The private op behind {@link #BIAS_ADD} and the Dense part of {@link #ONEDNN}. */
  public static final String FUSED_MATMUL = "_FusedMatMul";
  /** The private op behind the LayerNorm part of {@link #ONEDNN}. */
  public static final String MKL_LAYER_NORM = "_MklLayerNorm";
  /** oneDNN's own fused matmul, built directly so it can be told its kernel never changes ({@link #packedMatMul}). */
  public static final String PACKED_MATMUL = "_MklNativeFusedMatMul";

  private static final Logger LOG = LoggerFactory.getLogger(KernelFusion.class);
  private static final AtomicBoolean WARNED = new AtomicBoolean();
  private static volatile Support support;
  private static volatile String packedUnsupported;   // null: not probed yet; "": supported; else the reason

  /**
   * What this TensorFlow runtime supports.
   *
   * @param best   the highest level that ran correctly in the probe
   * @param reason why {@code best} is below {@link #ONEDNN}, or null when it is not
   */
  public record Support(KernelFusion best, String reason) {}

  /**
   * The most this runtime supports, found once per process: a 1×1 fused MatMul (bias only, then with GELU) and a
   * 1×2 LayerNorm must build, run and give the right values. {@code sessionConfig} is
   * the configuration of the session the caller is about to create: TensorFlow sizes its process-wide thread pools
   * at the first session, so the probe uses the same one.
   */
  public static Support support(ConfigProto sessionConfig) {
    Support s = support;
    if (s == null) {
      synchronized (KernelFusion.class) {
        s = support;
        if (s == null) {
          s = probe(sessionConfig);
          support = s;
        }
      }
    }
    return s;
  }

  /**
   * The kernels a graph that asks for {@code wanted} gets: {@code wanted} itself where the runtime supports it;
   * otherwise the most the runtime supports, with one WARN per process naming the reason, or, when
   * {@code required}, an exception.
   *
   * @throws UnsupportedOperationException if {@code required} and the runtime supports less than {@code wanted}
   */
  public static KernelFusion resolve(KernelFusion wanted, boolean required, ConfigProto sessionConfig) {
    return wanted == OFF ? OFF : resolve(wanted, required, support(sessionConfig));
  }

  /** {@link #resolve(KernelFusion, boolean, ConfigProto)} against a known support. */
  static KernelFusion resolve(KernelFusion wanted, boolean required, Support s) {
    if (wanted.compareTo(s.best()) <= 0) {
      return wanted;
    }
    if (required) {
      throw new UnsupportedOperationException("kernel fusion " + wanted + " is required (LoadOptions."
          + "withKernelFusionRequired), but this TensorFlow runtime supports only " + s.best() + ": " + s.reason());
    }
    if (WARNED.compareAndSet(false, true)) {
      LOG.warn("kernel fusion {} is not available, using {} (slower, same results to rounding): {}", wanted, s.best(),
          s.reason());
    }
    return s.best();
  }

  /**
   * Builds and runs the fused ops on constants. What this can legitimately throw is TensorFlow's status as TF Java
   * maps it: building an op the runtime has not registered ("Op type not registered", INVALID_ARGUMENT), running
   * one without a kernel here (INVALID_ARGUMENT, UNIMPLEMENTED: "Fusion is not implemented"), or another status.
   * Reading the op registry up front instead would cost about half a second on a cold JVM.
   */
  private static Support probe(ConfigProto sessionConfig) {
    // One graph and session, two runs: TensorFlow only instantiates the kernels a run fetches, so a missing GELU
    // or LayerNorm kernel cannot fail the bias-only run.
    try (Graph g = new Graph(); Session s = new Session(g, sessionConfig)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = tf.constant(new float[][] {{1f}});
      Operand<TFloat32> k = tf.constant(new float[][] {{2f}});
      Operand<TFloat32> b = tf.constant(new float[] {0.5f});
      try {
        Output<TFloat32> biasOnly = fusedMatMul(tf, x, k, false, b, false);
        try (Result r = s.runner().fetch(biasOnly).run()) {
          float v = ((TFloat32) r.get(0)).getFloat(0, 0);                 // 1 * 2 + 0.5
          if (Math.abs(v - 2.5f) > 1e-4f) {
            return new Support(OFF, FUSED_MATMUL + " with BiasAdd gave " + v + " for 1*2+0.5");
          }
        }
      } catch (TensorFlowException | TFInvalidArgumentException | TFUnimplementedException e) {
        return new Support(OFF, FUSED_MATMUL + " with BiasAdd failed in TensorFlow " + TensorFlow.version() + ": "
            + e.getMessage());
      }
      try {
        Output<TFloat32> gelu = fusedMatMul(tf, x, k, false, b, true);
        Output<TFloat32> ln = layerNorm(tf, tf.constant(new float[][] {{1f, 3f}}), tf.constant(new float[] {2f, 2f}),
            tf.constant(new float[] {0.5f, 0.5f}), 1e-12f);
        try (Result r = s.runner().fetch(gelu).fetch(ln).run()) {
          float v = ((TFloat32) r.get(0)).getFloat(0, 0);                 // gelu(2.5) = 2.484476
          if (Math.abs(v - 2.48447f) > 1e-4f) {
            return new Support(BIAS_ADD, FUSED_MATMUL + " with BiasAdd and GeluExact gave " + v + " for gelu(2.5)");
          }
          TFloat32 n = (TFloat32) r.get(1);                                // (-1, 1) * 2 + 0.5
          if (Math.abs(n.getFloat(0, 0) + 1.5f) > 1e-4f || Math.abs(n.getFloat(0, 1) - 2.5f) > 1e-4f) {
            return new Support(BIAS_ADD, MKL_LAYER_NORM + " gave " + n.getFloat(0, 0) + ", " + n.getFloat(0, 1)
                + " instead of -1.5, 2.5");
          }
        }
      } catch (TensorFlowException | TFInvalidArgumentException | TFUnimplementedException e) {
        // e.g. TF_ENABLE_ONEDNN_OPTS=0 ("Fusion is not implemented"), or a build without oneDNN's ops.
        return new Support(BIAS_ADD, "oneDNN's fused kernels unavailable in TensorFlow " + TensorFlow.version()
            + " (is TF_ENABLE_ONEDNN_OPTS=0 set?): " + e.getMessage());
      }
    }
    return new Support(ONEDNN, null);
  }

  /** LayerNorm over the last axis of x [..., H] as {@code _MklLayerNorm}: (x - mean) / sqrt(var + eps) * gamma + beta. */
  static Output<TFloat32> layerNorm(Ops tf, Operand<TFloat32> x, Operand<TFloat32> gamma, Operand<TFloat32> beta,
                                    float eps) {
    return tf.scope().opBuilder(MKL_LAYER_NORM, "LayerNorm").addInput(x.asOutput()).addInput(gamma.asOutput())
        .addInput(beta.asOutput()).setAttr("T", DataType.DT_FLOAT).setAttr("epsilon", eps).build().output(0);
  }

  /**
   * {@code x · kernel + bias}, then exact GELU when {@code gelu}, as one {@code _FusedMatMul}; x [M,in], kernel
   * [in,out] (or [out,in] used transposed when {@code transposeKernel}), bias [out]; float32 or bfloat16. {@code epsilon} and
   * {@code leakyrelu_alpha} only matter for fused ops this library does not use; they are set to the defaults.
   */
  static <T extends TNumber> Output<T> fusedMatMul(Ops tf, Operand<T> x, Operand<T> kernel, boolean transposeKernel,
                                                  Operand<T> bias, boolean gelu) {
    String[] ops = gelu ? new String[] {"BiasAdd", "GeluExact"} : new String[] {"BiasAdd"};
    return tf.scope().opBuilder(FUSED_MATMUL, "MatMul")
        .addInput(x.asOutput()).addInput(kernel.asOutput()).addInputList(new Output<?>[] {bias.asOutput()})
        .setAttr("T", x.asOutput().dataType()).setAttr("transpose_a", false).setAttr("transpose_b", transposeKernel)
        .setAttr("num_args", 1L).setAttr("fused_ops", ops).setAttr("epsilon", 0.0001f)
        .setAttr("leakyrelu_alpha", 0.2f).build().output(0);
  }

  /**
   * {@code x · kernel + bias}, then exact GELU when {@code gelu}, in bfloat16, as oneDNN's fused matmul told that
   * its kernel is constant ({@code is_filter_const}): at the first run the kernel reorders the kernel once into the
   * blocked layout its AMX / AVX512-BF16 inner product reads, keeps that copy, and from then on reads only it (the
   * fed kernel tensor is read again only if a later run wanted another layout). TensorFlow's layout pass sets the
   * same attribute itself only for a {@code Const} kernel, which would put the weights into the graph; with fed
   * weights the op is built directly. Only for weights that never change while the session lives (fed inference
   * weights), never for variables. x [M,in], kernel [in,out] (or [out,in] used transposed when
   * {@code transposeKernel}), bias [out].
   */
  static Output<TBfloat16> packedMatMul(Ops tf, Operand<TBfloat16> x, Operand<TBfloat16> kernel,
                                        boolean transposeKernel, Operand<TBfloat16> bias, boolean gelu) {
    String[] ops = gelu ? new String[] {"BiasAdd", "GeluExact"} : new String[] {"BiasAdd"};
    return tf.scope().opBuilder(PACKED_MATMUL, "MatMul")
        .addInput(x.asOutput()).addInput(kernel.asOutput()).addInputList(new Output<?>[] {bias.asOutput()})
        .setAttr("T", DataType.DT_BFLOAT16).setAttr("transpose_a", false).setAttr("transpose_b", transposeKernel)
        .setAttr("num_args", 1L).setAttr("fused_ops", ops).setAttr("epsilon", 0.0001f)
        .setAttr("leakyrelu_alpha", 0.2f).setAttr("is_filter_const", true)
        .setAttr("_kernel", "MklNameChangeOp").build().output(0);
  }

  /**
   * Null when this runtime runs {@link #packedMatMul} (probed once per process on [1,2]x[2,2] in bfloat16, with
   * and without GELU, kernel fed twice), else why not: e.g. a TensorFlow build without oneDNN's ops, or oneDNN off
   * ({@code TF_ENABLE_ONEDNN_OPTS=0}). Call only where bfloat16 runs natively (see {@code Bfloat16Support}).
   */
  public static String packedUnsupported(ConfigProto sessionConfig) {
    String r = packedUnsupported;
    if (r == null) {
      r = probePacked(sessionConfig);
      packedUnsupported = r;
    }
    return r.isEmpty() ? null : r;
  }

  private static String probePacked(ConfigProto sessionConfig) {
    try (Graph g = new Graph(); Session s = new Session(g, sessionConfig)) {
      Ops tf = Ops.create(g);
      Operand<TBfloat16> x = tf.dtypes.cast(tf.constant(new float[][] {{1f, 2f}}), TBfloat16.class);
      org.tensorflow.op.core.Placeholder<TFloat32> k = tf.placeholder(TFloat32.class);
      Operand<TBfloat16> k16 = tf.dtypes.cast(k, TBfloat16.class);
      Operand<TBfloat16> b = tf.dtypes.cast(tf.constant(new float[] {0.5f, -0.5f}), TBfloat16.class);
      Operand<TFloat32> plain = tf.dtypes.cast(packedMatMul(tf, x, k16, false, b, false), TFloat32.class);
      Operand<TFloat32> gelu = tf.dtypes.cast(packedMatMul(tf, x, k16, true, b, true), TFloat32.class);
      try (TFloat32 kv = TFloat32.tensorOf(org.tensorflow.ndarray.StdArrays.ndCopyOf(
          new float[][] {{1f, 2f}, {3f, 4f}}))) {
        for (int run = 0; run < 2; run++) {
          try (Result r = s.runner().feed(k, kv).fetch(plain).fetch(gelu).run()) {
            TFloat32 p = (TFloat32) r.get(0);  // [1,2]·[[1,2],[3,4]] + b = (7.5, 9.5)
            TFloat32 q = (TFloat32) r.get(1);  // gelu([1,2]·[[1,2],[3,4]]^T + b) = gelu(5.5, 10.5)
            if (Math.abs(p.getFloat(0, 0) - 7.5f) > 0.1f || Math.abs(p.getFloat(0, 1) - 9.5f) > 0.1f
                || Math.abs(q.getFloat(0, 0) - 5.5f) > 0.1f || Math.abs(q.getFloat(0, 1) - 10.5f) > 0.1f) {
              return PACKED_MATMUL + " gave " + p.getFloat(0, 0) + ", " + p.getFloat(0, 1) + " / " + q.getFloat(0, 0)
                  + ", " + q.getFloat(0, 1) + " instead of 7.5, 9.5 / 5.5, 10.5";
            }
          }
        }
      }
    } catch (TensorFlowException | IllegalArgumentException e) {   // TF's statuses, and unregistered op types
      return PACKED_MATMUL + " is not available in TensorFlow " + TensorFlow.version() + ": " + e.getMessage();
    }
    return "";
  }
}
