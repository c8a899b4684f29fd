package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.parity.ParityOptions;
import io.github.tflxmert.parity.ParityReport;
import io.github.tflxmert.parity.LxmertReference;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad inputs against the tiny fixture model (vocab_size 300, type_vocab_size 2, max_position_embeddings 512,
 * visual_feat_dim 128), starting from the valid case {@code b2_visual_mask} (B=2, S=12, N=7, with a visual mask).
 * Each row must fail with an {@link IllegalArgumentException} that names the field, what was expected and what
 * was found, and must fail in {@link LxmertInputs.Builder#build()} or {@link LxmertInputs#validate}, i.e. in
 * plain Java before predict feeds anything to TensorFlow. After each, the same model instance still returns the
 * reference outputs for the valid case, bit for bit equal to its own first answer.
 */
class BadInputTest {
  static LxmertReference ref;
  static LxmertForPreTraining model;
  static LxmertReference.Case base;
  static Map<String, FloatArray> expected;
  static OutputSelection selection;
  static LxmertOutputs firstAnswer;

  @BeforeAll
  static void open() throws IOException {
    ref = LxmertReference.open(Fixtures.tiny());
    model = LxmertForPreTraining.fromPretrained(Fixtures.tinyModel());
    base = ref.caseNamed("b2_visual_mask");
    expected = base.outputs();
    selection = OutputSelection.of(expected.keySet());
    firstAnswer = model.predict(base.inputs(), selection);
    ParityReport report = base.compare("b2_visual_mask", firstAnswer.asMap(), ParityOptions.defaults(), null);
    assertTrue(report.passed(), report.table());
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
    if (ref != null) {
      ref.close();
    }
  }

  /** The valid case's arrays, to be modified by a row. */
  record Parts(IntArray ids, IntArray mask, IntArray types, FloatArray feats, FloatArray pos, IntArray vmask) {
    LxmertInputs build() {
      return LxmertInputs.builder().inputIds(ids).attentionMask(mask).tokenTypeIds(types).visualFeats(feats)
          .visualPos(pos).visualAttentionMask(vmask).build();
    }
  }

  static Parts parts() throws IOException {
    LxmertInputs in = base.inputs();
    return new Parts(in.inputIds(), in.attentionMask(), in.tokenTypeIds(), in.visualFeats(), in.visualPos(),
        in.visualAttentionMask());
  }

  static IntArray set(IntArray a, int value, long... index) {
    int[] d = a.data().clone();
    d[flat(a.shape(), index)] = value;
    return new IntArray(a.shape(), d);
  }

  static FloatArray set(FloatArray a, float value, long... index) {
    float[] d = a.data().clone();
    d[flat(a.shape(), index)] = value;
    return new FloatArray(a.shape(), d);
  }

  static int flat(long[] shape, long[] index) {
    int f = 0;
    for (int i = 0; i < shape.length; i++) {
      f = f * (int) shape[i] + (int) index[i];
    }
    return f;
  }

  static IntArray ints(int value, long... shape) {
    int[] d = new int[Math.toIntExact(Arrays.stream(shape).reduce(1, (x, y) -> x * y))];
    Arrays.fill(d, value);
    return new IntArray(shape, d);
  }

  static FloatArray floats(float value, long... shape) {
    float[] d = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, (x, y) -> x * y))];
    Arrays.fill(d, value);
    return new FloatArray(shape, d);
  }

  static Arguments row(String name, UnaryOperator<Parts> change, String... fragments) {
    return Arguments.of(name, change, List.of(fragments));
  }

  static Stream<Arguments> badInputs() {
    List<Arguments> rows = new ArrayList<>();
    // ids and token types against the vocabularies
    rows.add(row("id = vocab_size", p -> new Parts(set(p.ids(), 300, 1, 5), p.mask(), p.types(), p.feats(), p.pos(),
        p.vmask()), "input_ids[1, 5]", "expected a value in [0, 300) (vocab_size = 300)", "found 300"));
    rows.add(row("negative id", p -> new Parts(set(p.ids(), -1, 0, 0), p.mask(), p.types(), p.feats(), p.pos(),
        p.vmask()), "input_ids[0, 0]", "expected a value in [0, 300)", "found -1"));
    rows.add(row("id = Integer.MAX_VALUE", p -> new Parts(set(p.ids(), Integer.MAX_VALUE, 1, 11), p.mask(), p.types(),
        p.feats(), p.pos(), p.vmask()), "input_ids[1, 11]", "[0, 300)", "found 2147483647"));
    rows.add(row("token type = type_vocab_size", p -> new Parts(p.ids(), p.mask(), set(p.types(), 2, 0, 3), p.feats(),
        p.pos(), p.vmask()), "token_type_ids[0, 3]", "expected a value in [0, 2) (type_vocab_size = 2)", "found 2"));
    rows.add(row("negative token type", p -> new Parts(p.ids(), p.mask(), set(p.types(), -3, 1, 0), p.feats(),
        p.pos(), p.vmask()), "token_type_ids[1, 0]", "[0, 2)", "found -3"));
    // text length
    rows.add(row("text longer than max_position_embeddings", p -> new Parts(ints(1, 2, 513), ints(1, 2, 513),
        ints(0, 2, 513), p.feats(), p.pos(), p.vmask()), "input_ids",
        "expected a text length <= max_position_embeddings (512)", "found 513"));
    // shapes that disagree between inputs (batch, text length, regions)
    rows.add(row("attention_mask batch 1 vs 2", p -> new Parts(p.ids(), ints(1, 1, 12), p.types(), p.feats(), p.pos(),
        p.vmask()), "attention_mask", "expected shape [2, 12]", "found [1, 12]"));
    rows.add(row("token_type_ids batch 3 vs 2", p -> new Parts(p.ids(), p.mask(), ints(0, 3, 12), p.feats(), p.pos(),
        p.vmask()), "token_type_ids", "expected shape [2, 12]", "found [3, 12]"));
    rows.add(row("visual_feats batch 1 vs 2", p -> new Parts(p.ids(), p.mask(), p.types(), floats(0f, 1, 7, 128),
        p.pos(), p.vmask()), "visual_feats", "expected batch size 2 (from input_ids)", "found 1"));
    rows.add(row("visual_pos batch 3 vs 2", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(),
        floats(0.5f, 3, 7, 4), p.vmask()), "visual_pos", "expected shape [2, 7]", "found [3, 7, 4]"));
    rows.add(row("visual_attention_mask batch 1 vs 2", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(), p.pos(),
        ints(1, 1, 7)), "visual_attention_mask", "expected shape [2, 7]", "found [1, 7]"));
    rows.add(row("attention_mask text length 11 vs 12", p -> new Parts(p.ids(), ints(1, 2, 11), p.types(), p.feats(),
        p.pos(), p.vmask()), "attention_mask", "expected shape [2, 12]", "found [2, 11]"));
    rows.add(row("visual_pos 6 regions vs 7", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(),
        floats(0.5f, 2, 6, 4), p.vmask()), "visual_pos", "expected shape [2, 7]", "found [2, 6, 4]"));
    // widths
    rows.add(row("feature width 127", p -> new Parts(p.ids(), p.mask(), p.types(), floats(0f, 2, 7, 127), p.pos(),
        p.vmask()), "visual_feats", "expected last dimension visual_feat_dim = 128", "found 127"));
    rows.add(row("feature width 2048 (the base model's)", p -> new Parts(p.ids(), p.mask(), p.types(),
        floats(0f, 2, 7, 2048), p.pos(), p.vmask()), "visual_feats", "visual_feat_dim = 128", "found 2048"));
    rows.add(row("box width 5", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(), floats(0.5f, 2, 7, 5),
        p.vmask()), "visual_pos", "expected last dimension 4 (x1, y1, x2, y2)", "found 5"));
    rows.add(row("box width 3", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(), floats(0.5f, 2, 7, 3),
        p.vmask()), "visual_pos", "expected last dimension 4", "found 3"));
    // non-finite numbers
    rows.add(row("NaN in visual_feats", p -> new Parts(p.ids(), p.mask(), p.types(), set(p.feats(), Float.NaN, 1, 2, 3),
        p.pos(), p.vmask()), "visual_feats[1, 2, 3]", "expected a finite number", "found NaN"));
    rows.add(row("+Inf in visual_feats", p -> new Parts(p.ids(), p.mask(), p.types(),
        set(p.feats(), Float.POSITIVE_INFINITY, 0, 6, 127), p.pos(), p.vmask()), "visual_feats[0, 6, 127]",
        "expected a finite number", "found Infinity"));
    rows.add(row("-Inf in visual_pos", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(),
        set(p.pos(), Float.NEGATIVE_INFINITY, 0, 1, 2), p.vmask()), "visual_pos[0, 1, 2]", "expected a finite number",
        "found -Infinity"));
    rows.add(row("NaN in visual_pos", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(),
        set(p.pos(), Float.NaN, 1, 6, 0), p.vmask()), "visual_pos[1, 6, 0]", "expected a finite number", "found NaN"));
    // masks that are not 0/1
    rows.add(row("attention_mask 2", p -> new Parts(p.ids(), set(p.mask(), 2, 0, 4), p.types(), p.feats(), p.pos(),
        p.vmask()), "attention_mask[0, 4]", "expected 0 or 1", "found 2"));
    rows.add(row("attention_mask -1", p -> new Parts(p.ids(), set(p.mask(), -1, 1, 0), p.types(), p.feats(), p.pos(),
        p.vmask()), "attention_mask[1, 0]", "expected 0 or 1", "found -1"));
    rows.add(row("visual_attention_mask 2", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(), p.pos(),
        set(p.vmask(), 2, 1, 6)), "visual_attention_mask[1, 6]", "expected 0 or 1", "found 2"));
    rows.add(row("visual_attention_mask -1", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(), p.pos(),
        set(p.vmask(), -1, 0, 0)), "visual_attention_mask[0, 0]", "expected 0 or 1", "found -1"));
    // empty dimensions
    rows.add(row("empty batch", p -> new Parts(ints(1, 0, 12), null, null, floats(0f, 0, 7, 128),
        floats(0.5f, 0, 7, 4), null), "input_ids", "expected a batch of at least 1", "found an empty batch"));
    rows.add(row("zero regions", p -> new Parts(p.ids(), p.mask(), p.types(), floats(0f, 2, 0, 128),
        floats(0.5f, 2, 0, 4), ints(1, 2, 0)), "visual_feats", "expected at least 1 region", "found 0"));
    rows.add(row("zero-length text", p -> new Parts(ints(1, 2, 0), ints(1, 2, 0), ints(0, 2, 0), p.feats(), p.pos(),
        p.vmask()), "input_ids", "expected a text length of at least 1", "found 0"));
    // ranks and missing inputs
    rows.add(row("input_ids of rank 1", p -> new Parts(ints(1, 12), null, null, p.feats(), p.pos(), null),
        "input_ids", "expected rank 2", "found rank 1"));
    rows.add(row("visual_feats of rank 2", p -> new Parts(p.ids(), p.mask(), p.types(), floats(0f, 2, 128), p.pos(),
        p.vmask()), "visual_feats", "expected rank 3", "found rank 2"));
    rows.add(row("no visual_pos", p -> new Parts(p.ids(), p.mask(), p.types(), p.feats(), null, p.vmask()),
        "visual_pos", "required", "found nothing"));
    return rows.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badInputs")
  void rejectedInJavaWithFieldExpectedFoundThenModelStillAnswers(String name, UnaryOperator<Parts> change,
                                                                List<String> fragments) throws IOException {
    Parts bad = change.apply(parts());
    IllegalArgumentException viaPredict = assertThrows(IllegalArgumentException.class,
        () -> model.predict(bad.build(), selection), name);
    assertAll(fragments.stream().map(f -> () -> assertTrue(viaPredict.getMessage().contains(f),
        "message lacks \"" + f + "\": " + viaPredict.getMessage())));
    // Where predict threw: in build() (shape agreement) or validate() (config), never in TensorFlow.
    IllegalArgumentException inJava = assertThrows(IllegalArgumentException.class,
        () -> bad.build().validate(model.config()));
    assertEquals(viaPredict.getMessage(), inJava.getMessage());
    for (StackTraceElement e : viaPredict.getStackTrace()) {
      assertTrue(!e.getClassName().startsWith("org.tensorflow"), "thrown from TensorFlow: " + e);
    }

    LxmertOutputs again = model.predict(base.inputs(), selection);
    assertEquals(firstAnswer.asMap(), again.asMap(), "same instance, same input: bit-for-bit equal outputs");
    ParityReport report = base.compare(name + " then b2_visual_mask", again.asMap(), ParityOptions.defaults(), null);
    assertTrue(report.passed(), report.table());
  }

  /**
   * Decision: boxes outside [0, 1] are accepted (as HF accepts them) with a warning, not an error; see
   * {@link LxmertInputs#validate}. The warning names the field and index, the expected range and the value.
   */
  @Test
  void boxesOutsideTheUnitSquareAreAcceptedWithAWarning() throws IOException {
    Parts p = parts();
    Parts pixels = new Parts(p.ids(), p.mask(), p.types(), p.feats(), set(p.pos(), 640f, 0, 3, 2), p.vmask());
    LxmertInputs in = pixels.build().validate(model.config());
    String warning = in.visualPosWarning().orElseThrow();
    assertTrue(warning.contains("visual_pos[0, 3, 2]"), warning);
    assertTrue(warning.contains("expected a box coordinate normalised to [0, 1]"), warning);
    assertTrue(warning.contains("found 640.0"), warning);
    LxmertOutputs out = model.predict(in, selection);
    for (FloatArray a : out.asMap().values()) {
      for (float v : a.data()) {
        assertTrue(Float.isFinite(v), "outputs stay finite");
      }
    }
    Parts slightly = new Parts(p.ids(), p.mask(), p.types(), p.feats(), set(p.pos(), -1e-3f, 1, 0, 0), p.vmask());
    assertTrue(slightly.build().validate(model.config()).visualPosWarning().isPresent());
    for (LxmertReference.Case c : ref.cases()) {
      assertTrue(c.inputs().visualPosWarning().isEmpty(), c + " boxes are normalised");
    }
    assertEquals(firstAnswer.asMap(), model.predict(base.inputs(), selection).asMap());
  }

  /** The limits themselves are accepted: id vocab_size - 1, token type 1, text of exactly 512 tokens. */
  @Test
  void boundaryValuesAreAccepted() throws IOException {
    Parts p = parts();
    Parts edge = new Parts(set(p.ids(), 299, 0, 0), p.mask(), set(p.types(), 1, 0, 1), p.feats(), p.pos(), p.vmask());
    assertEquals(2, model.predict(edge.build(), selection).crossRelationshipScore().dim(0));
    Parts longest = new Parts(ints(7, 1, 512), null, null, floats(0.1f, 1, 3, 128), floats(0.5f, 1, 3, 4), null);
    FloatArray logits = model.predict(longest.build(), OutputSelection.of("prediction_logits")).predictionLogits();
    assertEquals(List.of(1L, 512L, 300L), Arrays.stream(logits.shape()).boxed().toList());
  }
}
