package io.github.tflxmert.reliability;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Seeded random mutation fuzzer over {@link FuzzTargets}: each execution takes a real seed file, applies one to
 * five {@link Mutator} mutations (half the time with the target's structure-aware fix-up, e.g. a recomputed
 * length prefix) and runs the parser. Accepted inputs and {@link IllegalArgumentException} (plus
 * {@link IOException} where documented) are fine if the message names the input; anything else, and a rejection
 * that does not say which file it is about, is a finding, printed with its stack trace and saved under
 * {@code target/fuzz-findings/}. Every seed also runs unmutated first.
 *
 * <p>Command line (from the parity-tests directory; scripts/fuzz.sh does this):
 * {@code java -cp ... io.github.tflxmert.reliability.Fuzz [executions per target, default 100000] [seed, default
 * 1] [target ...]}. Prints, per target: executions, accepted, rejected, distinct rejection messages (digits
 * folded), findings, time and the slowest execution; exits with status 1 if there were findings. An execution
 * that runs longer than 60 s stops the run (a hang is a finding too).
 */
public final class Fuzz {
  private Fuzz() {}

  /** What one run of one target found. */
  record Report(String target, long executions, long accepted, long rejected, long ioErrors,
                Map<String, Integer> messages, List<String> findings, double seconds, double slowestMillis) {
    String summary() {
      return String.format(Locale.ROOT, "%-12s %,9d executions  %,9d accepted  %,9d rejected (IAE)  %,6d IOException"
              + "  %,5d distinct messages  %d findings  %.1f s (%,.0f/s)  slowest %.1f ms", target, executions,
          accepted, rejected, ioErrors, messages.size(), findings.size(), seconds, executions / seconds, slowestMillis);
    }
  }

  private static final Pattern QUOTED = Pattern.compile("'[^']*'|\"[^\"]*\"");
  private static final Pattern WITH_DIGITS = Pattern.compile("[^\\s,\\[\\]():]*\\d[^\\s,\\[\\]():]*");

  /**
   * The shape of a message: the input's name dropped, quoted text and every token holding a digit folded, so
   * that messages differing only in the offending value, index or name count once.
   */
  static String fold(String message, String source) {
    String m = message == null ? "<null>" : message.replace(source, "<src>");
    m = QUOTED.matcher(m).replaceAll("'?'");
    m = WITH_DIGITS.matcher(m).replaceAll("#");
    return m.length() > 160 ? m.substring(0, 160) : m;
  }

