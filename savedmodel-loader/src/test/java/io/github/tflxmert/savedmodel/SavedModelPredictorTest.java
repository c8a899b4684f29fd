package io.github.tflxmert.savedmodel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SavedModelPredictor} on the Java-exported {@link FakeLxmert} SavedModels, whose outputs are exact. */
class SavedModelPredictorTest {
  @TempDir
  static Path tmp;
  static Path standard;

  @BeforeAll
  static void export() throws Exception {
    standard = FakeLxmert.export(tmp.resolve("standard"), FakeLxmert.Options.standard());
  }

  /** B=2, S=3, N=2; ids, masks and boxes chosen so every output is checkable by hand. */
  static LxmertInputs inputs(int[][] visualMask) {
    float[] feats = new float[2 * 2 * FakeLxmert.F];
    for (int i = 0; i < feats.length; i++) {
      feats[i] = i;
    }
    float[] pos = new float[2 * 2 * 4];
    for (int i = 0; i < pos.length; i++) {
      pos[i] = i / 100f;
    }
    return LxmertInputs.builder()
        .inputIds(new int[][] {{1, 2, 3}, {4, 5, 0}})
        .attentionMask(new int[][] {{1, 1, 1}, {1, 1, 0}})
        .tokenTypeIds(new int[][] {{0, 1, 1}, {0, 0, 1}})
        .visualFeats(new FloatArray(new long[] {2, 2, FakeLxmert.F}, feats))
        .visualPos(new FloatArray(new long[] {2, 2, 4}, pos))
        .visualAttentionMask(visualMask)
        .build();
  }

  @Test
  void derivesConfigAndListsOutputs() throws Exception {
    try (SavedModelPredictor p = SavedModelPredictor.open(standard)) {
      assertEquals("serving_default", p.signatureKey());
      assertEquals("DT_INT32", p.idDtype());
      assertTrue(p.configSource().startsWith("derived"), p.configSource());
      LxmertConfig c = p.config();
      assertEquals(FakeLxmert.V, c.vocabSize());
      assertEquals(FakeLxmert.F, c.visualFeatDim());
      assertEquals(FakeLxmert.F, c.numQaLabels());
      assertEquals(2, c.hiddenSize());
      assertEquals(3, c.lLayers() + c.xLayers());
      assertEquals(2, c.rLayers() + c.xLayers());
      assertEquals(List.of("prediction_logits", "cross_relationship_score", "question_answering_score",
          "language_hidden_states.0", "language_hidden_states.1", "language_hidden_states.2",
          "vision_hidden_states.0", "vision_hidden_states.1"), List.copyOf(p.availableOutputs()));
    }
  }

  @Test
  void computesFeedsAndSplitsExactly() throws Exception {
    for (String sig : List.of("serving_default", "int64_serving")) {
      try (SavedModelPredictor p = SavedModelPredictor.builder(standard).signature(sig).open()) {
        assertEquals(sig.equals("int64_serving") ? "DT_INT64" : "DT_INT32", p.idDtype());
        LxmertOutputs o = p.predict(inputs(null), OutputSelection.of(p.availableOutputs()));
        FloatArray logits = o.predictionLogits();
        assertArrayEquals(new long[] {2, 3, FakeLxmert.V}, logits.shape());
        assertEquals(1f, logits.get(0, 2, 3));
        assertEquals(0f, logits.get(1, 2, 0), "masked position");
        // no visual mask given: fed as ones, so the sum is the region count
        assertArrayEquals(new float[] {2, 2, 1, 2}, o.crossRelationshipScore().data());
        assertArrayEquals(new float[] {0 + 3, 1 + 4, 2 + 5, 6 + 9, 7 + 10, 8 + 11}, o.questionAnsweringScore().data());
        for (int i = 0; i < 3; i++) {
          FloatArray h = o.get("language_hidden_states." + i);
          assertArrayEquals(new long[] {2, 3, 2}, h.shape());
          assertEquals(5f * (i + 1), h.get(1, 1, 0));
          assertEquals(0f, h.get(1, 2, 1));
        }
        FloatArray v1 = o.get("vision_hidden_states.1");
        assertArrayEquals(new long[] {2, 2, 2}, v1.shape());
        assertEquals(2 * 0.13f, v1.get(1, 1, 1), 1e-7);

        LxmertOutputs masked = p.predict(inputs(new int[][] {{1, 0}, {0, 0}}), OutputSelection.of("cross_relationship_score"));
        assertEquals(List.of("cross_relationship_score"), List.copyOf(masked.names()));
        assertArrayEquals(new float[] {2, 1, 1, 0}, masked.crossRelationshipScore().data());
      }
    }
  }

