package io.github.tflxmert.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The batcher's queue bound, size limit, merge and split, against a predictor that echoes its inputs. */
class ServingBatcherTest {

  /** Returns language_output[b,s,0] = input id, vision_output[b,n,0] = visual_feats[b,n,0]; blocks until opened. */
  static final class EchoPredictor implements LxmertPredictor {
    final CountDownLatch gate;
    final List<Integer> batchRows = new ArrayList<>();

    EchoPredictor(CountDownLatch gate) {
      this.gate = gate;
    }

    @Override
    public LxmertConfig config() {
      throw new UnsupportedOperationException();
    }

    @Override
    public Set<String> availableOutputs() {
      return Set.of("language_output", "vision_output");
    }

    @Override
    public synchronized LxmertOutputs predict(LxmertInputs in, OutputSelection wanted) {
      try {
        gate.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      batchRows.add(in.batchSize());
      int b = in.batchSize();
      int s = in.textLength();
      int n = in.regionCount();
      float[] lang = new float[b * s];
      for (int i = 0; i < lang.length; i++) {
        lang[i] = in.inputIds().data()[i] * in.attentionMask().data()[i];
      }
      float[] vis = new float[b * n];
      for (int i = 0; i < vis.length; i++) {
        vis[i] = in.visualFeats().data()[i * (int) in.visualFeats().dim(2)];
      }
      return new LxmertOutputs(Map.of("language_output", new FloatArray(new long[] {b, s, 1}, lang),
          "vision_output", new FloatArray(new long[] {b, n, 1}, vis)));
    }

    @Override
    public void close() {}
  }

  @Test
  void mergesPadsAndSplitsBack() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    EchoPredictor p = new EchoPredictor(gate);
    try (Batcher b = new Batcher(p, new Batcher.Options(8, 200_000, 1, 10), true, true, "t", null)) {
      OutputSelection sel = OutputSelection.of("language_output", "vision_output");
      List<LxmertInputs> ins = List.of(ServingFixtures.inputs(1, 1, 3, 2), ServingFixtures.inputs(2, 2, 5, 4),
          ServingFixtures.inputs(3, 1, 4, 3));
      List<CompletableFuture<LxmertOutputs>> fs = new ArrayList<>();
      for (LxmertInputs in : ins) {
        fs.add(b.submit(in, sel));
      }
      gate.countDown();
      for (int i = 0; i < ins.size(); i++) {
        LxmertOutputs o = fs.get(i).get(10, TimeUnit.SECONDS);
        LxmertInputs in = ins.get(i);
        FloatArray lang = o.get("language_output");
        assertEquals(List.of((long) in.batchSize(), (long) in.textLength(), 1L), List.of(lang.dim(0), lang.dim(1), lang.dim(2)));
        for (int k = 0; k < lang.data().length; k++) {
          assertEquals(in.inputIds().data()[k], lang.data()[k], "request " + i + " token " + k);
        }
        FloatArray vis = o.get("vision_output");
        assertEquals(in.regionCount(), vis.dim(1));
        for (int k = 0; k < vis.data().length; k++) {
          assertEquals(in.visualFeats().data()[k * 128], vis.data()[k], "request " + i + " region " + k);
        }
      }
      assertTrue(p.batchRows.stream().anyMatch(r -> r > 1), "some requests were merged: " + p.batchRows);
    }
  }

  @Test
  void fullQueueIsResourceExhaustedAndOversizeIsInvalid() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    EchoPredictor p = new EchoPredictor(gate);
    try (Batcher b = new Batcher(p, new Batcher.Options(2, 0, 1, 1), true, true, "t", null)) {
      OutputSelection sel = OutputSelection.of("language_output");
      ServingException big = assertThrows(ServingException.class, () -> b.submit(ServingFixtures.inputs(1, 3, 2, 2), sel));
      assertEquals(ServingException.Code.INVALID_ARGUMENT, big.code());
      assertTrue(big.getMessage().contains("max_batch_size = 2"), big.getMessage());
      List<CompletableFuture<LxmertOutputs>> accepted = new ArrayList<>();
      ServingException full = null;
      for (int i = 0; i < 10 && full == null; i++) { // one batch runs (blocked), then 2 rows fit the queue
        try {
          accepted.add(b.submit(ServingFixtures.inputs(i, 1, 2, 2), sel));
        } catch (ServingException e) {
          full = e;
        }
      }
      assertTrue(full != null, "the queue filled up");
      assertEquals(ServingException.Code.RESOURCE_EXHAUSTED, full.code());
      gate.countDown();
      for (CompletableFuture<LxmertOutputs> f : accepted) {
        f.get(10, TimeUnit.SECONDS); // every accepted request is answered
      }
    }
  }
}
