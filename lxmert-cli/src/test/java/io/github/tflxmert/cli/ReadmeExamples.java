package io.github.tflxmert.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.ParseResult;

/**
 * The command lines of the README's {@code ```bash} blocks, as a shell would split them, and the rules that make
 * them runnable here: which lines are not run (and why), and which names the README uses stand for which
 * committed fixture or temporary file. Used by {@link ReadmeExamplesTest} (in-process) and
 * {@link ReadmeScriptIT} (through the real {@code ./lxmert} script).
 */
final class ReadmeExamples {
  private ReadmeExamples() {}

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path README = ROOT.resolve("README.md");

  /**
   * Lines of the README's bash blocks that are not {@code ./lxmert} commands and cannot run in a test, by the
   * command they start with, each with the reason. Every other line must be a {@code ./lxmert} command, so an
   * example added to the README runs by default.
   */
  static final Map<String, String> NOT_RUN = Map.ofEntries(
      Map.entry("mvn verify", "the test suite itself: this test runs inside it"),
      Map.entry("parity-tests/python/install.sh", "Python side: builds the pinned virtual environment (pip, network)"),
      Map.entry("parity-tests/python/make_fixtures.sh", "Python side: regenerates the committed fixtures (needs the venv)"),
      Map.entry("parity-tests/python/install_torch.sh", "Python side: builds the PyTorch venv (pip, network)"),
      Map.entry("parity-tests/python/make_torch_fixtures.sh", "Python side: regenerates the torch.save fixtures (needs torch)"),
      Map.entry("./lxmert serve", "a server that runs until it is stopped: ServeCommandTest starts this command, sends "
          + "it requests and stops it with SIGTERM"),
      Map.entry("curl", "requests to a running server: ServingServerTest and ServeCommandTest send the same requests"),
      Map.entry("ONEDNN_MAX_CPU_ISA=AVX2 ./lxmert", "sets an environment variable (a shell): the same check runs in "
          + "Bfloat16SupportTest (injected environment) and Bf16ParityTest (under ONEDNN_MAX_CPU_ISA=AVX2 in .ci/run)"),
      Map.entry("bench/bench.sh", "the benchmark: minutes to hours, needs the Python venv"),
      Map.entry("bench/bf16-strategies.sh", "a benchmark over a base-widths model written by Python"),
      Map.entry("parity-tests/python/export_reference.py", "Python side: needs the pinned venv (.ci/run step 6 runs it)"),
      Map.entry("parity-tests/python/check_bf16_export.py", "Python side: needs the pinned venv (.ci/run step 6)"),
      Map.entry("./lxmert parity --precision auto --reference /tmp/base", "needs the live base-widths reference the "
          + "line before writes (.ci/run step 6 runs it)"),
      Map.entry("./lxmert export --model /tmp/base/model", "needs the live base-widths reference (.ci/run step 6)"));

  /** One command line of a bash block: its text (continuations joined, comment removed) and its words. */
  record Example(int line, String text, List<String> words) {
    boolean isLxmert() {
      return !words.isEmpty() && words.get(0).equals("./lxmert");
    }

    List<String> args() {
      return words.subList(1, words.size());
    }

    /** The {@link #NOT_RUN} reason, or null. */
    String notRunReason() {
      return NOT_RUN.entrySet().stream().filter(e -> text.equals(e.getKey()) || text.startsWith(e.getKey() + " "))
          .map(Map.Entry::getValue).findFirst().orElse(null);
    }

    @Override
    public String toString() {
      return "README.md:" + line + ": " + text;
    }
  }

