package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Answering questions" commands on a directory laid out as {@code unc-nlp/lxmert-vqa-uncased}
 * (config.json with architectures LxmertForQuestionAnswering, pytorch_model.bin, vocab.txt): the QA reference's model
 * ({@code parity-tests/fixtures/qa/model}, written by HF's PyTorch save_pretrained; its config names 12 answers in
 * id2label) and an LXMERT .tsv features file {@code image.tsv}, run in a separate JVM from the directory that holds
 * them, as a user runs them.
 */
class QuestionAnsweringCommandTest {
  static final Path QA = LxmertCommandTest.FIXTURES.resolve("qa");
  static final List<String> ANSWERS = List.of("yes", "no", "red", "blue", "green", "cube", "sphere", "cylinder", "one",
      "two", "three", "man");
  @TempDir Path tmp;

  /** lxmert-vqa-uncased/ (the QA fixture's model) and image.tsv (case b1_equal's 8 regions, pixel boxes 640x480). */
  @BeforeEach
  void layOut() throws IOException {
    LxmertCommandTest.copyTree(QA.resolve("model"), tmp.resolve("lxmert-vqa-uncased"));
    FloatArray feats = Npy.readFloat(QA.resolve("cases/b1_equal/inputs/visual_feats.npy"));
    FloatArray boxes = Npy.readFloat(QA.resolve("cases/b1_equal/inputs/visual_pos.npy"));
    float[] px = boxes.data().clone();
    for (int i = 0; i < px.length; i++) {
      px[i] *= (i % 2 == 0) ? 640 : 480;
    }
    String row = String.join("\t", "img1", "480", "640", "", "", "", "", Long.toString(feats.dim(1)),
        LxmertCommandTest.b64(px), LxmertCommandTest.b64(feats.data()));
    Files.writeString(tmp.resolve("image.tsv"), row + "\n");
  }