  @Test
  void defaultPredictReturnsTheHeadsTheSignatureHas() throws Exception {
    try (SavedModelPredictor p = SavedModelPredictor.open(standard)) {
      assertEquals(List.of("prediction_logits", "cross_relationship_score", "question_answering_score"),
          List.copyOf(p.predict(inputs(null)).names()));
    }
  }

  @Test
  void picksTheOnlySignatureAndTheHighestVersion() throws Exception {
    Path base = tmp.resolve("serving-base");
    FakeLxmert.export(base.resolve("1"), FakeLxmert.Options.standard());
    FakeLxmert.export(base.resolve("12"), new FakeLxmert.Options(false, true, true, true, null));
    Files.createDirectories(base.resolve("3"));              // a version without a SavedModel is ignored
    Files.createDirectories(base.resolve("tmp-upload"));
    try (SavedModelPredictor p = SavedModelPredictor.builder(base).intraOpThreads(1).interOpThreads(1).open()) {
      assertEquals(12, p.location().version().getAsLong());
      assertEquals("int64_serving", p.signatureKey());
      assertEquals("DT_INT64", p.idDtype());
      assertEquals(2f, p.predict(inputs(null)).crossRelationshipScore().get(0, 0));
    }
  }

  @Test
  void readsConfigJsonOfAHuggingFaceLayoutAndChecksIt() throws Exception {
    Path hf = tmp.resolve("hf");
    FakeLxmert.export(hf.resolve("saved_model").resolve("1"), FakeLxmert.Options.standard());
    LxmertConfig good = LxmertConfig.defaults().with(Map.of("vocab_size", FakeLxmert.V, "visual_feat_dim", FakeLxmert.F,
        "num_qa_labels", FakeLxmert.F, "hidden_size", 2, "num_attention_heads", 1, "l_layers", 2, "x_layers", 1,
        "r_layers", 1, "max_position_embeddings", 8));
    good.writeJson(hf.resolve("config.json"));
    try (SavedModelPredictor p = SavedModelPredictor.open(hf)) {
      assertEquals(hf.resolve("config.json").toString(), p.configSource());
      assertEquals(8, p.config().maxPositionEmbeddings());
    }
    good.with(Map.of("visual_feat_dim", 5)).writeJson(hf.resolve("config.json"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SavedModelPredictor.open(hf));
    assertTrue(e.getMessage().contains("visual_feat_dim = 5") && e.getMessage().contains("'visual_feats'"),
        e.getMessage());
    // an explicit config wins over config.json
    try (SavedModelPredictor p = SavedModelPredictor.builder(hf).config(good).open()) {
      assertEquals("given", p.configSource());
    }
  }

  @Test
  void signatureErrorsListWhatTheSavedModelHas() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SavedModelPredictor.builder(standard).signature("serving").open());
    assertTrue(e.getMessage().contains("no signature 'serving'") && e.getMessage().contains("'serving_default'")
        && e.getMessage().contains("'int64_serving'") && e.getMessage().contains("input_ids"), e.getMessage());

    Path extra = FakeLxmert.export(tmp.resolve("extra"), new FakeLxmert.Options(true, false, true, true, "inputs_embeds"));
    e = assertThrows(IllegalArgumentException.class, () -> SavedModelPredictor.open(extra));
    assertTrue(e.getMessage().contains("requires input 'inputs_embeds'") && e.getMessage().contains("visual_pos"),
        e.getMessage());

