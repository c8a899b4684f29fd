package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ./lxmert} line of the README's bash blocks runs, in-process through the picocli entry point,
 * against the committed fixtures: it must exit 0 and print no stack trace. Lines that cannot run here are
 * listed in {@link ReadmeExamples#NOT_RUN} with the reason; any other line fails this test, so a new example
 * runs by default. {@link ReadmeScriptIT} runs the examples that need no stand-ins through the real script.
 */
class ReadmeExamplesTest {
  static final Path FIXTURES = ReadmeExamples.ROOT.resolve("parity-tests/fixtures");
  static final Path TINY = FIXTURES.resolve("tiny");

  @TempDir static Path tmp;
  static Map<String, Path> names;

  /**
   * The names the README uses for things that are not in the repository, and their stand-ins: the published
   * checkpoint is the tiny fixture model (same files and layout: config.json, tf_model.h5, model.safetensors,
   * vocab.txt), a reference directory is the tiny fixture set, the image's features are a fixture case's
   * features written as an LXMERT .tsv row, outputs go to a temporary directory.
   */
  @BeforeAll
  static void names() throws IOException {
    Map<String, Path> m = new LinkedHashMap<>();
    m.put("lxmert-base-uncased", TINY.resolve("model"));
    m.put("image.tsv", tsvOf(TINY.resolve("cases/b1_equal/inputs"), tmp.resolve("image.tsv")));
    m.put("all_ans.json", answers(TINY.resolve("model/config.json"), tmp.resolve("all_ans.json")));
    m.put("/models/lxmert", tmp.resolve("models/lxmert"));
    m.put("/models/lxmert-bf16", tmp.resolve("models/lxmert-bf16"));  // Reduced precision: a bf16 export
    m.put("ref/", TINY);
    m.put("ref/model", TINY.resolve("model"));
    m.put("ref/saved_model/1", unzip(TINY.resolve("saved_model.zip"), tmp.resolve("ref-saved-model")).resolve("1"));
    m.put("parity.json", tmp.resolve("parity.json"));
    m.put("att.png", tmp.resolve("att.png"));
    Path qa = TINY.resolveSibling("qa").resolve("model");       // LxmertForQuestionAnswering, PyTorch weights
    m.put("lxmert-vqa-uncased", qa);
    m.put("trainval_label2ans.json", answers(qa.resolve("config.json"), tmp.resolve("trainval_label2ans.json")));
    m.put("/tmp/lxmert-serving", tmp.resolve("lxmert-serving"));   // Serving: the export before `serve`
    m.put("/tmp/tiny-export", tmp.resolve("tiny-export"));        // Parity in your CI: export, then parity
    m.put("/tmp/tiny-export/1", tmp.resolve("tiny-export/1"));
    names = m;
  }

  @TestFactory
  Stream<DynamicTest> everyReadmeCommandRuns() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (ReadmeExamples.Example e : ReadmeExamples.read()) {
      String reason = e.notRunReason();
      if (reason != null) {
        System.out.println("not run: " + e + " (" + reason + ")");
        continue;
      }
      tests.add(DynamicTest.dynamicTest(e.toString(), () -> {
        assertTrue(e.isLxmert(), e + ": a bash line of the README that is neither a ./lxmert command nor listed in "
            + "ReadmeExamples.NOT_RUN with the reason it cannot run in a test");
        List<String> args = ReadmeExamples.resolvePaths(e, names);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Lxmert.execute(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        String output = out + "\n" + err;
        System.out.println("ran: " + e + "\n  as: lxmert " + String.join(" ", args) + "\n  exit " + code);
        assertEquals(0, code, e + "\n" + output);
        assertFalse(ReadmeExamples.hasStackTrace(output), e + " printed a stack trace:\n" + output);
      }));
    }
    assertTrue(tests.size() >= 5, "the README's bash blocks hold the command examples: found " + tests.size());
    return tests.stream();
  }

  @Test
  void theRunnerSplitsLikeBashAndRefusesWhatNeedsAShell() {
    assertEquals(List.of("./lxmert", "run", "--text", "what's \"this\"?", "a b"),
        ReadmeExamples.split("./lxmert run --text \"what's \\\"this\\\"?\" 'a b'   # comment", 1));
    for (String s : new String[] {"./lxmert run --text $X", "./lxmert inspect x | head", "./lxmert run > out",
        "./lxmert a; rm -rf x", "./lxmert run --text \"$(id)\""}) {
      IllegalArgumentException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> ReadmeExamples.split(s, 1), s);
      assertTrue(ex.getMessage().contains("needs a shell"), ex.getMessage());
    }
    // an unmapped path that is not in the repository is refused, not passed through
    ReadmeExamples.Example e = new ReadmeExamples.Example(1, "./lxmert inspect no-such-checkpoint",
        List.of("./lxmert", "inspect", "no-such-checkpoint"));
    IllegalArgumentException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> ReadmeExamples.resolvePaths(e, names));
    assertTrue(ex.getMessage().contains("no-such-checkpoint is neither in the repository"), ex.getMessage());
    // a --text that happens to name a mapped file is not a path and stays as written
    ReadmeExamples.Example t = new ReadmeExamples.Example(1, "", List.of("./lxmert", "tokenize", "--text", "ref/"));
    assertEquals(List.of("tokenize", "--text", "ref/"), ReadmeExamples.resolvePaths(t, names));
    assertNotNull(names.get("lxmert-base-uncased"));
  }

  /** The features and boxes of a fixture case as one LXMERT .tsv row (pixel boxes of a 640x480 image). */
  static Path tsvOf(Path inputs, Path out) throws IOException {
    FloatArray feats = Npy.readFloat(inputs.resolve("visual_feats.npy"));
    FloatArray boxes = Npy.readFloat(inputs.resolve("visual_pos.npy"));
    float[] px = boxes.data().clone();
    for (int i = 0; i < px.length; i++) {
      px[i] *= (i % 2 == 0) ? 640 : 480;
    }
    String row = String.join("\t", "img1", "480", "640", "", "", "", "", Long.toString(feats.dim(1)), b64(px),
        b64(feats.data()));
    return Files.writeString(out, row + "\n");
  }

  static String b64(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(bb.array());
  }

  /** An answer list as long as the model's answer head, as LXMERT's all_ans.json is for the real one. */
  static Path answers(Path config, Path out) throws IOException {
    int n = LxmertConfig.fromJsonFile(config).numQaLabels();
    return Files.writeString(out, IntStream.range(0, n).mapToObj(i -> "\"answer " + i + "\"")
        .reduce((a, b) -> a + ", " + b).map(s -> "[" + s + "]").orElse("[]"));
  }

  static Path unzip(Path zip, Path target) throws IOException {
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        Path p = target.resolve(e.getName()).normalize();
        if (e.isDirectory()) {
          Files.createDirectories(p);
        } else {
          Files.createDirectories(p.getParent());
          Files.copy((InputStream) in, p);
        }
      }
    }
    return target;
  }
}
