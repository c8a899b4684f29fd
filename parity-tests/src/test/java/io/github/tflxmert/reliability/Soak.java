package io.github.tflxmert.reliability;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.parity.LxmertReference;
import io.github.tflxmert.training.RandomWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Leak soak on one model directory: (1) N predict calls on one instance, cycling through input batches and
 * through output selections (the heads; every output), printing resident memory (VmRSS from /proc/self/status)
 * every {@code min(1000, N/10)} calls and the growth from the end of the warm-up to the end; (2) M cycles of
 * open, one predict, close, printing RSS every {@code M/10} cycles and the growth per cycle after the first tenth.
 *
 * <p>Command line (from parity-tests/; scripts/soak.sh does this, with a fixed, pre-touched heap so that Java heap
 * growth does not show up as resident growth):
 * <ul>
 *   <li>{@code Soak [calls=10000] [cycles=200] [warmup=1000]}: the tiny fixture model and its reference cases
 *       (batch 1 to 3);
 *   <li>{@code Soak --model DIR [calls=200] [cycles=10] [warmup=40]}: any HF model directory, with random inputs
 *       sized from its config (batch 1 and 2, text 14 and 20, 36 regions); meant for the real-size configuration;
 *   <li>{@code Soak --write-random DIR [seed=7]}: writes a random-weight LXMERT-base model directory for it.
 * </ul>
 * Exits with status 3 if resident growth after the warm-up is {@value #MAX_GROWTH_PCT} % or more. The last two
 * lines are machine-readable ({@code SOAK ...}, {@code OPENCLOSE ...}); {@link SoakTest} parses them. Linux only
 * (reads /proc).
 */
public final class Soak {
  private Soak() {}

  static long rssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", ""));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/self/status (the soak needs Linux)", e);
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  static long heapUsedKib() {
    Runtime r = Runtime.getRuntime();
    return (r.totalMemory() - r.freeMemory()) >> 10;
  }

  /** The bound on resident growth after warm-up; the command exits with status 3 above it. */
  static final double MAX_GROWTH_PCT = 5.0;

  public static void main(String[] args) throws IOException {
    if (args.length > 0 && args[0].equals("--write-random")) {
      if (args.length < 2) {
        throw new IllegalArgumentException("usage: Soak --write-random DIR [seed]");
      }
      writeRandomBase(Path.of(args[1]), args.length > 2 ? Long.parseLong(args[2]) : 7);
      return;
    }
    double growth;
    if (args.length > 0 && args[0].equals("--model")) {
      if (args.length < 2) {
        throw new IllegalArgumentException("usage: Soak --model DIR [calls=200] [cycles=10] [warmup=40]");
      }
      Path dir = Path.of(args[1]);
      int calls = args.length > 2 ? Integer.parseInt(args[2]) : 200;
      int cycles = args.length > 3 ? Integer.parseInt(args[3]) : 10;
      int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 40;
      LxmertConfig config = LxmertConfig.fromJsonFile(dir.resolve("config.json"));
      growth = soak(dir, randomInputs(config, 11), List.of(OutputSelection.heads(config), OutputSelection.all(config)),
          calls, cycles, warmup);
    } else {
      int calls = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
      int cycles = args.length > 1 ? Integer.parseInt(args[1]) : 200;
      int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 1_000;
      try (LxmertReference ref = LxmertReference.open(Fixtures.tiny())) {
        List<LxmertInputs> inputs = new ArrayList<>();
        for (LxmertReference.Case c : ref.cases()) {
          inputs.add(c.inputs());
        }
        growth = soak(Fixtures.tinyModel(), inputs,
            List.of(OutputSelection.heads(ref.config()), OutputSelection.all(ref.config())), calls, cycles, warmup);
      }
    }
    if (!(growth < MAX_GROWTH_PCT)) {
      System.out.printf(Locale.ROOT, "soak: FAILED, resident growth after warm-up %+.2f %% is not under %.0f %%%n",
          growth, MAX_GROWTH_PCT);
      System.exit(3);
    }
  }

  /**
   * Writes a model directory of the real LXMERT-base configuration ({@link LxmertConfig#defaults()}: 768 hidden,
   * 12 heads, 9/5/5 layers, vocab 30522, 2048 features, 9500 answers) with random weights:
   * {@code config.json} and {@code model.safetensors} (about 0.9 GB), made by
   * {@link RandomWeights#write}. Needs about 2 GB of heap.
   */
  static void writeRandomBase(Path dir, long seed) throws IOException {
    LxmertConfig c = LxmertConfig.defaults();
    Files.createDirectories(dir);
    long t0 = System.nanoTime();
    RandomWeights.write(c, seed, dir.resolve("model.safetensors"));
    c.writeJson(dir.resolve("config.json"));
    System.out.printf(Locale.ROOT, "soak: wrote a random-weight LXMERT-base model (seed %d) to %s in %.0f s%n", seed,
        dir, (System.nanoTime() - t0) / 1e9);
  }

  /**
   * Four random input batches sized from a config: batch 1 and 2, text length 14 and 20 (padded: the last
   * positions masked in the second row), 36 regions with boxes inside the unit square.
   */
  static List<LxmertInputs> randomInputs(LxmertConfig c, long seed) {
    Random rnd = new Random(seed);
    List<LxmertInputs> out = new ArrayList<>();
    int n = 36;
    for (int[] bs : new int[][] {{1, 14}, {1, 20}, {2, 14}, {2, 20}}) {
      int b = bs[0];
      int s = bs[1];
      int[][] ids = new int[b][s];
      int[][] mask = new int[b][s];
      for (int r = 0; r < b; r++) {
        for (int i = 0; i < s; i++) {
          ids[r][i] = rnd.nextInt(c.vocabSize());
          mask[r][i] = r == 1 && i >= s - 4 ? 0 : 1;
        }
      }
      float[] feats = new float[b * n * c.visualFeatDim()];
      for (int i = 0; i < feats.length; i++) {
        feats[i] = rnd.nextFloat();
      }
      float[] boxes = new float[b * n * 4];
      for (int i = 0; i < boxes.length; i += 4) {
        float x = rnd.nextFloat() * 0.5f;
        float y = rnd.nextFloat() * 0.5f;
        boxes[i] = x;
        boxes[i + 1] = y;
        boxes[i + 2] = x + 0.5f * rnd.nextFloat();
        boxes[i + 3] = y + 0.5f * rnd.nextFloat();
      }
      out.add(LxmertInputs.builder().inputIds(ids).attentionMask(mask)
          .visualFeats(new FloatArray(new long[] {b, n, c.visualFeatDim()}, feats))
          .visualPos(new FloatArray(new long[] {b, n, 4}, boxes)).build());
    }
    return out;
  }

  /**
   * The two soaks on one model directory; returns the resident growth in percent from the end of the warm-up
   * to the end of the calls.
   */
  static double soak(Path modelDir, List<LxmertInputs> inputs, List<OutputSelection> selections, int calls,
                     int cycles, int warmup) throws IOException {
    int every = Math.max(1, Math.min(1_000, calls / 10));
    System.out.printf(Locale.ROOT, "soak: %s, %,d predict calls (warm-up %,d, RSS every %,d), then %,d open/close"
        + " cycles; start RSS %,d KiB, max heap %,d MiB%n", modelDir, calls, warmup, every, cycles, rssKib(),
        Runtime.getRuntime().maxMemory() >> 20);
    long startRss = rssKib();
    long warmRss = -1;
    long t0 = System.nanoTime();
    try (LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(modelDir)) {
      System.out.printf(Locale.ROOT, "soak: model open in %.1f s, RSS %,d KiB%n", (System.nanoTime() - t0) / 1e9,
          rssKib());
      t0 = System.nanoTime();
      for (int i = 1; i <= calls; i++) {
        model.predict(inputs.get(i % inputs.size()), selections.get((i / inputs.size()) % selections.size()));
        if (i == warmup) {
          warmRss = rssKib();
        }
        if (i % every == 0 || i == calls) {
          System.out.printf(Locale.ROOT, "  call %,7d  RSS %,9d KiB  heap used %,8d KiB  %.1f calls/s%n", i, rssKib(),
              heapUsedKib(), i / ((System.nanoTime() - t0) / 1e9));
        }
      }
    }
    long endRss = rssKib();
    if (warmRss < 0) {
      warmRss = endRss;
    }
    double growth = 100.0 * (endRss - warmRss) / warmRss;
    System.out.printf(Locale.ROOT, "soak: RSS at start %,d KiB, after warm-up %,d KiB, after %,d calls %,d KiB:"
        + " growth %+.2f %% (%+.2f KiB per 1,000 calls)%n", startRss, warmRss, calls, endRss, growth,
        calls > warmup ? (endRss - warmRss) * 1000.0 / (calls - warmup) : 0);

    long firstTenth = -1;
    int tenth = Math.max(1, cycles / 10);
    long c0 = System.nanoTime();
    for (int i = 1; i <= cycles; i++) {
      try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(modelDir)) {
        m.predict(inputs.get(i % inputs.size()), selections.get(0));
      }
      if (i == tenth) {
        firstTenth = rssKib();
      }
      if (i % tenth == 0 || i == cycles) {
        System.out.printf(Locale.ROOT, "  cycle %,5d  RSS %,9d KiB  heap used %,8d KiB  %.2f cycles/s%n", i, rssKib(),
            heapUsedKib(), i / ((System.nanoTime() - c0) / 1e9));
      }
    }
    long endCycles = rssKib();
    double perCycle = cycles > tenth ? (endCycles - firstTenth) / (double) (cycles - tenth) : 0;
    System.out.printf(Locale.ROOT, "open/close: RSS after %d cycles %,d KiB, after %d cycles %,d KiB: %+.1f KiB per"
        + " cycle%n", tenth, firstTenth, cycles, endCycles, perCycle);
    System.out.printf(Locale.ROOT, "SOAK calls=%d warmup=%d rss_start_kib=%d rss_warm_kib=%d rss_end_kib=%d"
        + " growth_pct=%.3f%n", calls, warmup, startRss, warmRss, endRss, growth);
    System.out.printf(Locale.ROOT, "OPENCLOSE cycles=%d rss_first_kib=%d rss_end_kib=%d per_cycle_kib=%.2f%n", cycles,
        firstTenth, endCycles, perCycle);
    return growth;
  }
}
