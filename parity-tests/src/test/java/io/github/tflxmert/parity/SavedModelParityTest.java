package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import io.github.tflxmert.config.LxmertConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Python-exported SavedModel ({@code save_pretrained(saved_model=True)} with hidden states and attentions
 * on) run from Java through {@link SavedModelPredictor}, against the Python reference outputs: for both fixture
 * sets, both signatures ({@code serving_default} with int32 ids, {@code int64_serving} with int64 ids) and every
 * case, every output the SavedModel provides (heads, every hidden state, every attention, split per layer). Against
 * committed fixtures (made on another CPU) the bar is the tolerance model; against a reference generated live on
 * this machine ({@link References#live()}) the same Python program on the same kernels must be bit-identical.
 */
class SavedModelParityTest {
  private static final Logger LOG = LoggerFactory.getLogger(SavedModelParityTest.class);

  static ParityOptions options() {
    return References.live() ? ParityOptions.exact() : References.options();
  }

  static Stream<Arguments> models() {
    List<Arguments> a = new ArrayList<>();
    for (String name : References.NAMES) {
      a.add(Arguments.of(name, "serving_default", "DT_INT32"));
      a.add(Arguments.of(name, "int64_serving", "DT_INT64"));
    }
    return a.stream();
  }

  @ParameterizedTest(name = "{0} via {1}")
  @MethodSource("models")
  void everyProvidedOutputMatchesPython(String name, String signature, String idDtype) throws Exception {
    try (LxmertReference ref = References.open(name);
         SavedModelPredictor p = SavedModelPredictor.builder(ref.savedModelDir()).signature(signature)
             .config(ref.config()).open()) {
      assertEquals(idDtype, p.idDtype());
      List<String> expectedNames = new ArrayList<>(OutputNames.heads(ref.config()));
      expectedNames.addAll(OutputNames.hiddenStates(ref.config()));
      expectedNames.addAll(OutputNames.attentions(ref.config()));
      assertEquals(expectedNames, List.copyOf(p.availableOutputs()), "outputs the SavedModel provides");

      double worst = 0;
      for (LxmertReference.Case c : ref.cases()) {
        LxmertOutputs out = p.predict(c.inputs(), OutputSelection.of(p.availableOutputs()));
        ParityReport report = c.compare(name + "/" + c.name() + " via SavedModel " + signature, out.asMap(),
            options(), p.availableOutputs());
        System.out.println(report.table());
        LOG.info("{}", report.summary());
        assertEquals(p.availableOutputs(), out.names());
        assertTrue(report.passed(), report::table);
        worst = Math.max(worst, report.maxAbs());
      }
      String line = String.format(java.util.Locale.ROOT,
          "SavedModel parity %s via %s: %d cases x %d outputs, max abs %.3g (%s)", name, signature,
          ref.cases().size(), p.availableOutputs().size(), worst, References.live() ? "live reference, exact"
              : "committed reference, tolerance model");
      System.out.println(line);
      LOG.info(line);
    }
  }

  /**
   * Without a given config: the zipped export has no config.json, so the config is derived from the signature
   * shapes; in the Hugging Face layout ({@code config.json} next to {@code saved_model/1}) it is read from there.
   * Either way the heads still match Python under the same bar.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void configFromSignatureShapesOrConfigJson(String name, @TempDir Path tmp) throws Exception {
    try (LxmertReference ref = References.open(name)) {
      LxmertConfig want = ref.config();
      LxmertReference.Case c = ref.caseNamed("b2_visual_mask");
      try (SavedModelPredictor p = SavedModelPredictor.open(ref.savedModelDir().getParent())) { // base dir
        assertTrue(p.configSource().startsWith("derived"), p.configSource());
        Map<String, Object> got = p.config().toJsonMap();
        Map<String, Object> expected = want.toJsonMap();
        for (String field : List.of("vocab_size", "hidden_size", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size", "l_layers", "x_layers", "r_layers", "visual_feat_dim",
            "visual_pos_dim", "num_qa_labels", "num_object_labels", "num_attr_labels", "task_qa", "task_obj_predict")) {
          assertEquals(expected.get(field), got.get(field), field);
        }
        LxmertOutputs out = p.predict(c.inputs());
        assertEquals(OutputNames.heads(want), List.copyOf(out.names()));
        ParityAssertions.assertPassed(c.compare("derived config", out.asMap(), options(), out.names()));
      }
      Path hf = tmp.resolve("hf");
      Path version = Files.createDirectories(hf.resolve("saved_model")).resolve("1");
      Files.createSymbolicLink(version, ref.savedModelDir().toAbsolutePath());
      Files.copy(ref.file("config"), hf.resolve("config.json"));
      try (SavedModelPredictor p = SavedModelPredictor.builder(hf).signature("int64_serving").open()) {
        assertEquals(hf.resolve("config.json").toString(), p.configSource());
        assertEquals(want, p.config());
        LxmertOutputs out = p.predict(c.inputs(), OutputSelection.of("cross_encoder_attentions.0"));
        ParityAssertions.assertPassed(c.compare("config.json", out.asMap(), options(), out.names()));
      }
    }
  }

  static List<String> names() {
    return References.NAMES;
  }
}
