package io.github.tflxmert.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lxmert} command: entry point and error handling (messages, not stack traces). */
@Command(name = "lxmert", mixinStandardHelpOptions = true, version = "tf-lxmert 0.1.0",
    description = {"LXMERT (Tan & Bansal 2019) on TensorFlow Java: run, inspect, export and check parity.", "",
        "Example: ./lxmert run --text \"a [MASK] sitting on a chair\""},
    subcommands = {RunCommand.class, InspectCommand.class, ExportCommand.class, ParityCommand.class, BenchCommand.class, AttentionCommand.class, TokenizeCommand.class, ServeCommand.class,
        CommandLine.HelpCommand.class})
public final class Lxmert {

  public static void main(String[] args) {
    System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the command line; returns the exit code (0 ok, 1 failure such as parity miss, 2 usage or input error). */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new Lxmert());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable t = ex;
      if ((t instanceof java.io.UncheckedIOException || t instanceof RuntimeException) && t.getCause() != null
          && t.getMessage() == null) {
        t = t.getCause();
      }
      boolean verbose = parsed.hasMatchedOption("--verbose");
      if (t instanceof IllegalArgumentException || t instanceof java.io.IOException
          || t instanceof IllegalStateException) {
        err.println("lxmert: " + t.getMessage());
      } else {
        err.println("lxmert: unexpected error: " + t);
      }
      if (verbose) {
        t.printStackTrace(err);
      }
      return 2;
    });
    return cl.execute(args);
  }
}