  /** The command run with {@code tmp} as the working directory. */
  LxmertCommandTest.Run lxmert(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Lxmert.class.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES));
    return new LxmertCommandTest.Run(p.exitValue(), new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void runAnswersWithTheLabelsOfConfigJson() throws Exception {
    // The README's command, word for word.
    LxmertCommandTest.Run r = lxmert("run", "--model", "lxmert-vqa-uncased", "--features", "image.tsv", "--text",
        "what is the man holding?");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("model class: LxmertForQuestionAnswering (from config.json architectures"), r.out());
    assertTrue(r.out().contains("answers (softmax of question_answering_score):"), r.out());
    assertFalse(r.out().contains("image-text match"), "a QA model has no matching head: " + r.out());
    LxmertCommandTest.Run j = lxmert("run", "--model", "lxmert-vqa-uncased", "--features", "image.tsv", "--text",
        "what is the man holding?", "--json", "--top-k", "12");
    assertEquals(0, j.exit(), j.err());
    JsonNode n = new ObjectMapper().readTree(j.out());
    assertEquals("LxmertForQuestionAnswering", n.get("model_class").asText());
    assertFalse(n.has("match_probability"));
    assertEquals(12, n.get("answers").size());
    double sum = 0;
    for (JsonNode a : n.get("answers")) {
      assertEquals(ANSWERS.get(a.get("index").asInt()), a.get("answer").asText(), "labels from id2label");
      sum += a.get("probability").asDouble();
    }
    assertEquals(1.0, sum, 1e-4);
    assertTrue(r.out().contains("  " + n.get("answers").get(0).get("answer").asText() + " "), r.out());
    // --answers wins over id2label: a JSON list as airsplay/lxmert's trainval_label2ans.json (the README's command).
    Path answers = tmp.resolve("trainval_label2ans.json");
    Files.writeString(answers, new ObjectMapper().writeValueAsString(ANSWERS.stream().map(a -> "A-" + a).toList()));
    LxmertCommandTest.Run own = lxmert("run", "--model", "lxmert-vqa-uncased", "--features", "image.tsv", "--text",
        "what is the man holding?", "--answers", "trainval_label2ans.json", "--top-k", "5", "--json");
    assertEquals(0, own.exit(), own.err());
    JsonNode ownAnswers = new ObjectMapper().readTree(own.out()).get("answers");
    assertEquals(5, ownAnswers.size());
    assertTrue(own.err().contains("answer labels from trainval_label2ans.json, not config.json's id2label"), own.err());
    assertEquals("A-" + n.get("answers").get(0).get("answer").asText(), ownAnswers.get(0).get("answer").asText());
  }

  /** model.safetensors with PyTorch names and a config.json naming no architecture: the weights decide. */
  @Test
  void withoutArchitecturesTheWeightFileDecides() throws Exception {
    Path dir = tmp.resolve("vqa-st");
    LxmertCommandTest.copyTree(QA.resolve("model-st"), dir);
    String json = Files.readString(dir.resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), json.replaceAll("\"architectures\": \\[[^]]*],", ""));
    LxmertCommandTest.Run r = lxmert("run", "--model", "vqa-st", "--features", "image.tsv", "--text",
        "what color is the cube?", "--json");
    assertEquals(0, r.exit(), r.err());
    JsonNode n = new ObjectMapper().readTree(r.out());
    assertEquals("LxmertForQuestionAnswering", n.get("model_class").asText());
    assertTrue(n.get("model_class_from").asText().contains("model.safetensors"), r.out());
    assertTrue(ANSWERS.contains(n.get("answers").get(0).get("answer").asText()), r.out());
  }

  /** attention --kind draws the cross layers' other attentions; export carries them. */
  @Test
  void attentionKindsAndExportOfTheCrossLayerAttentions() throws Exception {
    for (String kind : List.of("cross-vision", "cross-language-self", "cross-vision-self")) {
      LxmertCommandTest.Run a = lxmert("attention", "--model", "lxmert-vqa-uncased", "--features", "image.tsv",
          "--text", "what is the man holding?", "--kind", kind, "--out", kind + ".png");
      assertEquals(0, a.exit(), a.err());
      // 2 cross layers x 2 heads
      assertTrue(a.out().contains("(4 maps"), a.out());
      assertTrue(Files.size(tmp.resolve(kind + ".png")) > 0);
    }
    LxmertCommandTest.Run all = lxmert("attention", "--model", "lxmert-vqa-uncased", "--features", "image.tsv",
        "--text", "what is the man holding?", "--out", "all.png");
    assertEquals(0, all.exit(), all.err());
    // language 1 + vision 1 + 4 kinds x 2 cross layers = 10 rows of 2 heads
    assertTrue(all.out().contains("(20 maps"), all.out());
    LxmertCommandTest.Run bad = lxmert("attention", "--model", "lxmert-vqa-uncased", "--features", "image.tsv",
        "--text", "x", "--kind", "sideways", "--out", "x.png");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("cross-vision-self") && bad.err().contains("sideways"), bad.err());
    LxmertCommandTest.Run exp = lxmert("export", "--model", "lxmert-vqa-uncased", "--out", "sm",
        "--cross-layer-attentions");
    assertEquals(0, exp.exit(), exp.err());
    assertTrue(exp.out().contains("question_answering_score") && exp.out().contains("cross_encoder_vision_attentions")
        && exp.out().contains("cross_encoder_vision_self_attentions"), exp.out());
    assertFalse(exp.out().contains("prediction_logits"), exp.out());
    LxmertCommandTest.Run fromSm = lxmert("run", "--saved-model", "sm", "--features", "image.tsv", "--text",
        "what is the man holding?", "--json");
    assertEquals(0, fromSm.exit(), fromSm.err());
    LxmertCommandTest.Run fromDir = lxmert("run", "--model", "lxmert-vqa-uncased", "--features", "image.tsv",
        "--text", "what is the man holding?", "--json");
    JsonNode s = new ObjectMapper().readTree(fromSm.out()).get("answers");
    JsonNode d = new ObjectMapper().readTree(fromDir.out()).get("answers");
    assertEquals(d.get(0).get("index"), s.get(0).get("index"), "the export answers as the model does");
    assertEquals(d.get(0).get("probability").asDouble(), s.get(0).get("probability").asDouble(), 1e-5);
  }
}
