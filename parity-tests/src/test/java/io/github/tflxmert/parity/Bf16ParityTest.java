package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.Bfloat16Support;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.Precision;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.config.OutputNames;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The mixed-bfloat16 graph ({@link Precision#BFLOAT16}) against the float32 Python reference, judged by the
 * bfloat16 accuracy budget ({@link ParityOptions#bfloat16()}: cosine >= 0.999 per tensor, top-1 agreement >= 99 %
 * per score tensor), on every case and every output of both fixture sets. On a CPU without bfloat16 instructions
 * (or with oneDNN capped below them, e.g. {@code ONEDNN_MAX_CPU_ISA=AVX2}) loading in bfloat16 must fail with one
 * line naming what is missing, and {@link Precision#AUTO} must fall back to float32.
 */
class Bf16ParityTest {
  private static final boolean HARDWARE = Bfloat16Support.detect().available();
  private static final LoadOptions BF16 = LoadOptions.defaults().withPrecision(Precision.BFLOAT16);

  /**
   * Every case of a fixture set through one model, kernels packed once by oneDNN (the default) or not: the cases
   * have different text lengths and batch sizes, so the packed kernels are reused across shapes.
   */
  @ParameterizedTest(name = "{0}, packed {1}")
  @CsvSource({"tiny,true", "wide,true", "tiny,false", "wide,false"})
  void bfloat16IsWithinTheBudgetOnEveryOutput(String name, boolean packed) throws IOException {
    Assumptions.assumeTrue(HARDWARE, () -> "no hardware bfloat16: " + Bfloat16Support.detect().missing());
    List<String> failures = new ArrayList<>();
    try (LxmertReference ref = References.open(name);
         LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(ref.modelDir(),
             BF16.withWeightPacking(packed))) {
      assertEquals(Precision.BFLOAT16, model.precision());
      assertEquals(packed, model.weightsPacked());
      for (LxmertReference.Case c : ref.cases()) {
        Map<String, FloatArray> expected = c.outputs();
        LxmertOutputs out = model.predict(c.inputs(), OutputSelection.of(expected.keySet()));
        ParityReport report = c.compare(name + "/" + c.name() + " bf16", out.asMap(), ParityOptions.bfloat16(), null);
        System.out.println(report.table());
        for (String n : List.of(OutputNames.POOLED_OUTPUT, OutputNames.LANGUAGE_OUTPUT, OutputNames.VISION_OUTPUT)) {
          double cos = Budget.cosine(out.get(n).data(), expected.get(n).data());
          assertTrue(cos >= Budget.BFLOAT16.minCosine(), c + " " + n + ": cosine " + cos);
        }
        double qa = Budget.top1Agreement(out.get(OutputNames.QUESTION_ANSWERING_SCORE).data(),
            expected.get(OutputNames.QUESTION_ANSWERING_SCORE).data(),
            (int) expected.get(OutputNames.QUESTION_ANSWERING_SCORE).dim(-1));
        double masked = maskedTop1(c.inputs().inputIds(), out.get(OutputNames.PREDICTION_LOGITS),
            expected.get(OutputNames.PREDICTION_LOGITS), ref.config().vocabSize());
        System.out.printf(Locale.ROOT, "%s/%s bf16: qa top-1 %.3f, LM top-1 at [MASK] %.3f%n", name, c.name(), qa,
            masked);
        // bfloat16 really ran: the float32 tolerance cannot pass it
        assertFalse(c.compare("fp32 bar", out.asMap(), References.options(), null).passed(),
            c + ": a bfloat16 run passed the float32 tolerance; was bfloat16 applied?");
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  /**
   * Top-1 agreement of prediction_logits [B,S,V] over the positions whose input id is [MASK] (id 103 in BERT's
   * vocabulary; where the vocabulary is smaller than that, every position); NaN when there are none.
   */
  static double maskedTop1(IntArray ids, FloatArray actual, FloatArray expected, int vocab) {
    int mask = 103;
    float[] a = actual.data();
    float[] e = expected.data();
    int[] id = ids.data();
    int agree = 0;
    int n = 0;
    for (int p = 0; p < id.length; p++) {
      if (vocab > mask && id[p] != mask) {
        continue;
      }
      float[] ar = java.util.Arrays.copyOfRange(a, p * vocab, (p + 1) * vocab);
      float[] er = java.util.Arrays.copyOfRange(e, p * vocab, (p + 1) * vocab);
      agree += Budget.top1Agreement(ar, er, vocab) == 1 ? 1 : 0;
      n++;
    }
    return n == 0 ? Double.NaN : (double) agree / n;
  }

  /**
   * {@code export --precision bf16}: the signatures still take and return float32, and what the SavedModel computes
   * (read back through the SavedModel loader) is within the budget. The Python side of the same check is
   * parity-tests/python/check_bf16_export.py.
   */
  @Test
  void bfloat16ExportKeepsFloat32SignaturesAndTheBudget(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws IOException {
    // Running bfloat16 where oneDNN is capped below it is not refused by TensorFlow: under ONEDNN_MAX_CPU_ISA=AVX2
    // its bfloat16 matmul killed the JVM with SIGILL. Only the library's own load path checks the hardware.
    Assumptions.assumeTrue(HARDWARE, () -> "no hardware bfloat16: " + Bfloat16Support.detect().missing());
    try (LxmertReference ref = References.open("wide")) {
      java.nio.file.Path dir = io.github.tflxmert.export.SavedModelExporter.export(ref.config(),
          ref.modelDir().resolve("tf_model.h5"), tmp.resolve("export"), 1,
          io.github.tflxmert.export.SavedModelExporter.Options.pretraining().withMixedBfloat16(true));
      try (org.tensorflow.SavedModelBundle b = org.tensorflow.SavedModelBundle.load(dir.toString(), "serve")) {
        for (String sig : List.of("serving_default", "int64_serving")) {
          var sd = b.metaGraphDef().getSignatureDefOrThrow(sig);
          sd.getOutputsMap().forEach((k, t) -> assertEquals(org.tensorflow.proto.DataType.DT_FLOAT, t.getDtype(), k));
          assertEquals(org.tensorflow.proto.DataType.DT_FLOAT, sd.getInputsOrThrow("visual_feats").getDtype());
        }
        assertTrue(b.graph().operations().hasNext());
        boolean bf16MatMul = false;
        for (var it = b.graph().operations(); it.hasNext(); ) {
          var op = it.next();
          if (op.type().contains("MatMul") && op.numOutputs() > 0
              && op.output(0).dataType() == org.tensorflow.proto.DataType.DT_BFLOAT16) {
            bf16MatMul = true;
          }
        }
        assertTrue(bf16MatMul, "no bfloat16 matmul in the exported graph");
      }
      try (io.github.tflxmert.savedmodel.SavedModelPredictor sm = io.github.tflxmert.savedmodel.SavedModelPredictor
          .open(dir)) {
        for (LxmertReference.Case c : ref.cases()) {
          Map<String, FloatArray> expected = new java.util.LinkedHashMap<>(c.outputs());
          expected.keySet().retainAll(sm.availableOutputs());
          Map<String, FloatArray> got = sm.predict(c.inputs(), OutputSelection.of(expected.keySet())).asMap();
          ParityAssertions.assertAllClose("wide/" + c.name() + " bf16 export", expected, got,
              ParityOptions.bfloat16());
        }
      }
    }
  }

  @Test
  void float32PrecisionIsTheDefaultGraphBitForBit() throws IOException {
    try (LxmertReference ref = References.open("tiny");
         LxmertForPreTraining plain = LxmertForPreTraining.fromPretrained(ref.modelDir(), LoadOptions.defaults());
         LxmertForPreTraining fp32 = LxmertForPreTraining.fromPretrained(ref.modelDir(),
             LoadOptions.defaults().withPrecision(Precision.FLOAT32))) {
      assertEquals(Precision.FLOAT32, fp32.precision());
      LxmertReference.Case c = ref.cases().get(0);
      Map<String, FloatArray> a = plain.predict(c.inputs(), OutputSelection.all(ref.config())).asMap();
      Map<String, FloatArray> b = fp32.predict(c.inputs(), OutputSelection.all(ref.config())).asMap();
      ParityAssertions.assertAllClose("fp32 vs default", a, b, ParityOptions.exact());
    }
  }

  @Test
  void withoutHardwareBfloat16Bf16FailsInOneLineAndAutoFallsBack() throws IOException {
    Assumptions.assumeFalse(HARDWARE, "this CPU has hardware bfloat16 (run with ONEDNN_MAX_CPU_ISA=AVX2 to test this)");
    try (LxmertReference ref = References.open("tiny")) {
      UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
          () -> LxmertForPreTraining.fromPretrained(ref.modelDir(), BF16).close());
      assertTrue(e.getMessage().startsWith("precision bf16: ") && !e.getMessage().contains("\n"), e.getMessage());
      try (LxmertForPreTraining auto = LxmertForPreTraining.fromPretrained(ref.modelDir(),
          LoadOptions.defaults().withPrecision(Precision.AUTO))) {
        assertEquals(Precision.FLOAT32, auto.precision());
      }
    }
  }

  @Test
  void autoPicksBfloat16WhereTheHardwareHasIt() throws IOException {
    Assumptions.assumeTrue(HARDWARE, "no hardware bfloat16");
    try (LxmertReference ref = References.open("tiny");
         LxmertForPreTraining auto = LxmertForPreTraining.fromPretrained(ref.modelDir(),
             LoadOptions.defaults().withPrecision(Precision.AUTO))) {
      assertEquals(Precision.BFLOAT16, auto.precision());
    }
  }
}
