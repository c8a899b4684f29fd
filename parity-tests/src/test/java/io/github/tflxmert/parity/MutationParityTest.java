package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.graph.GraphDefect;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The parity suite must catch real defects, not only pass correct code: each test builds the Java model with one
 * deliberate defect and asserts that the default tolerance model (noise rule on) fails it and that the report's
 * first divergence points at the block where the defect sits. Runs on the committed fixtures, so on any CPU.
 */
class MutationParityTest {

  /** Runs every case of {@code name} through a model built from {@code config}; the first failing case's report. */
  static ParityReport firstFailure(String name, LxmertConfig config, LoadOptions options, String caseName)
      throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertForPreTraining model = LxmertForPreTraining.create(config == null ? ref.config() : config,
             ref.modelDir().resolve("tf_model.h5"), options)) {
      LxmertReference.Case c = ref.caseNamed(caseName);
      ParityReport r = c.compare(name + "/" + c.name() + " (mutated)",
          model.predict(c.inputs(), OutputSelection.of(c.outputNames())).asMap(), References.options(), null);
      System.out.println(r.table());
      return r;
    }
  }

  private static LxmertConfig config(String name, Map<String, Object> change) throws IOException {
    try (LxmertReference ref = References.open(name)) {
      return ref.config().with(change);
    }
  }

  @Test
  void layerNormEpsilonOfBertInsteadOfTheConfigsFails() throws IOException {
    // wide's config says 1e-6; a port that hard-codes BERT's 1e-12 differs from the first LayerNorm on.
    ParityReport r = firstFailure("wide", config("wide", Map.of("layer_norm_eps", 1e-12)), LoadOptions.defaults(),
        "b1_equal");
    assertFalse(r.passed(), r.table());
    assertEquals("language layer 0", r.block(r.firstDivergence().orElseThrow().tensor()), r.summary());
  }

  @Test
  void tanhGeluWhereTheConfigSaysExactFails() throws IOException {
    // The fixtures use hidden_act "gelu" (exact erf); "gelu_new" is the tanh approximation. The first place they
    // differ is the feed-forward block of language layer 0, after its attention.
    for (String name : References.NAMES) {
      ParityReport r = firstFailure(name, config(name, Map.of("hidden_act", "gelu_new")), LoadOptions.defaults(),
          "b1_long");
      assertFalse(r.passed(), r.table());
      assertEquals("language_hidden_states.0", r.firstDivergence().orElseThrow().tensor(), r.summary());
      assertTrue(r.rows().stream().filter(t -> t.tensor().equals("language_attentions.0")).allMatch(
          TensorComparison::passed), "the attention before the feed-forward block is unaffected");
    }
  }

  private static ParityReport withDefect(String name, GraphDefect d, String caseName) throws IOException {
    return firstFailure(name, null, LoadOptions.defaults().withDefectsForTesting(Set.of(d)), caseName);
  }

  @Test
  void transposedHeadSplitFails() throws IOException {
    // Reshaping [B,S,H] into [B,S,d,h] instead of [B,S,h,d] mixes the heads: the first attention map is wrong.
    for (String name : References.NAMES) {
      ParityReport r = withDefect(name, GraphDefect.TRANSPOSED_HEAD_SPLIT, "b1_equal");
      assertFalse(r.passed(), r.table());
      assertEquals("language_attentions.0", r.firstDivergence().orElseThrow().tensor(), r.summary());
    }
  }

  @Test
  void droppedAttentionMaskFails() throws IOException {
    // Only a case with padding can show it: b3_padded has zeros in attention_mask.
    for (String name : References.NAMES) {
      ParityReport r = withDefect(name, GraphDefect.DROPPED_ATTENTION_MASK, "b3_padded");
      assertFalse(r.passed(), r.table());
      assertEquals("language_attentions.0", r.firstDivergence().orElseThrow().tensor(), r.summary());
    }
  }

  @Test
  void swappedCrossAttentionDirectionFails() throws IOException {
    // Everything before the cross encoder is right; its first attention or output is not.
    for (String name : References.NAMES) {
      ParityReport r = withDefect(name, GraphDefect.SWAPPED_CROSS_ATTENTION, "b3_padded");
      assertFalse(r.passed(), r.table());
      assertEquals("cross layer 0", r.block(r.firstDivergence().orElseThrow().tensor()), r.summary());
      assertTrue(r.rows().stream().filter(t -> r.block(t.tensor()).matches("(language|vision) layer \\d+"))
          .allMatch(TensorComparison::passed), "the single-modality layers are unaffected");
    }
  }
}
