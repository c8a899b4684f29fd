package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The README's promise: every subcommand answers {@code --help} and {@code -h} with its usage and exit 0. */
class SubcommandHelpTest {
  @Test
  void everySubcommandAnswersHelp() {
    CommandLine root = Lxmert.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
    assertTrue(root.getSubcommands().size() >= 8, root.getSubcommands().keySet().toString());
    for (String name : root.getSubcommands().keySet()) {
      if (name.equals("help")) {
        continue;
      }
      for (String flag : new String[] {"--help", "-h"}) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Lxmert.execute(new String[] {name, flag}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, name + " " + flag + ": " + err);
        assertTrue(out.toString().startsWith("Usage: lxmert " + name), name + " " + flag + ": " + out);
        assertTrue(out.toString().contains("Example"), name + " " + flag + " shows an example: " + out);
      }
    }
  }
}
