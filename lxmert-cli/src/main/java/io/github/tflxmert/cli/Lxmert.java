package io.github.tflxmert.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParseResult;

/** The {@code lxmert} command: entry point and error handling (messages, not stack traces). */
@Command(name = "lxmert", mixinStandardHelpOptions = true, version = "tf-lxmert 0.1.0",
    description = {"LXMERT (Tan & Bansal 2019) on TensorFlow Java: run a model, inspect, export SavedModels, check "
        + "parity with Python, benchmark, serve (TF Serving's gRPC and REST APIs), tokenize, draw attention.", "",
        "Example: ./lxmert run --text \"what color is the cube?\""},
    subcommands = {RunCommand.class, InspectCommand.class, ExportCommand.class, ParityCommand.class, BenchCommand.class, AttentionCommand.class, TokenizeCommand.class, ServeCommand.class,
        CommandLine.HelpCommand.class})
public final class Lxmert {
  /** Exit code of an error the user can fix (a missing file, a bad value): one line naming it. */
  static final int EXIT_USAGE = 2;
  /** Exit code of an unexpected error (a bug): never 0, and distinct from the user's errors. */
  static final int EXIT_INTERNAL = 3;

  public static void main(String[] args) {
    System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /**
   * Runs the command line; returns the exit code: 0 ok, 1 a failed check (such as a parity miss), 2 a usage or
   * input error, 3 an unexpected (internal) error.
   */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    return commandLine(out, err).execute(args);
  }

  /** The command with its output streams and error handling set (tests add subcommands to it). */
  static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new Lxmert());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable t = ex;
      if ((t instanceof UncheckedIOException || t instanceof RuntimeException) && t.getCause() != null
          && t.getMessage() == null || t instanceof CommandLine.ExecutionException && t.getCause() != null) {
        t = t.getCause();
      }
      int code;
      if (t instanceof IllegalArgumentException || t instanceof IllegalStateException
          || t instanceof UnsupportedOperationException) {   // the last: e.g. bf16 on a CPU without it
        err.println("lxmert: " + t.getMessage());
        code = EXIT_USAGE;
      } else if (t instanceof IOException || t instanceof UncheckedIOException) {
        err.println("lxmert: " + describe(t instanceof UncheckedIOException u ? u.getCause() : (IOException) t));
        code = EXIT_USAGE;
      } else {
        err.println("lxmert: unexpected error (a bug; please report it with the output of --verbose): " + t);
        code = EXIT_INTERNAL;
      }
      if (verbose(parsed)) {
        t.printStackTrace(err);
      }
      err.flush();
      return code;
    });
    return cl;
  }

  /** Whether --verbose was given to the command or any subcommand (it is a subcommand option). */
  static boolean verbose(ParseResult parsed) {
    for (ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--verbose")) {
        return true;
      }
    }
    return false;
  }

  /**
   * An I/O error as "file: reason": java.nio's exceptions carry the path and the system's reason separately,
   * and their message alone is often just the path ("/missing/dir/x.png").
   */
  static String describe(IOException e) {
    if (e instanceof FileSystemException f && f.getFile() != null) {
      String reason = f.getReason();
      if (reason == null) {
        reason = e instanceof NoSuchFileException ? "no such file or directory"
            : e instanceof AccessDeniedException ? "permission denied"
            : e instanceof FileAlreadyExistsException ? "already exists"
            : e instanceof NotDirectoryException ? "not a directory"
            : e instanceof DirectoryNotEmptyException ? "directory not empty"
            : e.getClass().getSimpleName();
      }
      return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + reason;
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }
}
