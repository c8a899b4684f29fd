package io.github.tflxmert.reliability;

import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.reference.ReferenceDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Leak soak on the tiny fixture model: (1) N predict calls on one instance, cycling through the fixture cases
 * (batch 1 to 3) and through output selections (the heads; every output), printing resident memory (VmRSS from
 * /proc/self/status) every 1,000 calls and the growth from the end of the warm-up to the end; (2) M cycles of
 * open, one predict, close, printing RSS every {@code M/10} cycles and the growth per cycle after the first tenth.
 *
 * <p>Command line (from parity-tests/; scripts/soak.sh does this, with a fixed, pre-touched heap so that Java heap
 * growth does not show up as resident growth): {@code Soak [calls=10000] [cycles=200] [warmup=1000]}. The last two
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

  public static void main(String[] args) throws IOException {
    int calls = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int cycles = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 1_000;
    int every = Math.max(1, Math.min(1_000, calls / 10));
    try (ReferenceDirectory ref = ReferenceDirectory.open(Fixtures.tiny())) {
      List<LxmertInputs> inputs = new ArrayList<>();
      for (ReferenceDirectory.Case c : ref.cases()) {
        inputs.add(c.inputs());
      }
      List<OutputSelection> selections = List.of(OutputSelection.heads(ref.config()), OutputSelection.all(ref.config()));
      System.out.printf(Locale.ROOT, "soak: %,d predict calls (warm-up %,d), then %,d open/close cycles; start RSS %,d KiB,"
          + " max heap %,d MiB%n", calls, warmup, cycles, rssKib(), Runtime.getRuntime().maxMemory() >> 20);

      long warmRss = -1;
      long t0 = System.nanoTime();
      try (LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(Fixtures.tinyModel())) {
        System.out.printf(Locale.ROOT, "soak: model open, RSS %,d KiB%n", rssKib());
        for (int i = 1; i <= calls; i++) {
          model.predict(inputs.get(i % inputs.size()), selections.get((i / inputs.size()) % selections.size()));
          if (i == warmup) {
            warmRss = rssKib();
          }
          if (i % every == 0 || i == calls) {
            System.out.printf(Locale.ROOT, "  call %,7d  RSS %,9d KiB  heap used %,8d KiB  %.0f calls/s%n", i, rssKib(),
                heapUsedKib(), i / ((System.nanoTime() - t0) / 1e9));
          }
        }
      }
      long endRss = rssKib();
      if (warmRss < 0) {
        warmRss = endRss;
      }
      double growth = 100.0 * (endRss - warmRss) / warmRss;
      System.out.printf(Locale.ROOT, "soak: RSS after warm-up %,d KiB, after %,d calls %,d KiB: growth %+.2f %% (%+.2f KiB"
          + " per 1,000 calls)%n", warmRss, calls, endRss, growth,
          calls > warmup ? (endRss - warmRss) * 1000.0 / (calls - warmup) : 0);

      long firstTenth = -1;
      int tenth = Math.max(1, cycles / 10);
      long c0 = System.nanoTime();
      for (int i = 1; i <= cycles; i++) {
        try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(Fixtures.tinyModel())) {
          m.predict(inputs.get(i % inputs.size()), selections.get(0));
        }
        if (i == tenth) {
          firstTenth = rssKib();
        }
        if (i % tenth == 0 || i == cycles) {
          System.out.printf(Locale.ROOT, "  cycle %,5d  RSS %,9d KiB  heap used %,8d KiB  %.1f cycles/s%n", i, rssKib(),
              heapUsedKib(), i / ((System.nanoTime() - c0) / 1e9));
        }
      }
      long endCycles = rssKib();
      double perCycle = cycles > tenth ? (endCycles - firstTenth) / (double) (cycles - tenth) : 0;
      System.out.printf(Locale.ROOT, "open/close: RSS after %d cycles %,d KiB, after %d cycles %,d KiB: %+.1f KiB per"
          + " cycle%n", tenth, firstTenth, cycles, endCycles, perCycle);
      System.out.printf(Locale.ROOT, "SOAK calls=%d warmup=%d rss_warm_kib=%d rss_end_kib=%d growth_pct=%.3f%n", calls,
          warmup, warmRss, endRss, growth);
      System.out.printf(Locale.ROOT, "OPENCLOSE cycles=%d rss_first_kib=%d rss_end_kib=%d per_cycle_kib=%.2f%n", cycles,
          firstTenth, endCycles, perCycle);
    }
  }
}
