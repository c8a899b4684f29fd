package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.GraphPredictor;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertModel;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java graph against the Python model: for both fixture sets, every case, every output (heads, base
 * outputs, every hidden state, every attention, the obj/attr/feat head outputs), loading from tf_model.h5, the
 * TF-format model.safetensors and the PyTorch-format model.safetensors. Bar: the project's tolerance model
 * ({@link References#options()}: {@code |a - e| <= 1e-5 + 1.3e-6 |e|} element-wise, or within twice Python's own
 * eager-vs-traced deviation for the tensor) and equal argmax on every score row.
 */
class GraphParityTest {

  static Stream<Arguments> checkpoints() {
    List<Arguments> args = new ArrayList<>();
    for (String name : References.NAMES) {
      for (String format : List.of("tf_model.h5", "tf_safetensors", "pt_safetensors")) {
        args.add(Arguments.of(name, format));
      }
    }
    return args.stream();
  }

  static Path checkpoint(LxmertReference ref, String format) {
    return switch (format) {
      case "tf_model.h5" -> ref.modelDir().resolve("tf_model.h5");
      case "tf_safetensors" -> ref.modelDir().resolve("model.safetensors");
      default -> ref.ptModelDir().resolve("model.safetensors");
    };
  }

  @ParameterizedTest(name = "{0} via {1}")
  @MethodSource("checkpoints")
  void pretrainingModelMatchesPythonOnEveryOutput(String name, String format) throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertForPreTraining model = LxmertForPreTraining.create(ref.config(), checkpoint(ref, format),
             LoadOptions.defaults())) {
      assertTrue(model.loadPlan().unexpected().isEmpty(), "unexpected tensors: " + model.loadPlan().unexpected());
      assertMatchesEveryCase(ref, model, name, "via " + format);
    }
  }

  /**
   * Load options other than the defaults, under the same bar: TensorFlow's graph optimizer (Grappler) on, which is
   * off by default; fused kernels off, i.e. Dense layers and LayerNorm as Keras builds them (MatMul, BiasAdd,
   * activation), the ops the exporter and trainer use ({@link io.github.tflxmert.graph.KernelFusion}).
   */
  static final Map<String, LoadOptions> OTHER_OPTIONS = Map.of(
      "with the graph optimizer", LoadOptions.defaults().withGraphOptimizer(true),
      "with fused kernels off", LoadOptions.defaults().withKernelFusion(KernelFusion.OFF));

  static Stream<Arguments> otherOptions() {
    List<Arguments> args = new ArrayList<>();
    for (String name : References.NAMES) {
      OTHER_OPTIONS.keySet().stream().sorted().forEach(how -> args.add(Arguments.of(name, how)));
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("otherOptions")
  void matchesWithOtherLoadOptions(String name, String how) throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(ref.modelDir(), OTHER_OPTIONS.get(how))) {
      assertMatchesEveryCase(ref, model, name, how);
    }
  }

  private static void assertMatchesEveryCase(LxmertReference ref, LxmertForPreTraining model, String name,
                                             String how) throws IOException {
    List<String> failures = new ArrayList<>();
    for (LxmertReference.Case c : ref.cases()) {
      Map<String, FloatArray> expected = c.outputs();
      LxmertOutputs out = model.predict(c.inputs(), OutputSelection.of(expected.keySet()));
      ParityReport report = c.compare(name + "/" + c.name() + " " + how, out.asMap(), References.options(), null);
      System.out.println(report.table());
      if (!report.passed()) {
        failures.add(report.summary());
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void baseModelLoadsThePretrainingCheckpointAndMatches(String name) throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertModel model = LxmertModel.fromPretrained(ref.modelDir(),
             LoadOptions.defaults().withWeightFile(ref.modelDir().resolve("tf_model.h5")))) {
      assertTrue(model.loadPlan().unexpected().isEmpty(), "unexpected: " + model.loadPlan().unexpected());
      assertTrue(!model.loadPlan().ignoredHeads().isEmpty(), "the pretraining heads should be ignored, not loaded");
      for (LxmertReference.Case c : ref.cases()) {
        Map<String, FloatArray> expected = new LinkedHashMap<>();
        for (String n : OutputNames.base()) {
          expected.put(n, c.output(n));
        }
        LxmertOutputs out = model.predict(c.inputs());
        assertEquals(expected.keySet(), out.names());
        ParityReport report = c.compare(name + "/" + c.name() + " base model", out.asMap(), References.options(),
            expected.keySet());
        assertTrue(report.passed(), report.table());
      }
    }
  }

  static Stream<String> names() {
    return References.NAMES.stream();
  }

  /** Only the requested outputs come back, and a subset gives the same numbers as the full set. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void selectedOutputsOnly(String name) throws IOException {
    try (LxmertReference ref = References.open(name);
         GraphPredictor model = LxmertForPreTraining.fromPretrained(ref.modelDir())) {
      LxmertReference.Case c = ref.cases().get(1);
      LxmertOutputs one = model.predict(c.inputs(), OutputSelection.of(OutputNames.CROSS_RELATIONSHIP_SCORE));
      assertEquals(List.of(OutputNames.CROSS_RELATIONSHIP_SCORE), new ArrayList<>(one.names()));
      LxmertOutputs all = model.predict(c.inputs(), OutputSelection.all(model.config()));
      assertEquals(all.crossRelationshipScore(), one.crossRelationshipScore());
    }
  }
}
