package io.github.tflxmert.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lxmert bench}: one measurement of one variant, printed as one JSON line (bench/bench.sh runs each
 * variant in its own JVM and prints the table against Python).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Measure one variant: runtime start, checkpoint load, first call (together: checkpoint to first "
        + "result), second-call latency, steady-state "
        + "p50/p90 latency, throughput and peak resident memory; prints one JSON line. Use bench/bench.sh for the "
        + "full comparison with Python.", "",
        "Example: ./lxmert bench --model DIR --variant graph --batch 8 --threads 2"})
final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @picocli.CommandLine.Mixin Common.PrecisionOption precision;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory (for "
      + "saved-model variants: a SavedModel directory).")
  Path model;
  @Option(names = "--variant", required = true, description = "graph | graph-no-lm (skips the LM head) | "
      + "graph-grappler (TensorFlow's graph optimizer on) | graph-unfused (Dense and LayerNorm as Keras' separate ops) | "
      + "graph-xla (needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit) | graph-bf16 (mixed bfloat16, casts in the graph, "
      + "kernels packed once by oneDNN) | graph-bf16-unpacked (the same, MatMul + BiasAdd packing them on every call) | "
      + "graph-bf16-rewrite (the float32 graph under Grappler's oneDNN bfloat16 rewrite; -unfused: on Keras' separate "
      + "ops) | saved-model")
  String variant;
  @Option(names = "--config", paramLabel = "FILE", description = "config.json (saved-model variants).")
  Path config;
  @Option(names = "--batch", defaultValue = "1")
  int batch;
  @Option(names = "--text", defaultValue = "20")
  int text;
  @Option(names = "--regions", defaultValue = "36")
  int regions;
  @Option(names = "--threads", defaultValue = "2", description = "intra- and inter-op threads (as in Python).")
  int threads;
  @Option(names = "--profile", description = "graph variants: after timing, one traced call; prints the time per "
      + "op type (summed over the ops, which run in parallel) to stderr.")
  boolean profile;
  @Option(names = "--inter-op-threads", paramLabel = "N", description = "inter-op threads if not --threads.")
  Integer interThreads;
  @Option(names = "--iters", defaultValue = "20")
  int iters;
  @Option(names = "--warmup", defaultValue = "3")
  int warmup;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(false);
    // Loading TensorFlow's native runtime is timed on its own, as Python's "import tensorflow" is.
    long ti = System.nanoTime();
    org.tensorflow.TensorFlow.version();
    double init = (System.nanoTime() - ti) / 1e9;
    long t0 = System.nanoTime();
    LoadOptions opts = LoadOptions.defaults()
        .withThreads(threads, interThreads == null ? threads : interThreads).withXla(variant.equals("graph-xla"))
        .withGraphOptimizer(variant.equals("graph-grappler"))
        .withKernelFusion(variant.equals("graph-unfused") || variant.equals("graph-bf16-rewrite-unfused")
            ? KernelFusion.OFF : KernelFusion.ONEDNN)
        .withPrecision(variant.equals("graph-bf16") || variant.equals("graph-bf16-unpacked")
            ? io.github.tflxmert.Precision.BFLOAT16 : precision.precision)
        .withWeightPacking(!variant.equals("graph-bf16-unpacked"));
    if (variant.startsWith("graph-bf16-rewrite")) {   // the measured alternative: Grappler's oneDNN bf16 rewrite
      opts = opts.toBuilder().precision(io.github.tflxmert.Precision.FLOAT32).onednnBfloat16Rewrite(true).build();
    }
    try (LxmertPredictor m = variant.equals("saved-model")
        ? SavedModelPredictor.builder(model).config(LxmertConfig.fromJsonFile(config)).intraOpThreads(threads).interOpThreads(threads).open()
        : LxmertForPreTraining.fromPretrained(model, opts)) {
      double load = (System.nanoTime() - t0) / 1e9;
      long tf = System.nanoTime();
      LxmertConfig c = m.config();
      LxmertInputs in = inputs(c);
      List<String> wanted = new ArrayList<>(List.of(OutputNames.CROSS_RELATIONSHIP_SCORE,
          OutputNames.QUESTION_ANSWERING_SCORE));
      if (!variant.equals("graph-no-lm")) {
        wanted.add(0, OutputNames.PREDICTION_LOGITS);
      }
      OutputSelection sel = OutputSelection.of(wanted);
      m.predict(in, sel);
      double first = (System.nanoTime() - tf) / 1e9;
      long t1 = System.nanoTime();
      m.predict(in, sel);
      double second = (System.nanoTime() - t1) / 1e9;
      for (int i = 0; i < warmup; i++) {
        m.predict(in, sel);
      }
      double[] ms = new double[iters];
      for (int i = 0; i < iters; i++) {
        long t = System.nanoTime();
        m.predict(in, sel);
        ms[i] = (System.nanoTime() - t) / 1e6;
      }
      double[] sorted = ms.clone();
      Arrays.sort(sorted);
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("side", "java").put("variant", variant).put("batch", batch).put("runtime_init_s", init).put("load_s", load)
          .put("first_call_s", first).put("load_to_first_result_s", init + load + first)
          .put("second_call_s", second).put("p50_ms", pct(sorted, 50)).put("p90_ms", pct(sorted, 90))
          .put("p99_ms", pct(sorted, 99))
          .put("min_ms", sorted[0]).put("max_ms", sorted[sorted.length - 1]).put("iters", iters)
          .put("throughput_eps", batch / (pct(sorted, 50) / 1e3)).put("peak_rss_mb", peakRssMb());
      if (m instanceof io.github.tflxmert.GraphPredictor g) {
        o.put("precision", variant.startsWith("graph-bf16-rewrite") ? "bf16-rewrite" : g.precision().shortName());
        o.put("weights_bytes", g.loadPlan().totalBytes());
        o.put("weights_packed", g.weightsPacked());
      }
      spec.commandLine().getOut().println(o.toString());
      if (profile && m instanceof io.github.tflxmert.GraphPredictor g) {
        List<io.github.tflxmert.GraphPredictor.OpTime> ops = g.profile(in, sel);
        long total = ops.stream().mapToLong(io.github.tflxmert.GraphPredictor.OpTime::micros).sum();
        spec.commandLine().getErr().printf(java.util.Locale.ROOT, "profile (one traced call; op time summed, "
            + "%.1f ms over %d op types):%n", total / 1e3, ops.size());
        for (io.github.tflxmert.GraphPredictor.OpTime t : ops.subList(0, Math.min(25, ops.size()))) {
          spec.commandLine().getErr().printf(java.util.Locale.ROOT, "  %9.2f ms %5.1f %% %5d x %s%n", t.micros() / 1e3,
              100.0 * t.micros() / total, t.count(), t.type());
        }
      }
    }
    return 0;
  }

  private LxmertInputs inputs(LxmertConfig c) {
    Random r = new Random(1);
    int[][] ids = new int[batch][text];
    for (int[] row : ids) {
      for (int i = 0; i < text; i++) {
        row[i] = 5 + r.nextInt(c.vocabSize() - 5);
      }
    }
    float[] f = new float[batch * regions * c.visualFeatDim()];
    for (int i = 0; i < f.length; i++) {
      f[i] = r.nextFloat();
    }
    float[] b = new float[batch * regions * 4];
    for (int i = 0; i < b.length; i += 4) {
      b[i] = 0.1f;
      b[i + 1] = 0.2f;
      b[i + 2] = 0.5f;
      b[i + 3] = 0.9f;
    }
    return LxmertInputs.builder().inputIds(ids)
        .visualFeats(new FloatArray(new long[] {batch, regions, c.visualFeatDim()}, f))
        .visualPos(new FloatArray(new long[] {batch, regions, 4}, b))
        .visualAttentionMask(io.github.tflxmert.array.IntArray.filled(batch, regions, 1)).build();
  }

  static double pct(double[] sorted, int p) {
    double pos = (sorted.length - 1) * p / 100.0;
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  static double peakRssMb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("\\D+", "")) / 1024.0;
      }
    }
    return Double.NaN;
  }
}