  /** Every command line of every {@code ```bash} block, in order. */
  static List<Example> read() throws IOException {
    List<String> lines = Files.readAllLines(README);
    List<Example> out = new ArrayList<>();
    boolean inBash = false;
    StringBuilder pending = null;
    int start = 0;
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      if (!inBash) {
        inBash = l.strip().equals("```bash");
        continue;
      }
      if (l.strip().equals("```")) {
        if (pending != null) {
          throw new IllegalStateException("README.md:" + (i + 1) + ": a bash block ends inside a continued line");
        }
        inBash = false;
        continue;
      }
      if (pending == null) {
        pending = new StringBuilder();
        start = i + 1;
      }
      String stripped = l.stripTrailing();
      if (stripped.endsWith("\\") && !stripped.endsWith("\\\\")) {
        pending.append(stripped, 0, stripped.length() - 1).append(' ');
        continue;
      }
      pending.append(stripped);
      String text = pending.toString().strip();
      // a line that is not run needs no shell-free form (it may use ~ or a variable): kept as written
      List<String> words = NOT_RUN.keySet().stream().anyMatch(k -> text.equals(k) || text.startsWith(k + " "))
          ? List.of(text.replaceAll("\\s+#.*$", "").split("\\s+")) : split(pending.toString(), start);
      if (!words.isEmpty()) {
        out.add(new Example(start, String.join(" ", words), words));
      }
      pending = null;
    }
    return out;
  }

  /**
   * Splits a command line into words as bash does for the subset the README uses: single and double quotes,
   * backslash escapes, {@code #} comments. Anything else a shell would interpret (variables, pipes,
   * redirections, command lists, globs) is refused, so a README line is never run with a different meaning.
   */
  static List<String> split(String s, int line) {
    List<String> words = new ArrayList<>();
    StringBuilder w = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isWhitespace(c)) {
        if (w != null) {
          words.add(w.toString());
          w = null;
        }
        continue;
      }
      if (c == '#' && w == null) {
        break;
      }
      if (w == null) {
        w = new StringBuilder();
      }
      if (c == '\'') {
        int end = s.indexOf('\'', i + 1);
        if (end < 0) {
          throw new IllegalArgumentException("README.md:" + line + ": unterminated ' in: " + s);
        }
        w.append(s, i + 1, end);
        i = end;
      } else if (c == '"') {
        int j = i + 1;
        for (; j < s.length() && s.charAt(j) != '"'; j++) {
          char d = s.charAt(j);
          if (d == '\\' && j + 1 < s.length() && "\"\\$`".indexOf(s.charAt(j + 1)) >= 0) {
            w.append(s.charAt(++j));
          } else if (d == '$' || d == '`') {
            throw unsupported(line, s, d);
          } else {
            w.append(d);
          }
        }
        if (j >= s.length()) {
          throw new IllegalArgumentException("README.md:" + line + ": unterminated \" in: " + s);
        }
        i = j;
      } else if (c == '\\' && i + 1 < s.length()) {
        w.append(s.charAt(++i));
      } else if ("$`|&;<>(){}*?[]~".indexOf(c) >= 0) {
        throw unsupported(line, s, c);
      } else {
        w.append(c);
      }
    }
    if (w != null) {
      words.add(w.toString());
    }
    return words;
  }

  private static IllegalArgumentException unsupported(int line, String s, char c) {
    return new IllegalArgumentException("README.md:" + line + ": '" + c + "' needs a shell; the README runner "
        + "splits words only (simplify the example or list it in ReadmeExamples.NOT_RUN with the reason): " + s);
  }

  /**
   * The values of path-typed options and parameters on a {@code ./lxmert} command line, as picocli parses it
   * (so a {@code --text} that looks like a path is left alone).
   */
  static Set<String> pathValues(List<String> args) {
    CommandLine cl = Lxmert.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
    Set<String> values = new HashSet<>();
    for (ParseResult p = cl.parseArgs(args.toArray(String[]::new)); p != null; p = p.subcommand()) {
      for (ArgSpec a : p.matchedArgs()) {
        if (a.type() == Path.class || a.type() == Path[].class) {
          values.addAll(a.originalStringValues());
        }
      }
    }
    return values;
  }

  /**
   * The arguments with every path replaced: a name in {@code names} by its stand-in, a path that exists in the
   * repository by its absolute path (tests do not run in the repository root); any other path is an error
   * that asks for a mapping, so no example reads or writes a file nobody chose.
   */
  static List<String> resolvePaths(Example e, Map<String, Path> names) {
    Set<String> paths = pathValues(e.args());
    List<String> out = new ArrayList<>();
    for (String a : e.args()) {
      int eq = a.startsWith("--") ? a.indexOf('=') : -1;
      String value = eq < 0 ? a : a.substring(eq + 1);
      if (paths.contains(value)) {
        String p = names.containsKey(value) ? names.get(value).toString() : inRepository(e, value);
        out.add(eq < 0 ? p : a.substring(0, eq + 1) + p);
      } else {
        out.add(a);
      }
    }
    return out;
  }

  private static String inRepository(Example e, String value) {
    Path p = ROOT.resolve(value);
    if (Files.exists(p)) {
      return p.toString();
    }
    throw new IllegalArgumentException(e + ": the path " + value + " is neither in the repository nor one of the "
        + "README names the test maps to fixtures (ReadmeExamplesTest.names)");
  }

  /** Whether any path of the line is a README name (needs a stand-in; the others run as written). */
  static boolean usesNames(Example e, Map<String, Path> names) {
    return pathValues(e.args()).stream().anyMatch(names::containsKey);
  }

  /** A Java stack trace or the unexpected-error line in a command's output. */
  static boolean hasStackTrace(String output) {
    return output.contains("\tat ") || output.contains("Exception in thread") || output.contains("unexpected error");
  }
}
