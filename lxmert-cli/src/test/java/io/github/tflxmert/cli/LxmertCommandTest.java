package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End-to-end: the real command in a separate JVM, as a user runs it. */
class LxmertCommandTest {
  static final Path FIXTURES = Path.of("../parity-tests/fixtures");
  @TempDir Path tmp;

  record Run(int exit, String out, String err) {}

  static Run lxmert(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Lxmert.class.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES));
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void runOnTheEmbeddedDemoModel() throws Exception {
    // The README's main-job command: the demo model answers about its sample scene 0
    // (a large black cylinder, a small black cube, a large blue cylinder, a small red cube).
    Run r = lxmert("run", "--text", "what shape is the blue object?");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("scene 0: a large black cylinder"), r.out());
    assertTrue(r.out().contains("image-text match probability"), r.out());
    Run j = lxmert("run", "--text", "how many black objects are there?", "--json", "--top-k", "3");
    assertEquals(0, j.exit(), j.err());
    JsonNode n = new ObjectMapper().readTree(j.out());
    assertEquals("2", n.get("answers").get(0).get("answer").asText(), j.out());
    assertTrue(n.get("answers").get(0).get("probability").asDouble() > 0.5, j.out());
    assertEquals(3, n.get("answers").size());
    double p = n.get("match_probability").asDouble();
    assertTrue(p > 0 && p < 1);
    Run m = lxmert("run", "--scene", "2", "--text", "is there a large [MASK] sphere?", "--json", "--top-k", "2");
    assertEquals(0, m.exit(), m.err());
    JsonNode mn = new ObjectMapper().readTree(m.out());
    assertEquals(2, mn.get("masked_words").get(0).get("top").size());
    assertTrue(mn.get("scene").asText().startsWith("scene 2:"));
  }

  @Test
  void runWithNpyAndTsvFeatureFiles() throws Exception {
    Path model = FIXTURES.resolve("tiny/model");
    FloatArray feats = Npy.readFloat(FIXTURES.resolve("tiny/cases/b1_equal/inputs/visual_feats.npy"));
    FloatArray boxes = Npy.readFloat(FIXTURES.resolve("tiny/cases/b1_equal/inputs/visual_pos.npy"));
    Path f = tmp.resolve("f.npy");
    Path b = tmp.resolve("b.npy");
    Npy.write(f, feats);
    Npy.write(b, boxes);
    Run npy = lxmert("run", "--model", model.toString(), "--text", "the cat", "--features", f.toString(),
        "--boxes", b.toString(), "--json");
    assertEquals(0, npy.exit(), npy.err());
    Path objs = tmp.resolve("objects.txt");
    Files.write(objs, java.util.stream.IntStream.range(0, 16).mapToObj(i -> "object" + i).toList());
    Run withObjects = lxmert("run", "--model", model.toString(), "--text", "the cat", "--features", f.toString(),
        "--boxes", b.toString(), "--objects", objs.toString());
    assertEquals(0, withObjects.exit(), withObjects.err());
    assertTrue(withObjects.out().contains("region 9: object object"), withObjects.out());
    // The same image as an LXMERT .tsv row with pixel boxes for a 640x480 image.
    int n = (int) feats.dim(1);
    float[] px = boxes.data().clone();
    for (int i = 0; i < px.length; i++) {
      px[i] *= (i % 2 == 0) ? 640 : 480;
    }
    String row = String.join("\t", "img1", "480", "640", "", "", "", "", Integer.toString(n), b64(px),
        b64(feats.data()));
    Path tsv = tmp.resolve("feats.tsv");
    Files.writeString(tsv, row + "\n");
    Run t = lxmert("run", "--model", model.toString(), "--text", "the cat", "--features", tsv.toString(), "--json");
    assertEquals(0, t.exit(), t.err());
    double p1 = new ObjectMapper().readTree(npy.out()).get("match_probability").asDouble();
    double p2 = new ObjectMapper().readTree(t.out()).get("match_probability").asDouble();
    assertEquals(p1, p2, 1e-5, "same image through .npy and .tsv");
  }

  static String b64(float[] v) {
    ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(bb.array());
  }

  @Test
  void inspectExportAndParity() throws Exception {
    Path model = FIXTURES.resolve("tiny/model");
    Run ins = lxmert("inspect", model.toString());
    assertEquals(0, ins.exit(), ins.err());
    assertTrue(ins.out().contains("heads present: [answer_head, cls, lxmert, obj_predict_head]"), ins.out());
    // The same model as a PyTorch state dict saves the LM decoder as a second view of the word embeddings'
    // storage: the parameter count is the same, the tied tensor counted once.
    Run pt = lxmert("inspect", FIXTURES.resolve("torch/tiny-zip").toString());
    assertEquals(0, pt.exit(), pt.err());
    java.util.regex.Matcher total = java.util.regex.Pattern.compile("total ([0-9,]+) parameters").matcher(ins.out());
    assertTrue(total.find(), ins.out());
    assertTrue(pt.out().contains("total " + total.group(1) + " parameters (129 tensors; 1 tied to an earlier tensor, "
        + "counted once: cls.predictions.decoder.weight)"), pt.out() + " vs " + ins.out());
    Run exp = lxmert("export", "--model", model.toString(), "--out", tmp.resolve("export").toString(),
        "--version", "3");
    assertEquals(0, exp.exit(), exp.err());
    assertTrue(Files.isRegularFile(tmp.resolve("export/3/saved_model.pb")));
    // the base export writes (config.json beside 3/) is inspected as the SavedModel base it is
    assertTrue(Files.isRegularFile(tmp.resolve("export/config.json")));
    Run base = lxmert("inspect", tmp.resolve("export").toString());
    assertEquals(0, base.exit(), base.err());
    assertTrue(base.out().contains("serving_default") && base.out().contains("int64_serving"), base.out());
    // --json on a model directory: the same inventory as the text
    Run js = lxmert("inspect", model.toString(), "--json", "--weights");
    assertEquals(0, js.exit(), js.err());
    com.fasterxml.jackson.databind.JsonNode inv = new ObjectMapper().readTree(js.out());
    assertEquals("model_directory", inv.get("kind").asText());
    assertEquals(total.group(1).replace(",", ""), inv.get("total_parameters").asText());
    assertEquals("[\"answer_head\",\"cls\",\"lxmert\",\"obj_predict_head\"]", inv.get("heads_present").toString());
    assertEquals(inv.get("tensors").asInt(), inv.get("weights").size());
    Run ok = lxmert("parity", "--reference", FIXTURES.resolve("tiny").toString(), "--model", model.toString(),
        "--json", tmp.resolve("report.json").toString());
    assertEquals(0, ok.exit(), ok.out() + ok.err());
    assertTrue(ok.out().contains("PARITY PASSED"));
    assertTrue(new ObjectMapper().readTree(tmp.resolve("report.json").toFile()).get("passed").asBoolean());
    // A perturbed copy of the reference fails, naming the worst tensor.
    Path bad = tmp.resolve("bad");
    copyTree(FIXTURES.resolve("tiny"), bad);
    Path logits = bad.resolve("cases/b1_equal/outputs/pooled_output.npy");
    FloatArray a = Npy.readFloat(logits);
    float[] d = a.data().clone();
    d[3] += 0.01f;
    Npy.write(logits, new FloatArray(a.shape(), d));
    Run fail = lxmert("parity", "--reference", bad.toString(), "--model", model.toString());
    assertEquals(1, fail.exit(), fail.out() + fail.err());
    assertTrue(fail.out().contains("FAILED") && fail.out().contains("worst pooled_output"), fail.out());
    assertTrue(fail.out().contains("first divergence: pooled_output (pooler)"), fail.out());
    // --help shows the tolerance model's two knobs; a negative tolerance is a usage error (exit 2).
    Run help = lxmert("parity", "--help");
    assertTrue(help.out().contains("--rtol") && help.out().contains("--atol") && help.out().contains("--strict"),
        help.out());
    Run neg = lxmert("parity", "--reference", FIXTURES.resolve("tiny").toString(), "--model", model.toString(),
        "--atol", "-1");
    assertEquals(2, neg.exit(), neg.out() + neg.err());
    assertTrue(neg.err().contains("atol"), neg.err());
  }

  @Test
  void savedModelInspectRunAndAttentionPicture() throws Exception {
    Path model = FIXTURES.resolve("tiny/model");
    Path base = tmp.resolve("sm");
    assertEquals(0, lxmert("export", "--model", model.toString(), "--out", base.toString()).exit());
    Run ins = lxmert("inspect", base.resolve("1").toString());
    assertEquals(0, ins.exit(), ins.err());
    assertTrue(ins.out().contains("serving_default") && ins.out().contains("int64_serving"), ins.out());
    Run fromGraph = lxmert("run", "--model", model.toString(), "--text", "the red cube", "--features",
        FIXTURES.resolve("tiny/cases/b1_long/inputs/visual_feats.npy").toString(), "--boxes",
        FIXTURES.resolve("tiny/cases/b1_long/inputs/visual_pos.npy").toString(), "--json");
    Run fromSm = lxmert("run", "--saved-model", base.toString(), "--vocab", model.resolve("vocab.txt").toString(),
        "--text", "the red cube", "--features", FIXTURES.resolve("tiny/cases/b1_long/inputs/visual_feats.npy").toString(),
        "--boxes", FIXTURES.resolve("tiny/cases/b1_long/inputs/visual_pos.npy").toString(), "--json");
    assertEquals(0, fromSm.exit(), fromSm.err());
    // The graph runs fused kernels by default and the export Keras' separate ops, so the numbers agree to
    // rounding (the parity tolerance), not bit for bit (ExportParityTest checks bit equality with fusion off).
    assertEquals(new ObjectMapper().readTree(fromGraph.out()).get("match_probability").asDouble(),
        new ObjectMapper().readTree(fromSm.out()).get("match_probability").asDouble(), 1e-5,
        "export gives the graph's numbers");
    // a version directory finds the vocab.txt export wrote into the base above it
    Run fromVersion = lxmert("run", "--saved-model", base.resolve("1").toString(), "--text", "the red cube",
        "--features", FIXTURES.resolve("tiny/cases/b1_long/inputs/visual_feats.npy").toString(), "--boxes",
        FIXTURES.resolve("tiny/cases/b1_long/inputs/visual_pos.npy").toString(), "--json");
    assertEquals(0, fromVersion.exit(), fromVersion.err());
    com.fasterxml.jackson.databind.node.ObjectNode viaBase = (com.fasterxml.jackson.databind.node.ObjectNode)
        new ObjectMapper().readTree(fromSm.out());
    com.fasterxml.jackson.databind.node.ObjectNode viaVersion = (com.fasterxml.jackson.databind.node.ObjectNode)
        new ObjectMapper().readTree(fromVersion.out());
    assertEquals(base.resolve("1").toString(), viaVersion.remove("model").asText());
    viaBase.remove("model");
    assertEquals(viaBase, viaVersion, "the same SavedModel and vocabulary, the same answer");
    Path png = tmp.resolve("att.png");
    Run att = lxmert("attention", "--text", "what color is the cube?", "--out", png.toString());
    assertEquals(0, att.exit(), att.err());
    java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
    // demo model: 4 heads per row; language 2 layers + vision 1 + cross 2 = 5 rows of panels
    assertTrue(img.getWidth() > 4 * 150 && img.getHeight() > 5 * 100, img.getWidth() + "x" + img.getHeight());
    java.util.Set<Integer> colours = new java.util.HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 3) {
      for (int x = 0; x < img.getWidth(); x += 3) {
        colours.add(img.getRGB(x, y));
      }
    }
    assertTrue(colours.size() > 20, "picture is not blank: " + colours.size() + " colours");
    Run one = lxmert("attention", "--text", "a cube", "--kind", "cross", "--layer", "0", "--head", "1", "--out",
        tmp.resolve("one.html").toString());
    assertEquals(0, one.exit(), one.err());
    assertTrue(Files.readString(tmp.resolve("one.html")).contains("data:image/png;base64,"));
    Run tok = lxmert("tokenize", "--vocab", model.resolve("vocab.txt").toString(), "--text", "The Cat", "--pair",
        "a dog", "--json");
    assertEquals(0, tok.exit(), tok.err());
    JsonNode t = new ObjectMapper().readTree(tok.out());
    assertEquals("[CLS]", t.get("tokens").get(0).asText());
    assertEquals("cat", t.get("tokens").get(2).asText());
    assertEquals(1, t.get("token_type_ids").get(t.get("token_type_ids").size() - 1).asInt());
  }

  @Test
  void badInputPrintsAMessageNotAStackTrace() throws Exception {
    Run missing = lxmert("run", "--model", tmp.resolve("nope").toString(), "--text", "x", "--features",
        tmp.resolve("f.npy").toString());
    assertEquals(2, missing.exit());
    assertTrue(missing.err().startsWith("lxmert: "), missing.err());
    assertFalse(missing.err().contains("\tat "), missing.err());
    Path garbage = tmp.resolve("g.npy");
    Files.writeString(garbage, "not numpy");
    Run g = lxmert("run", "--text", "x", "--features", garbage.toString(), "--boxes", garbage.toString());
    assertEquals(2, g.exit());
    assertTrue(g.err().contains("g.npy") && g.err().contains("not a .npy file"), g.err());
    assertFalse(g.err().contains("\tat "), g.err());
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }
}
