package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.config.LxmertConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The command defects of issue 17, each run in-process through the picocli entry point (as {@link Lxmert#main}
 * runs it, without the JVM start): what the user sees on stdout/stderr and the exit code.
 */
class CommandDefectsTest {
  static final Path FIXTURES = Path.of("../parity-tests/fixtures");
  static final Path TINY = FIXTURES.resolve("tiny/model");
  static final Path FEATS = FIXTURES.resolve("tiny/cases/b1_equal/inputs/visual_feats.npy");
  static final Path BOXES = FIXTURES.resolve("tiny/cases/b1_equal/inputs/visual_pos.npy");
  @TempDir Path tmp;

  record Run(int exit, String out, String err) {
    boolean hasStackTrace() {
      return err.contains("\tat ") || out.contains("\tat ");
    }
  }

  static Run lxmert(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Lxmert.commandLine(new PrintWriter(out, true), new PrintWriter(err, true));
    cl.addSubcommand("boom", new Boom());
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** A subcommand with a bug: what an unexpected exception looks like to the user. */
  @Command(name = "boom")
  static final class Boom implements Callable<Integer> {
    @Mixin Common.Verbosity verbosity;

    @Override
    public Integer call() {
      String s = null;
      return s.length();
    }
  }

  @Test
  void tokenizeWithoutAPairWorks() throws IOException {
    Run r = lxmert("tokenize", "--text", "a cat on a mat");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().startsWith("tokens:         [CLS] a "), r.out());
    Run j = lxmert("tokenize", "--vocab", TINY.resolve("vocab.txt").toString(), "--text", "a cat on a mat", "--json");
    assertEquals(0, j.exit(), j.err());
    JsonNode n = new ObjectMapper().readTree(j.out());
    int len = n.get("input_ids").size();
    assertEquals("[CLS]", n.get("tokens").get(0).asText());
    assertEquals("[SEP]", n.get("tokens").get(len - 1).asText());
    assertEquals(len, n.get("tokens").size());
    n.get("token_type_ids").forEach(t -> assertEquals(0, t.asInt(), "one sequence: every token type is 0"));
    assertEquals(len, n.get("offsets").size());          // [start, end] per token, as HF's offset_mapping
    assertEquals("[0,0]", n.get("offsets").get(0).toString());                       // [CLS]
    assertEquals("[0,1]", n.get("offsets").get(1).toString(), n.toString());        // "a"
    assertEquals("[0,0]", n.get("offsets").get(len - 1).toString());                 // [SEP]
  }

  @Test
  void anUnexpectedErrorExitsNonZeroWithOneLineAndVerboseAddsTheStackTrace() {
    Run r = lxmert("boom");
    assertEquals(Lxmert.EXIT_INTERNAL, r.exit(), r.err());
    assertTrue(r.err().startsWith("lxmert: unexpected error"), r.err());
    assertTrue(r.err().contains("NullPointerException"), r.err());
    assertFalse(r.hasStackTrace(), r.err());
    Run v = lxmert("boom", "--verbose");
    assertEquals(Lxmert.EXIT_INTERNAL, v.exit());
    assertTrue(v.hasStackTrace() && v.err().contains("CommandDefectsTest$Boom.call"), v.err());
  }

  @Test
  void verboseAddsStackTracesToUserErrors() {
    Path missing = tmp.resolve("nope");
    Run quiet = lxmert("inspect", missing.toString());
    assertEquals(2, quiet.exit());
    assertFalse(quiet.hasStackTrace(), quiet.err());
    for (String[] args : new String[][] {{"inspect", missing.toString(), "--verbose"},
        {"run", "--verbose", "--model", missing.toString(), "--text", "x", "--features", FEATS.toString()},
        {"tokenize", "--verbose", "--vocab", missing.toString(), "--text", "x"}}) {
      Run v = lxmert(args);
      assertEquals(2, v.exit(), v.err());
      assertTrue(v.err().startsWith("lxmert: "), v.err());
      assertTrue(v.hasStackTrace(), String.join(" ", args) + ": " + v.err());
    }
  }

  @Test
  void inspectRefusesASavedModelPbOfRandomBytesOrText() throws IOException {
    Random rnd = new Random(3);
    for (int i = 0; i < 20; i++) {
      Path d = Files.createDirectories(tmp.resolve("random" + i));
      byte[] b = new byte[1 + rnd.nextInt(200)];
      rnd.nextBytes(b);
      Files.write(d.resolve("saved_model.pb"), b);
      for (String[] args : new String[][] {{"inspect", d.toString()}, {"inspect", d.toString(), "--json"}}) {
        Run r = lxmert(args);
        assertEquals(2, r.exit(), "random bytes " + i + ": " + r.out() + r.err());
        assertTrue(r.err().startsWith("lxmert: " + d.resolve("saved_model.pb") + ": not a SavedModel"), r.err());
        assertEquals("", r.out());
      }
    }
    Path text = Files.createDirectories(tmp.resolve("text"));
    Files.writeString(text.resolve("saved_model.pb"), "this is plain text, not a model\n");
    Run r = lxmert("inspect", text.toString(), "--json");
    assertEquals(2, r.exit(), r.out() + r.err());
    assertTrue(r.err().contains(text.resolve("saved_model.pb") + ": not a SavedModel: expected at least one "
        + "MetaGraphDef, found none"), r.err());
    assertEquals("", r.out());
  }

  /** A copy of the tiny model whose weights are all NaN: every output is NaN. */
  Path nanModel() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("nan-model"));
    Files.copy(TINY.resolve("config.json"), dir.resolve("config.json"));
    Files.copy(TINY.resolve("vocab.txt"), dir.resolve("vocab.txt"));
    byte[] st = Files.readAllBytes(TINY.resolve("model.safetensors"));
    long headerLen = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    ByteBuffer data = ByteBuffer.wrap(st).order(ByteOrder.LITTLE_ENDIAN);
    for (int p = (int) (8 + headerLen); p + 4 <= st.length; p += 4) { // every tensor is F32
      data.putFloat(p, Float.NaN);
    }
    Files.write(dir.resolve("model.safetensors"), st);
    return dir;
  }

  @Test
  void nonFiniteOutputsAreReportedNotPrintedSilently() throws IOException {
    Path model = nanModel();
    Run j = lxmert("run", "--model", model.toString(), "--text", "the [MASK] cube", "--features", FEATS.toString(),
        "--boxes", BOXES.toString(), "--json");
    assertEquals(0, j.exit(), j.err());
    JsonNode n = new ObjectMapper().readTree(j.out());
    assertFalse(n.get("outputs_finite").asBoolean(), j.out());
    for (String t : new String[] {"cross_relationship_score", "prediction_logits", "question_answering_score"}) {
      assertTrue(n.get("non_finite_outputs").get(t).asLong() > 0, t + " in " + j.out());
      assertTrue(j.err().contains("lxmert: warning: output " + t + " "), j.err());
    }
    Run text = lxmert("run", "--model", model.toString(), "--text", "the cube", "--features", FEATS.toString(),
        "--boxes", BOXES.toString());
    assertEquals(0, text.exit(), text.err());
    assertTrue(text.out().contains("WARNING: non-finite outputs ["), text.out());
    assertTrue(text.err().contains("non-finite values (NaN or infinite)"), text.err());
    // and a sound model says so
    Run ok = lxmert("run", "--model", TINY.toString(), "--text", "the cube", "--features", FEATS.toString(),
        "--boxes", BOXES.toString(), "--json");
    assertEquals(0, ok.exit(), ok.err());
    JsonNode okn = new ObjectMapper().readTree(ok.out());
    assertTrue(okn.get("outputs_finite").asBoolean());
    assertEquals(0, okn.get("non_finite_outputs").size());
    assertFalse(ok.err().contains("warning"), ok.err());
  }

  @Test
  void topKMustBePositive() {
    for (String k : new String[] {"-1", "0"}) {
      Run r = lxmert("run", "--text", "what shape is the blue object?", "--top-k", k);
      assertEquals(2, r.exit(), r.out() + r.err());
      assertEquals("lxmert: --top-k: expected a positive number of words/answers to print, found " + k + "\n",
          r.err());
      assertEquals("", r.out());
    }
  }

  @Test
  void exportAndAttentionSayWhyTheOutputCannotBeWritten() throws IOException {
    Path devNull = Path.of("/dev/null");
    if (Files.exists(devNull)) {
      Run r = lxmert("export", "--model", TINY.toString(), "--out", devNull.toString());
      assertEquals(2, r.exit(), r.err());
      assertEquals("lxmert: --out /dev/null: expected a directory, found a special file\n", r.err());
    }
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    Run under = lxmert("export", "--model", TINY.toString(), "--out", file.resolve("base").toString());
    assertEquals(2, under.exit(), under.err());
    assertTrue(under.err().contains("expected a directory (or a path that can be created in one), found a regular "
        + "file at " + file), under.err());
    // attention checks --out before it loads and runs the model: the model directory here does not even exist
    Path missingDir = tmp.resolve("missing/dir/x.png");
    Run att = lxmert("attention", "--model", tmp.resolve("no-model").toString(), "--features", FEATS.toString(),
        "--text", "a cube", "--out", missingDir.toString());
    assertEquals(2, att.exit(), att.err());
    assertEquals("lxmert: --out " + missingDir + ": cannot write it: its directory " + missingDir.getParent()
        + " is missing\n", att.err());
    Run dir = lxmert("attention", "--text", "a cube", "--out", Files.createDirectories(tmp.resolve("d.png")).toString());
    assertEquals(2, dir.exit(), dir.err());
    assertTrue(dir.err().contains("expected a file to write, found a directory"), dir.err());
  }

  @Test
  void ioErrorsPrintTheReasonNotJustThePath() {
    assertEquals("/missing/dir/x.png: no such file or directory",
        Lxmert.describe(new NoSuchFileException("/missing/dir/x.png")));
    assertEquals("/dev/null/1: Not a directory",
        Lxmert.describe(new java.nio.file.FileSystemException("/dev/null/1", null, "Not a directory")));
  }

  @Test
  void aConfigJsonThatIsADirectoryOrALinkLoopSaysSo() throws IOException {
    Path asDir = Files.createDirectories(tmp.resolve("dir-model"));
    Files.copy(TINY.resolve("model.safetensors"), asDir.resolve("model.safetensors"));
    Files.copy(TINY.resolve("vocab.txt"), asDir.resolve("vocab.txt"));
    Files.createDirectory(asDir.resolve("config.json"));
    Path loop = Files.createDirectories(tmp.resolve("loop-model"));
    Files.copy(TINY.resolve("model.safetensors"), loop.resolve("model.safetensors"));
    Files.copy(TINY.resolve("vocab.txt"), loop.resolve("vocab.txt"));
    Files.createSymbolicLink(loop.resolve("config.json"), Path.of("config.json"));
    for (Path m : new Path[] {asDir, loop}) {
      String found = m == asDir ? "found a directory" : "found a symbolic link that cannot be resolved, e.g. a loop";
      Run run = lxmert("run", "--model", m.toString(), "--text", "x", "--features", FEATS.toString(), "--boxes",
          BOXES.toString());
      Run inspect = lxmert("inspect", m.toString());
      Run export = lxmert("export", "--model", m.toString(), "--out", tmp.resolve("out").toString());
      for (Run r : new Run[] {run, inspect, export}) {
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().startsWith("lxmert: " + m.resolve("config.json") + ": expected a regular config.json file, "
            + found), r.err());
        assertFalse(r.err().contains("found none"), r.err());
      }
    }
  }

  @Test
  void exportWritesConfigJsonAndVocabIntoBase() throws IOException {
    Path base = tmp.resolve("base");
    Run r = lxmert("export", "--model", TINY.toString(), "--out", base.toString(), "--version", "2");
    assertEquals(0, r.exit(), r.err());
    assertTrue(Files.isRegularFile(base.resolve("2/saved_model.pb")));
    assertEquals(LxmertConfig.fromJsonFile(TINY.resolve("config.json")),
        LxmertConfig.fromJsonFile(base.resolve("config.json")));
    assertArrayEquals(Files.readAllBytes(TINY.resolve("vocab.txt")), Files.readAllBytes(base.resolve("vocab.txt")));
  }
}
