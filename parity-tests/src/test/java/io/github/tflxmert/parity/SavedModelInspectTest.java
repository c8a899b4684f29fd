package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.savedmodel.SavedModelInfo;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Inspection of the Python-exported fixture SavedModels against what {@code saved_model_cli show --all} printed
 * for them ({@code listings/saved_model_signatures.txt}, written by the reference exporter).
 */
class SavedModelInspectTest {
  static List<String> names() {
    return References.NAMES;
  }

  /** The signature part of the listing (everything before the op set line) is reproduced exactly. */
  @ParameterizedTest
  @MethodSource("names")
  void textMatchesSavedModelCli(String name) throws Exception {
    try (LxmertReference ref = References.open(name)) {
      String listing = Files.readString(ref.file("saved_model_listing"));
      SavedModelInfo info = SavedModelInfo.inspect(ref.savedModelDir());
      String text = info.toText();
      System.out.println(text);
      String opsLine = "The MetaGraph with tag set ";
      assertEquals(listing.substring(0, listing.indexOf(opsLine)), text.substring(0, text.indexOf(opsLine)));
      // saved_model_cli prints a Python set (unordered) of the ops reachable through PartitionedCall f
      // attributes; ours is sorted and covers the whole library, so it may only add ops.
      Set<String> cli = opSet(listing);
      Set<String> ours = opSet(text);
      assertTrue(ours.containsAll(cli), () -> "missing ops " + diff(cli, ours));
      System.out.println(name + ": ops beyond saved_model_cli's set: " + diff(ours, cli));
      assertTrue(text.contains("Ops on the deny-list: none"), text);
    }
  }

  @ParameterizedTest
  @MethodSource("names")
  void jsonHasTheKeyFacts(String name) throws Exception {
    try (LxmertReference ref = References.open(name)) {
      SavedModelInfo info = SavedModelInfo.inspect(ref.savedModelDir().getParent()); // base dir: picks version 1
      JsonNode root = new ObjectMapper().readTree(info.toJson());
      assertEquals(1, root.path("version").asLong());
      assertEquals(1, root.path("metaGraphs").size());
      JsonNode mg = root.path("metaGraphs").get(0);
      assertEquals("[\"serve\"]", mg.path("tags").toString());
      assertEquals("2.18.0", mg.path("tensorflowVersion").asText());
      JsonNode sigs = mg.path("signatures");
      assertEquals(List.of("__saved_model_init_op", "int64_serving", "serving_default"), fieldNames(sigs));

      JsonNode init = sigs.path("__saved_model_init_op").path("outputs").path("__saved_model_init_op");
      assertEquals("DT_INVALID", init.path("dtype").asText());
      assertTrue(init.path("shape").isNull(), "unknown rank must not look like a scalar: " + init);
      assertTrue(init.path("unknownRank").asBoolean());
      assertEquals("NoOp", init.path("name").asText());

      int featDim = ref.config().visualFeatDim();
      int vocab = ref.config().vocabSize();
      int hidden = ref.config().hiddenSize();
      int l = ref.config().lLayers();
      int x = ref.config().xLayers();
      for (String[] s : new String[][] {{"serving_default", "DT_INT32"}, {"int64_serving", "DT_INT64"}}) {
        JsonNode sig = sigs.path(s[0]);
        assertEquals("tensorflow/serving/predict", sig.path("methodName").asText());
        assertEquals(List.of("attention_mask", "input_ids", "token_type_ids", "visual_attention_mask", "visual_feats",
            "visual_pos"), fieldNames(sig.path("inputs")));
        JsonNode ids = sig.path("inputs").path("input_ids");
        assertEquals(s[0] + "_input_ids:0", ids.path("name").asText());
        assertEquals(s[1], ids.path("dtype").asText());
        assertEquals("[-1,-1]", ids.path("shape").toString());
        assertFalse(ids.path("unknownRank").asBoolean());
        assertEquals("DT_FLOAT", sig.path("inputs").path("visual_feats").path("dtype").asText());
        assertEquals("[-1,-1," + featDim + "]", sig.path("inputs").path("visual_feats").path("shape").toString());
        assertEquals("[-1,-1,4]", sig.path("inputs").path("visual_pos").path("shape").toString());
        assertEquals(List.of("cross_encoder_attentions", "cross_relationship_score", "language_attentions",
            "language_hidden_states", "prediction_logits", "question_answering_score", "vision_attentions",
            "vision_hidden_states"), fieldNames(sig.path("outputs")));
        JsonNode out = sig.path("outputs");
        assertEquals("[-1,-1," + vocab + "]", out.path("prediction_logits").path("shape").toString());
        assertEquals("[" + (l + x) + ",-1,-1," + hidden + "]", out.path("language_hidden_states").path("shape").toString());
        assertTrue(out.path("prediction_logits").path("name").asText().startsWith("StatefulPartitionedCall"));
      }
      assertEquals(0, mg.path("unsafeOps").size(), mg.path("unsafeOps").toString());
      assertTrue(mg.path("functionCount").asInt() > 0);
      List<String> ops = fieldValues(mg.path("ops"));
      assertTrue(ops.containsAll(List.of("SaveV2", "RestoreV2", "MergeV2Checkpoints", "BatchMatMulV2", "Erf")), ops.toString());
    }
  }

  private static Set<String> opSet(String text) {
    Matcher m = Pattern.compile("contains the following ops: \\{(.*)}").matcher(text);
    assertTrue(m.find(), "no op set line");
    Set<String> s = new TreeSet<>();
    Arrays.stream(m.group(1).split(",")).map(String::trim).map(t -> t.replace("'", "")).forEach(s::add);
    return s;
  }

  private static Set<String> diff(Set<String> a, Set<String> b) {
    Set<String> d = new TreeSet<>(a);
    d.removeAll(b);
    return d;
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> l = new java.util.ArrayList<>();
    n.fieldNames().forEachRemaining(l::add);
    return l;
  }

  private static List<String> fieldValues(JsonNode n) {
    List<String> l = new java.util.ArrayList<>();
    n.forEach(v -> l.add(v.asText()));
    return l;
  }
}
