package io.github.tflxmert;

import io.github.tflxmert.graph.GraphDefect;
import io.github.tflxmert.graph.KernelFusion;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * How to open a model: which checkpoint file (default: the one HF would pick in the model directory), session
 * thread pools (0 = TensorFlow's default; note TensorFlow fixes the intra-op pool for the whole process at the
 * first session), a progress callback receiving bytes loaded, and how the graph is built. Start from
 * {@link #defaults()} and change what you need ({@code LoadOptions.defaults().withThreads(4, 1)}), or use
 * {@link #builder()}. Immutable; thread-safe.
 *
 * @param weightFile           checkpoint to load instead of the directory's default, or null
 * @param intraOpThreads       threads inside one op, 0 = TensorFlow default
 * @param interOpThreads       ops run in parallel, 0 = TensorFlow default
 * @param progress             called with the bytes loaded so far and the total, or null
 * @param xla                  opt-in XLA auto-clustering (global_jit_level ON_1). On CPU TensorFlow only compiles
 *                             when the environment variable {@code TF_XLA_FLAGS=--tf_xla_cpu_global_jit} was set
 *                             before the JVM loaded TensorFlow; results then differ from the reference by rounding
 *                             (re-check parity with {@code lxmert parity --xla}). XLA has no kernel for the fused
 *                             ops, so it builds the graph unfused
 * @param graphOptimizer       run TensorFlow's graph optimizer (Grappler) on the session's graphs. Off by default:
 *                             on LXMERT it did not make inference faster on CPU (bench/bench.sh, variants graph and
 *                             graph-grappler; README) while the first call, which it optimizes over the whole
 *                             6,700-op graph, takes over a second longer. Results differ from those with it off by
 *                             rounding only (both pass parity)
 * @param kernelFusion         which fused kernels the inference graph's Dense layers and LayerNorms use
 *                             ({@link KernelFusion}; default {@link KernelFusion#ONEDNN}, {@link KernelFusion#OFF}
 *                             for Keras' separate ops). A runtime that lacks them gets the most it has, logged once
 *                             at WARN, unless {@code kernelFusionRequired}
 * @param kernelFusionRequired fail to load (UnsupportedOperationException naming the reason) instead of falling back
 *                             when the runtime cannot run {@code kernelFusion}
 * @param defects              deliberate graph defects, for parity mutation tests only (empty; see
 *                             {@link #withDefectsForTesting})
 * @param precision            {@link Precision#FLOAT32} (default: unchanged numerics, the parity path),
 *                             {@link Precision#BFLOAT16} (Keras' mixed_bfloat16 written into the graph as casts;
 *                             fails to load on a CPU without bfloat16 instructions) or {@link Precision#AUTO}
 * @param onednnBfloat16Rewrite the measured alternative to {@link Precision#BFLOAT16}, kept for the benchmark
 *                             ({@code lxmert bench --variant graph-bf16-rewrite}): the float32 graph, with
 *                             TensorFlow's Grappler pass {@code auto_mixed_precision_onednn_bfloat16} inserting the
 *                             casts at the first run (turns the graph optimizer on; weights stay float32 and are
 *                             cast on every run). Needs {@code precision} FLOAT32
 * @param weightPacking        bfloat16 only (default true): each bfloat16 Dense and the LM decoder run as oneDNN's
 *                             weight-caching kernel, which packs each kernel once, at the first call, into the
 *                             blocked layout its AMX / AVX512-BF16 kernels read and keeps that copy (faster at
 *                             every batch size; the bfloat16 weights are then held twice, about the float32
 *                             weights' size). False: MatMul + BiasAdd, which packs them again on every call but
 *                             holds them once. Falls back to false, logged once, where the runtime lacks the kernel
 */
public record LoadOptions(Path weightFile, int intraOpThreads, int interOpThreads, Progress progress, boolean xla,
                          boolean graphOptimizer, KernelFusion kernelFusion, boolean kernelFusionRequired,
                          Set<GraphDefect> defects, Precision precision, boolean onednnBfloat16Rewrite,
                          boolean weightPacking) {
  private static final LoadOptions DEFAULTS = builder().build();

  public LoadOptions {
    Objects.requireNonNull(kernelFusion, "kernelFusion");
    defects = Set.copyOf(defects);
    Objects.requireNonNull(precision, "precision");
    if (onednnBfloat16Rewrite && precision != Precision.FLOAT32) {
      throw new IllegalArgumentException("LoadOptions: the oneDNN bfloat16 rewrite works on the float32 graph; "
          + "precision " + precision + " already computes in bfloat16, drop one of them");
    }
    if (xla && kernelFusionRequired && kernelFusion != KernelFusion.OFF) {
      throw new IllegalArgumentException("LoadOptions: kernel fusion " + kernelFusion + " is required, but XLA "
          + "builds the graph without fused kernels; drop one of withXla(true) and withKernelFusionRequired()");
    }
  }

  /** Load progress: bytes done out of total. */
  @FunctionalInterface
  public interface Progress {
    void update(long done, long total);
  }

  /** The directory's checkpoint, TensorFlow's thread pools, no XLA, no graph optimizer, oneDNN kernel fusion. */
  public static LoadOptions defaults() {
    return DEFAULTS;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options. */
  public Builder toBuilder() {
    return new Builder().weightFile(weightFile).threads(intraOpThreads, interOpThreads).progress(progress).xla(xla)
        .graphOptimizer(graphOptimizer).kernelFusion(kernelFusion).kernelFusionRequired(kernelFusionRequired)
        .defects(defects).precision(precision).onednnBfloat16Rewrite(onednnBfloat16Rewrite)
        .weightPacking(weightPacking);
  }

  public LoadOptions withWeightFile(Path f) {
    return toBuilder().weightFile(f).build();
  }

  public LoadOptions withThreads(int intra, int inter) {
    return toBuilder().threads(intra, inter).build();
  }

  public LoadOptions withProgress(Progress p) {
    return toBuilder().progress(p).build();
  }

  public LoadOptions withXla(boolean on) {
    return toBuilder().xla(on).build();
  }

  public LoadOptions withGraphOptimizer(boolean on) {
    return toBuilder().graphOptimizer(on).build();
  }

  /** The fused kernels to use ({@link KernelFusion#OFF}: Keras' separate ops). */
  /** The compute precision ({@link Precision}). */
  public LoadOptions withPrecision(Precision p) {
    return toBuilder().precision(p).build();
  }

  /** Whether bfloat16 kernels are packed once and kept packed ({@link #weightPacking()}; default true). */
  public LoadOptions withWeightPacking(boolean on) {
    return toBuilder().weightPacking(on).build();
  }

  public LoadOptions withKernelFusion(KernelFusion fusion) {
    return toBuilder().kernelFusion(fusion).build();
  }

  /** Fail to load instead of falling back when the runtime cannot run {@link #kernelFusion()}. */
  public LoadOptions withKernelFusionRequired() {
    return toBuilder().kernelFusionRequired(true).build();
  }

  /**
   * These options with deliberate defects built into the graph. <b>For parity mutation tests only</b>: a model
   * loaded with any defect computes wrong outputs on purpose, so a parity suite can show it would catch the bug.
   */
  public LoadOptions withDefectsForTesting(Set<GraphDefect> d) {
    return toBuilder().defects(d).build();
  }

  LongConsumer progressFor(long total) {
    return progress == null ? null : done -> progress.update(done, total);
  }

  /** Builds {@link LoadOptions}; starts from the defaults. Not thread-safe. */
  public static final class Builder {
    private Path weightFile;
    private int intraOpThreads;
    private int interOpThreads;
    private Progress progress;
    private boolean xla;
    private boolean graphOptimizer;
    private KernelFusion kernelFusion = KernelFusion.ONEDNN;
    private boolean kernelFusionRequired;
    private Set<GraphDefect> defects = Set.of();
    private Precision precision = Precision.FLOAT32;
    private boolean onednnBfloat16Rewrite;
    private boolean weightPacking = true;

    private Builder() {}

    /** See {@link LoadOptions#weightPacking()}. */
    public Builder weightPacking(boolean on) {
      weightPacking = on;
      return this;
    }

    public Builder precision(Precision p) {
      precision = p;
      return this;
    }

    /** See {@link LoadOptions#onednnBfloat16Rewrite()}: for benchmarks. */
    public Builder onednnBfloat16Rewrite(boolean on) {
      onednnBfloat16Rewrite = on;
      return this;
    }

    public Builder weightFile(Path f) {
      weightFile = f;
      return this;
    }

    public Builder threads(int intra, int inter) {
      intraOpThreads = intra;
      interOpThreads = inter;
      return this;
    }

    public Builder progress(Progress p) {
      progress = p;
      return this;
    }

    public Builder xla(boolean on) {
      xla = on;
      return this;
    }

    public Builder graphOptimizer(boolean on) {
      graphOptimizer = on;
      return this;
    }

    public Builder kernelFusion(KernelFusion f) {
      kernelFusion = f;
      return this;
    }

    public Builder kernelFusionRequired(boolean on) {
      kernelFusionRequired = on;
      return this;
    }

    /** Only through {@link LoadOptions#withDefectsForTesting}. */
    private Builder defects(Set<GraphDefect> d) {
      defects = d;
      return this;
    }

    public LoadOptions build() {
      return new LoadOptions(weightFile, intraOpThreads, interOpThreads, progress, xla, graphOptimizer, kernelFusion,
          kernelFusionRequired, defects, precision, onednnBfloat16Rewrite, weightPacking);
    }
  }
}