  static Report run(FuzzTargets.Target t, long executions, long seed, Path findingsDir, PrintStream log) {
    List<byte[]> seeds = t.seeds();
    List<String> dict = t.dictionary();
    Mutator m = new Mutator(seed * 1_000_003L + t.name().hashCode());
    Map<String, Integer> messages = new LinkedHashMap<>();
    List<String> findings = new ArrayList<>();
    long accepted = 0;
    long rejected = 0;
    long io = 0;
    long slowest = 0;
    long t0 = System.nanoTime();
    Watchdog dog = Watchdog.start(t.name(), findingsDir, log);
    try {
      for (long i = 0; i < executions; i++) {
        byte[] input;
        if (i < seeds.size()) {
          input = seeds.get((int) i);
        } else {
          byte[] base = seeds.get(m.nextInt(seeds.size()));
          input = m.mutate(base, seeds, t.focus(base), dict);
          if (m.nextInt(2) == 0) {
            input = t.fixup(base, input, m);
          }
        }
        long s = System.nanoTime();
        dog.begin(input, i);
        try {
          t.run(input);
          accepted++;
        } catch (IllegalArgumentException e) {
          if (e.getMessage() == null || !e.getMessage().contains(sourceOf(t))) {
            // A rejection must say which file it is about (DESIGN.md); jhdf's or Jackson's own do not.
            findings.add(report(t, i, input, e, findingsDir, log));
            continue;
          }
          rejected++;
          messages.merge(fold(e.getMessage(), sourceOf(t)), 1, Integer::sum);
        } catch (IOException e) {
          io++;
          messages.merge("IOException: " + fold(e.getMessage(), sourceOf(t)), 1, Integer::sum);
        } catch (Throwable e) { // a finding: not a documented rejection
          findings.add(report(t, i, input, e, findingsDir, log));
        } finally {
          dog.end();
        }
        slowest = Math.max(slowest, System.nanoTime() - s);
      }
    } finally {
      dog.stop();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    return new Report(t.name(), executions, accepted, rejected, io, messages, findings, secs, slowest / 1e6);
  }

  /** What a target's rejection messages must name: the input's description, or for the manifest its directory. */
  static String sourceOf(FuzzTargets.Target t) {
    return switch (t.name()) {
      case "safetensors" -> "fuzz.safetensors";
      case "npy" -> "fuzz.npy";
      case "config" -> "fuzz config.json";
      case "h5" -> "fuzz.h5";
      case "pytorch" -> "fuzz.bin";
      case "opcheck", "savedmodel" -> SavedModelTargets.SOURCE;
      default -> Fixtures.tiny().toString(); // the manifest, or a file it names
    };
  }

  private static String report(FuzzTargets.Target t, long i, byte[] input, Throwable e, Path dir, PrintStream log) {
    StringWriter sw = new StringWriter();
    e.printStackTrace(new PrintWriter(sw));
    String saved = save(dir, t.name() + "-" + i + ".bin", input);
    String text = t.name() + " execution " + i + ": " + e + (saved != null ? " (input saved to " + saved + ")" : "");
    log.println("FINDING " + text + "\n" + sw);
    return text;
  }

  static String save(Path dir, String name, byte[] input) {
    if (dir == null) {
      return null;
    }
    try {
      Files.createDirectories(dir);
      Path f = dir.resolve(name);
      Files.write(f, input);
      return f.toString();
    } catch (IOException e) {
      return null;
    }
  }

  /** Stops the process if one execution takes longer than the limit (command line only), saving the input. */
  static final class Watchdog {
    private static final long LIMIT_NANOS = 60_000_000_000L;
    private final Thread thread;
    private volatile byte[] input;
    private volatile long index;
    private volatile long started; // 0 = idle

    private Watchdog(String target, Path dir, PrintStream log, boolean enabled) {
      this.thread = !enabled ? null : new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          long s = started;
          if (s != 0 && System.nanoTime() - s > LIMIT_NANOS) {
            String saved = save(dir, target + "-" + index + "-hang.bin", input);
            log.println("FINDING " + target + " execution " + index + " ran longer than 60 s (input saved to "
                + saved + ")");
            log.flush();
            Runtime.getRuntime().halt(2);
          }
          try {
            Thread.sleep(1000);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "fuzz-watchdog");
      if (thread != null) {
        thread.setDaemon(true);
        thread.start();
      }
    }

    static Watchdog start(String target, Path dir, PrintStream log) {
      return new Watchdog(target, dir, log, Boolean.getBoolean("fuzz.watchdog"));
    }

    void begin(byte[] in, long i) {
      input = in;
      index = i;
      started = System.nanoTime();
    }

    void end() {
      started = 0;
    }

    void stop() {
      if (thread != null) {
        thread.interrupt();
      }
    }
  }

  public static void main(String[] args) {
    long executions = args.length > 0 ? Long.parseLong(args[0].replace("_", "").replace(",", "")) : 100_000;
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
    List<FuzzTargets.Target> targets = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      targets.add(FuzzTargets.named(args[i]));
    }
    if (targets.isEmpty()) {
      targets.addAll(FuzzTargets.ALL);
    }
    System.setProperty("fuzz.watchdog", "true");
    Path dir = Path.of("target", "fuzz-findings");
    PrintStream out = System.out;
    out.printf(Locale.ROOT, "fuzz: %,d executions per target, seed %d, targets %s, max heap %d MiB%n", executions,
        seed, targets.stream().map(FuzzTargets.Target::name).toList(), Runtime.getRuntime().maxMemory() >> 20);
    int findings = 0;
    long t0 = System.nanoTime();
    for (FuzzTargets.Target t : targets) {
      Report r = run(t, executions, seed, dir, out);
      out.println(r.summary());
      if (!t.stats().isEmpty()) {
        out.println(t.stats());
      }
      r.messages().entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(12)
          .forEach(e -> out.printf(Locale.ROOT, "    %,8d  %s%n", e.getValue(), e.getKey()));
      if (r.messages().size() > 12) {
        out.printf(Locale.ROOT, "    ... %d more distinct messages%n", r.messages().size() - 12);
      }
      findings += r.findings().size();
      out.flush();
    }
    out.printf(Locale.ROOT, "fuzz: total %.1f s, %d findings%n", (System.nanoTime() - t0) / 1e9, findings);
    System.exit(findings == 0 ? 0 : 1);
  }
}
