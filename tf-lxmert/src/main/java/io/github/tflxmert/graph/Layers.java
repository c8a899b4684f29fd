package io.github.tflxmert.graph;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TType;

/**
 * The Keras building blocks with the exact op order of tf-keras 2.18, so results match Python to the ulp
 * where the kernels allow, or, where {@link KernelFusion} says so, the same computation as one TensorFlow kernel
 * ("fused": that and nothing else). Shapes: x [..., in] → [..., out]. Stateless; thread-safe.
 */
public final class Layers {
  private Layers() {}

  /**
   * A Keras Dense layer's weights: kernel [in, out] and bias [out], under {@code path}, and the kernels it runs as
   * ({@link KernelFusion#OFF} for graphs that are exported or trained). With {@code kernel16} (mixed bfloat16, see
   * {@link BuildContext#mixedBfloat16()}) the matmul, its bias add and a fused activation run in bfloat16 on the
   * bfloat16 kernel and the output is cast back to float32, as Keras' {@code mixed_bfloat16} policy computes a
   * Dense; {@code kernel16} is null in a float32 graph (and {@code kernel} is then the only kernel used).
   * {@code packed} (mixed bfloat16 with fed weights only, see {@link BuildContext#packedWeights()}): the matmul, bias
   * and an exact GELU as oneDNN's weight-caching kernel ({@link KernelFusion#packedMatMul}). {@code bias16}: the
   * bias held in bfloat16 like the kernel (cast once at load with fed weights), or null (then {@code bias} is cast
   * on every call).
   */
  public record Dense(Operand<TFloat32> kernel, Operand<TFloat32> bias, long in, long out, KernelFusion fusion,
                      Operand<TBfloat16> kernel16, boolean packed, Operand<TBfloat16> bias16) {
    /** A float32 Dense on these weights. */
    public Dense(Operand<TFloat32> kernel, Operand<TFloat32> bias, long in, long out, KernelFusion fusion) {
      this(kernel, bias, in, out, fusion, null, false, null);
    }

    /** A mixed-bfloat16 Dense ({@code kernel16}; {@code kernel} null) as MatMul + BiasAdd, kernel not packed. */
    public Dense(Operand<TFloat32> kernel, Operand<TFloat32> bias, long in, long out, KernelFusion fusion,
                 Operand<TBfloat16> kernel16) {
      this(kernel, bias, in, out, fusion, kernel16, false, null);
    }

    /** A float32 Dense. */
    public static Dense create(ModelScope ms, String path, long in, long out, KernelFusion fusion) {
      return new Dense(ms.weight(path, "kernel", in, out), ms.weight(path, "bias", out), in, out, fusion, null, false,
          null);
    }

    /** A Dense built as {@code ctx} says: float32, or mixed bfloat16 with its kernel held in bfloat16. */
    public static Dense create(ModelScope ms, String path, long in, long out, BuildContext ctx) {
      if (!ctx.mixedBfloat16()) {
        return create(ms, path, in, out, ctx.fusion());
      }
      if (ctx.packedWeights() && !ms.fedWeights()) {
        throw new IllegalStateException("packed bfloat16 kernels need fed weights (they must never change): " + path);
      }
      return new Dense(null, null, in, out, ctx.fusion(), ms.weightBfloat16(path, "kernel", in, out),
          ctx.packedWeights(), ms.weightBfloat16(path, "bias", out));
    }

    /**
     * Keras Dense: rank 2 → MatMul + BiasAdd; higher rank → tensordot (reshape to [-1, in], MatMul, reshape to
     * [..., out]) + BiasAdd.
     */
    public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
      return apply(tf, x, null);
    }

