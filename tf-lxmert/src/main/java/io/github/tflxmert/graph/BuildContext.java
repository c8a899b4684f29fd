package io.github.tflxmert.graph;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Set;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.types.TFloat32;

/**
 * How one LXMERT graph is built, passed to every block while it builds: which fused kernels the Dense layers and
 * LayerNorms use ({@link KernelFusion}), whether dropout is active (a training graph), and deliberate defects for
 * parity mutation tests ({@link GraphDefect}; empty outside those tests), and the compute precision: float32, or
 * mixed bfloat16 as Keras' {@code mixed_bfloat16} policy defines it. Immutable; thread-safe.
 *
 * @param fusion  the kernels Dense layers and LayerNorms are built from; {@link KernelFusion#OFF} for graphs that
 *                are exported or trained (the fused ops have no gradient and are internal to TensorFlow)
 * @param dropout dropout of a training graph, or null: no dropout ops at all (the inference graph)
 * @param defects deliberate defects, for parity mutation tests only
 * @param mixedBfloat16 false: every op in float32 (the parity path). True: Keras' {@code mixed_bfloat16} — every
 *                matmul (Dense layers, the attention batch matmuls, the LM decoder) in bfloat16 on kernels held in
 *                bfloat16 (cast once when the weights load, or from the float32 variables in an export graph),
 *                while the residual stream, LayerNorm statistics, the softmax, the mask arithmetic, embedding sums
 *                and every output stay float32; inputs and outputs are float32 either way
 * @param packedWeights only with {@code mixedBfloat16} and fed weights (the inference predictor): each bfloat16
 *                Dense and the LM decoder run as oneDNN's weight-caching inner product
 *                ({@link KernelFusion#packedMatMul}), which reorders each kernel once, at the first run, into the
 *                blocked layout its AMX / AVX512-BF16 kernels read, and keeps that copy; false: MatMul + BiasAdd,
 *                which packs the kernel again on every run but holds no second copy of it
 */
public record BuildContext(KernelFusion fusion, Dropout dropout, Set<GraphDefect> defects, boolean mixedBfloat16,
                           boolean packedWeights) {
  private static final BuildContext KERAS = new BuildContext(KernelFusion.OFF, null, Set.of(), false, false);

  public BuildContext {
    Objects.requireNonNull(fusion, "fusion");
    defects = Set.copyOf(defects);
    if (packedWeights && (!mixedBfloat16 || fusion == KernelFusion.OFF)) {
      throw new IllegalArgumentException("packed weights are oneDNN's bfloat16 kernels: they need mixedBfloat16 and "
          + "kernel fusion on (found mixedBfloat16 " + mixedBfloat16 + ", fusion " + fusion + ")");
    }
  }

  /** A float32 context. */
  public BuildContext(KernelFusion fusion, Dropout dropout, Set<GraphDefect> defects) {
    this(fusion, dropout, defects, false, false);
  }

  /** Keras' own ops, no dropout, no defect: the graph the exporter writes and the trainer trains without dropout. */
  public static BuildContext keras() {
    return KERAS;
  }

  /** The inference graph with the given kernels. */
  public static BuildContext inference(KernelFusion fusion) {
    return new BuildContext(fusion, null, Set.of());
  }

  public BuildContext withDropout(Dropout d) {
    return new BuildContext(fusion, d, defects, mixedBfloat16, packedWeights);
  }

  /** This context computing in mixed bfloat16 ({@code on}) or float32 (then without packed weights). */
  public BuildContext withMixedBfloat16(boolean on) {
    return new BuildContext(fusion, dropout, defects, on, on && packedWeights);
  }

  /** This mixed-bfloat16 context with its kernels packed once ({@code on}; see {@link #packedWeights}) or not. */
  public BuildContext withPackedWeights(boolean on) {
    return new BuildContext(fusion, dropout, defects, mixedBfloat16, on);
  }

  /** This context with {@code d} built in; for parity mutation tests only. */
  public BuildContext withDefects(Set<GraphDefect> d) {
    return new BuildContext(fusion, dropout, d, mixedBfloat16, packedWeights);
  }

  public boolean has(GraphDefect defect) {
    return defects.contains(defect);
  }

  /** {@code x} with dropout at {@code rate} in a training graph; {@code x} itself otherwise. */
  Operand<TFloat32> dropout(Ops tf, Operand<TFloat32> x, float rate) {
    return dropout == null ? x : dropout.apply(tf, x, rate);
  }

  /**
   * Keras Dropout for a training graph: {@code x × (1 / (1 - rate)) × (u >= rate)}, u uniform in [0,1). Each
   * dropout site gets its own seed2, a hash of its op name (unique in the graph), so the masks depend only on
   * {@code seed} and the site, not on any counter kept while building. Rates come from the config
   * (hidden_dropout_prob after the embeddings, the visual encoder, every attention-output and FFN-output dense;
   * attention_probs_dropout_prob on attention probabilities). The heads have no dropout, as in HF.
   */
  public record Dropout(long seed) {
    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, float rate) {
      if (rate <= 0f) {
        return x;
      }
      Ops site = tf.withSubScope("dropout");
      long seed2 = fnv1a(site.scope().makeOpName("site"));
      Operand<TFloat32> u = site.random.randomUniform(site.shape(x), TFloat32.class, RandomUniform.seed(seed),
          RandomUniform.seed2(seed2));
      Operand<TFloat32> keep = site.dtypes.cast(site.math.greaterEqual(u, site.constant(rate)), TFloat32.class);
      return site.math.mul(site.math.mul(x, site.constant(1f / (1f - rate))), keep);
    }

    /** 64-bit FNV-1a of the UTF-8 bytes: stable across JVMs, unlike String.hashCode's 32 bits. */
    private static long fnv1a(String s) {
      long h = 0xcbf29ce484222325L;
      for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
        h = (h ^ (b & 0xff)) * 0x100000001b3L;
      }
      return h;
    }
  }
}
