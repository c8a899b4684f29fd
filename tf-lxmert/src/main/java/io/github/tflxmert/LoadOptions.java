package io.github.tflxmert;

import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * How to open a model: which checkpoint file (default: the one HF would pick in the model directory), session
 * thread pools (0 = TensorFlow's default; note TensorFlow fixes the intra-op pool for the whole process at the
 * first session), and a progress callback receiving bytes loaded. Immutable.
 *
 * @param weightFile     checkpoint to load instead of the directory's default, or null
 * @param intraOpThreads threads inside one op, 0 = TensorFlow default
 * @param interOpThreads ops run in parallel, 0 = TensorFlow default
 * @param progress       called with the bytes loaded so far and the total, or null
 * @param xla            opt-in XLA auto-clustering (global_jit_level ON_1). On CPU TensorFlow only compiles when
 *                       the environment variable {@code TF_XLA_FLAGS=--tf_xla_cpu_global_jit} was set before the
 *                       JVM loaded TensorFlow; results then differ from the reference by rounding (re-check parity
 *                       with {@code lxmert parity --xla})
 * @param graphOptimizer run TensorFlow's graph optimizer (Grappler) on the session's graphs. Off by default:
 *                       on LXMERT it did not make inference faster on CPU (bench/bench.sh, variants graph and
 *                       graph-grappler; README) while the first call, which it optimizes over the whole 6,700-op
 *                       graph, takes over a second longer. Results differ from those with it off by rounding only
 *                       (both pass parity)
 * @param fusedKernels   run each Dense layer's MatMul, bias add and (exact GELU) activation as one TensorFlow kernel
 *                       ({@code _FusedMatMul}) in the inference graph; on by default, ignored with XLA. See
 *                       {@link io.github.tflxmert.graph.KernelFusion}
 */
public record LoadOptions(Path weightFile, int intraOpThreads, int interOpThreads, Progress progress, boolean xla,
                          boolean graphOptimizer, boolean fusedKernels) {

  /** Load progress: bytes done out of total. */
  @FunctionalInterface
  public interface Progress {
    void update(long done, long total);
  }

  public static LoadOptions defaults() {
    return new LoadOptions(null, 0, 0, null, false, false, true);
  }

  public LoadOptions withWeightFile(Path f) {
    return new LoadOptions(f, intraOpThreads, interOpThreads, progress, xla, graphOptimizer, fusedKernels);
  }

  public LoadOptions withThreads(int intra, int inter) {
    return new LoadOptions(weightFile, intra, inter, progress, xla, graphOptimizer, fusedKernels);
  }

  public LoadOptions withProgress(Progress p) {
    return new LoadOptions(weightFile, intraOpThreads, interOpThreads, p, xla, graphOptimizer, fusedKernels);
  }

  public LoadOptions withXla(boolean on) {
    return new LoadOptions(weightFile, intraOpThreads, interOpThreads, progress, on, graphOptimizer, fusedKernels);
  }

  public LoadOptions withGraphOptimizer(boolean on) {
    return new LoadOptions(weightFile, intraOpThreads, interOpThreads, progress, xla, on, fusedKernels);
  }

  public LoadOptions withFusedKernels(boolean on) {
    return new LoadOptions(weightFile, intraOpThreads, interOpThreads, progress, xla, graphOptimizer, on);
  }

  LongConsumer progressFor(long total) {
    return progress == null ? null : done -> progress.update(done, total);
  }
}