    /**
     * {@code activation(Dense(x))} ({@code activation} an HF {@code hidden_act} name, or null for none). Fused:
     * [-1, in] → one {@code _FusedMatMul} (bias, and exact GELU with {@link KernelFusion#ONEDNN}) → [..., out],
     * then any activation not fused. Mixed bfloat16: x cast to bfloat16, the same ops in bfloat16, the result cast
     * back to float32.
     */
    public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, String activation) {
      if (kernel16 != null) {
        return tf.dtypes.cast(apply16(tf, tf.dtypes.cast(x, TBfloat16.class), activation), TFloat32.class);
      }
      int rank = x.shape().numDimensions();
      Operand<TFloat32> flat = rank == 2 ? x : tf.reshape(x, tf.constant(new int[] {-1, (int) in})); // [M, in]
      if (fusion == KernelFusion.OFF) {
        Operand<TFloat32> y = tf.nn.biasAdd(unflatten(tf, x, rank, tf.linalg.matMul(flat, kernel)), bias);
        return activation == null ? y : activation(tf, activation, y);
      }
      boolean gelu = "gelu".equals(activation) && fusion == KernelFusion.ONEDNN;
      Operand<TFloat32> y = unflatten(tf, x, rank, KernelFusion.fusedMatMul(tf, flat, kernel, false, bias, gelu));
      return activation == null || gelu ? y : activation(tf, activation, y);
    }

    /**
     * The mixed-bfloat16 Dense on a bfloat16 input, bfloat16 out ({@code x} [..., in] → [..., out]): the bias is
     * cast to bfloat16 and added in bfloat16, as Keras does under {@code mixed_bfloat16}. Only for a Dense made
     * with a {@link BuildContext#mixedBfloat16()} context. Unfused at every fusion level (see the body); the
     * activation, if any, in float32 ({@link #activation16}).
     */
    public Operand<TBfloat16> apply16(Ops tf, Operand<TBfloat16> x, String activation) {
      if (kernel16 == null) {
        throw new IllegalStateException("apply16 on a float32 Dense");
      }
      int rank = x.shape().numDimensions();
      Operand<TBfloat16> flat = rank == 2 ? x : tf.reshape(x, tf.constant(new int[] {-1, (int) in})); // [M, in]
      Operand<TBfloat16> b = bias16 != null ? bias16 : tf.dtypes.cast(bias, TBfloat16.class);
      if (packed) {   // oneDNN's inner product on the kernel it packed once (AMX brgemm where the CPU has it)
        boolean gelu = "gelu".equals(activation);
        Operand<TBfloat16> y = unflatten(tf, x, rank, KernelFusion.packedMatMul(tf, flat, kernel16, false, b, gelu));
        return activation == null || gelu ? y : activation16(tf, activation, y);
      }
      // Not packed: MatMul then BiasAdd, never _FusedMatMul, whatever the fusion level: oneDNN runs a bfloat16 _FusedMatMul as
      // an inner product on the fed (plain-layout) kernel, which it can only give its AVX512-BF16 gemm ("gemm:jit"),
      // while a bfloat16 MatMul is oneDNN's matmul primitive, which runs on AMX (brg_matmul) where the CPU has it.
      // Measured (README, bfloat16 speed): [448,768]x[768,3072] Dense chain 1.5-2x faster on AMX, no slower capped
      // at AVX512_CORE_BF16.
      Operand<TBfloat16> y = tf.nn.biasAdd(unflatten(tf, x, rank, tf.linalg.matMul(flat, kernel16)), b);
      return activation == null ? y : activation16(tf, activation, y);
    }

    /** An activation not fused, computed in float32 and rounded back to bfloat16. */
    private static Operand<TBfloat16> activation16(Ops tf, String name, Operand<TBfloat16> y) {
      return tf.dtypes.cast(activation(tf, name, tf.dtypes.cast(y, TFloat32.class)), TBfloat16.class);
    }

    /** y [M, out] → [..., out] with x's leading dimensions (y itself when x has rank 2). */
    private <T extends TType> Operand<T> unflatten(Ops tf, Operand<?> x, int rank, Operand<T> y) {
      if (rank == 2) {
        return y;
      }
      Operand<TInt32> dims = tf.shape(x);                                                      // [rank]
      Operand<TInt32> lead = tf.slice(dims, tf.constant(new int[] {0}), tf.constant(new int[] {rank - 1}));
      return tf.reshape(y, tf.concat(List.of(lead, tf.constant(new int[] {(int) out})), tf.constant(0)));
    }
  }

  /**
   * A Keras LayerNormalization's weights: gamma [H], beta [H], its epsilon, and the kernels it runs as (one
   * {@code _MklLayerNorm} with {@link KernelFusion#ONEDNN}; Keras' ops with any other level).
   */
  public record LayerNorm(Operand<TFloat32> gamma, Operand<TFloat32> beta, float eps, KernelFusion fusion) {
    public static LayerNorm create(ModelScope ms, String path, long size, float eps, KernelFusion fusion) {
      return new LayerNorm(ms.weight(path, "gamma", size), ms.weight(path, "beta", size), eps, fusion);
    }

    /**
     * Normalizes over the last axis. Fused ({@link KernelFusion#ONEDNN}): one {@code _MklLayerNorm}. Otherwise
     * Keras' own ops, which Keras chooses by epsilon: below 1.001e-5 (LXMERT's 1e-12, in every published
     * checkpoint) tf.nn.moments then tf.nn.batch_normalization, op for op; from 1.001e-5 up, Keras' batch-norm
     * route ({@link #viaBatchNorm}).
     */
    public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
      if (fusion == KernelFusion.ONEDNN) {
        return KernelFusion.layerNorm(tf, x, gamma, beta, eps);
      }
      if (eps >= 1.001e-5f) {
        return viaBatchNorm(tf, x);
      }
      Operand<TInt32> last = tf.constant(new int[] {-1});
      Operand<TFloat32> mean = tf.math.mean(x, last, Mean.keepDims(true));
      Operand<TFloat32> var = tf.math.mean(tf.math.squaredDifference(x, tf.stopGradient(mean)), last,
          Mean.keepDims(true));
      Operand<TFloat32> inv = tf.math.mul(tf.math.rsqrt(tf.math.add(var, tf.constant(eps))), gamma);
      return tf.math.add(tf.math.mul(x, inv), tf.math.sub(beta, tf.math.mul(mean, inv)));
    }

    /**
     * Keras' route for eps &ge; 1.001e-5: x reshaped to NCHW [1, rows, H, 1], FusedBatchNormV3 (TensorFlow's
     * batch-norm op, whatever its name says) with unit scale and zero offset in training mode (batch statistics),
     * reshaped back, then {@code * gamma + beta}.
     */
    private Operand<TFloat32> viaBatchNorm(Ops tf, Operand<TFloat32> x) {
      Operand<TInt32> dims = tf.shape(x);
      Operand<TInt32> rows = tf.reduceProd(tf.slice(dims, tf.constant(new int[] {0}),
          tf.constant(new int[] {x.shape().numDimensions() - 1})), tf.constant(0));
      Operand<TInt32> width = tf.reduceProd(tf.slice(dims, tf.constant(new int[] {x.shape().numDimensions() - 1}),
          tf.constant(new int[] {1})), tf.constant(0));
      Operand<TFloat32> nchw = tf.reshape(x, tf.stack(List.of(tf.constant(1), rows, width, tf.constant(1))));
      Operand<TFloat32> ones = tf.fill(tf.expandDims(rows, tf.constant(0)), tf.constant(1f));
      Operand<TFloat32> zeros = tf.fill(tf.expandDims(rows, tf.constant(0)), tf.constant(0f));
      var bn = tf.nn.fusedBatchNorm(nchw, ones, zeros, tf.constant(new float[0]), tf.constant(new float[0]),
          org.tensorflow.op.nn.FusedBatchNorm.epsilon(eps),
          org.tensorflow.op.nn.FusedBatchNorm.dataFormat("NCHW"), org.tensorflow.op.nn.FusedBatchNorm.isTraining(true));
      Operand<TFloat32> y = tf.reshape(bn.y(), dims);
      return tf.math.add(tf.math.mul(y, gamma), beta);
    }
  }

  /** Activations by HF name ({@code hidden_act}); "gelu" is the exact erf form of tf.nn.gelu. */
  public static Operand<TFloat32> activation(Ops tf, String name, Operand<TFloat32> x) {
    return switch (name) {
      case "gelu" -> tf.math.mul(tf.math.mul(tf.constant(0.5f), x),
          tf.math.add(tf.constant(1f), tf.math.erf(tf.math.div(x, tf.constant(1.4142135623730951f)))));
      case "gelu_new" -> tf.math.mul(tf.math.mul(tf.constant(0.5f), x), tf.math.add(tf.constant(1f),
          tf.math.tanh(tf.math.mul(tf.constant(0.7978845608028654f),
              tf.math.add(x, tf.math.mul(tf.constant(0.044715f), tf.math.pow(x, tf.constant(3f))))))));
      case "relu" -> tf.nn.relu(x);
      case "tanh" -> tf.math.tanh(x);
      case "sigmoid" -> tf.math.sigmoid(x);
      case "silu", "swish" -> tf.math.mul(x, tf.math.sigmoid(x));
      default -> throw new IllegalArgumentException("config field hidden_act: unsupported activation " + name);
    };
  }
}
