package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's {@code ./lxmert} examples that need no stand-in (they run as written, from the repository root)
 * through the real {@code ./lxmert} script: bash, its build check, its log filter, {@code java -cp}. Runs in
 * {@code mvn verify}'s integration-test phase (lxmert-cli's pom), after the jar is packaged, so the script finds
 * it up to date and does not build.
 */
class ReadmeScriptIT {
  @Test
  void theMainExamplesRunThroughTheScript() throws Exception {
    Path script = ReadmeExamples.ROOT.resolve("lxmert");
    assertTrue(Files.isExecutable(script), script + " is not executable");
    List<ReadmeExamples.Example> asWritten = new ArrayList<>();
    for (ReadmeExamples.Example e : ReadmeExamples.read()) {
      if (e.isLxmert() && ReadmeExamples.pathValues(e.args()).isEmpty()) {
        asWritten.add(e);
      }
    }
    // the README's two main commands must be among them
    assertTrue(asWritten.stream().anyMatch(e -> e.text().equals("./lxmert run --text what shape is the blue object?")),
        "README's main command: " + asWritten);
    assertTrue(asWritten.stream().anyMatch(e -> e.args().get(0).equals("tokenize")), "a tokenize example: "
        + asWritten);
    for (ReadmeExamples.Example e : asWritten) {
      List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
      cmd.addAll(e.args());
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(ReadmeExamples.ROOT.toFile()).redirectErrorStream(true);
      File log = Files.createTempFile("lxmert-readme", ".log").toFile();
      pb.redirectOutput(log);
      Process p = pb.start();
      boolean ended = p.waitFor(5, TimeUnit.MINUTES);
      if (!ended) {
        p.destroyForcibly();
      }
      String output = Files.readString(log.toPath(), StandardCharsets.UTF_8);
      log.delete();
      assertTrue(ended, e + ": still running after 5 minutes\n" + output);
      System.out.println("ran through ./lxmert: " + e + "\n" + output);
      assertEquals(0, p.exitValue(), e + "\n" + output);
      assertFalse(ReadmeExamples.hasStackTrace(output), e + " printed a stack trace:\n" + output);
    }
  }
}