    Path noPos = FakeLxmert.export(tmp.resolve("no-pos"), new FakeLxmert.Options(true, false, true, false, null));
    e = assertThrows(IllegalArgumentException.class, () -> SavedModelPredictor.open(noPos));
    assertTrue(e.getMessage().contains("has no input 'visual_pos'") && e.getMessage().contains("visual_feats"),
        e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> SavedModelPredictor.builder(standard).tags("gpu").open());
    assertTrue(e.getMessage().contains("no MetaGraph with tag set [gpu]") && e.getMessage().contains("[serve]"),
        e.getMessage());
  }

  @Test
  void refusesInputsTheSignatureCannotTake() throws Exception {
    Path noMask = FakeLxmert.export(tmp.resolve("no-vmask"), new FakeLxmert.Options(true, false, false, true, null));
    try (SavedModelPredictor p = SavedModelPredictor.open(noMask)) {
      assertEquals(0f, p.predict(inputs(new int[][] {{1, 1}, {1, 1}})).crossRelationshipScore().get(0, 1));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> p.predict(inputs(new int[][] {{1, 0}, {1, 1}})));
      assertTrue(e.getMessage().startsWith("visual_attention_mask: signature 'serving_default' has no such input"),
          e.getMessage());
    }
  }

  @Test
  void validatesInputsAndStaysUsable() throws Exception {
    try (SavedModelPredictor p = SavedModelPredictor.open(standard)) {
      LxmertInputs bad = LxmertInputs.builder().inputIds(new int[][] {{1, FakeLxmert.V}})
          .visualFeats(new FloatArray(new long[] {1, 1, FakeLxmert.F}, new float[FakeLxmert.F]))
          .visualPos(new FloatArray(new long[] {1, 1, 4}, new float[4])).build();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.predict(bad));
      assertTrue(e.getMessage().startsWith("input_ids[0, 1]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> p.predict(inputs(null), OutputSelection.of("obj_predict_head.obj")));
      assertTrue(e.getMessage().contains("[obj_predict_head.obj] not available") && e.getMessage().contains(
          "language_hidden_states.2"), e.getMessage());
      assertEquals(1f, p.predict(inputs(null)).predictionLogits().get(0, 0, 1));
    }
  }

  @Test
  void closeWaitsForCallsAndLaterCallsFail() throws Exception {
    SavedModelPredictor p = SavedModelPredictor.open(standard);
    LxmertInputs in = inputs(null);
    float[] expected = p.predict(in, OutputSelection.of("language_hidden_states.2")).get("language_hidden_states.2").data();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    CountDownLatch fortyDone = new CountDownLatch(40);
    List<Future<?>> fs = new ArrayList<>();
    try {
      for (int t = 0; t < 8; t++) {
        fs.add(pool.submit(() -> {
          for (int i = 0; i < 50; i++) {
            try {
              float[] got = p.predict(in, OutputSelection.of("language_hidden_states.2")).get("language_hidden_states.2").data();
              assertArrayEquals(expected, got);
              ok.incrementAndGet();
              fortyDone.countDown();
            } catch (IllegalStateException e) {
              assertTrue(e.getMessage().contains("closed"), e.getMessage());
              refused.incrementAndGet();
            }
          }
          return null;
        }));
      }
      // Bounded: if the calls fail or hang, the test fails (with the first worker's error) instead of spinning.
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (!fortyDone.await(50, TimeUnit.MILLISECONDS)) {
        for (Future<?> f : fs) {
          if (f.isDone()) {
            f.get(); // a worker that ended early has failed: rethrows its error
          }
        }
        assertFalse(fs.stream().allMatch(Future::isDone), "the workers ended before 40 calls succeeded: " + ok.get()
            + " succeeded, " + refused.get() + " refused");
        assertTrue(System.nanoTime() < deadline, "40 calls did not complete within 2 minutes: " + ok.get() + " did");
      }
      p.close();
      for (Future<?> f : fs) {
        f.get(2, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(400, ok.get() + refused.get());
    assertTrue(ok.get() >= 40);
    assertThrows(IllegalStateException.class, () -> p.predict(in));
    p.close(); // idempotent
  }
}
