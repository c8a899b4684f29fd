package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.parity.LxmertReference;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One model instance under concurrent use: 8 threads x 500 calls over the four fixture cases (batch 1 to 3) and
 * four output selections, each result compared bit for bit with the single-threaded result for the same input and
 * the same selection (the selection decides which subgraph TensorFlow runs and how grappler may fuse it, so equal
 * bits are only promised per selection); and {@link LxmertForPreTraining#close()} while calls are in flight:
 * every call either completes with the right result or fails with {@link IllegalStateException}; nothing else
 * happens, and no native crash (which would kill this JVM).
 */
class ConcurrencyTest {
  static LxmertReference ref;
  static List<LxmertInputs> inputs = new ArrayList<>();
  static List<OutputSelection> selections;

  @BeforeAll
  static void open() throws IOException {
    ref = LxmertReference.open(Fixtures.tiny());
    for (LxmertReference.Case c : ref.cases()) {
      inputs.add(c.inputs());
    }
    selections = List.of(
        OutputSelection.heads(ref.config()),
        OutputSelection.all(ref.config()),
        OutputSelection.of(OutputNames.CROSS_RELATIONSHIP_SCORE),
        OutputSelection.of(OutputNames.LANGUAGE_OUTPUT, "vision_attentions.0", "cross_encoder_attentions.0",
            OutputNames.OBJ, OutputNames.POOLED_OUTPUT));
  }

  @AfterAll
  static void close() {
    ref.close();
  }

  @Test
  void eightThreadsFiveHundredCallsEachGiveTheSingleThreadedBits() throws Exception {
    int threads = 8;
    int callsPerThread = 500;
    try (LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(Fixtures.tinyModel())) {
      int combos = inputs.size() * selections.size();
      List<Map<String, FloatArray>> expected = new ArrayList<>();
      for (int k = 0; k < combos; k++) {
        expected.add(model.predict(inputs.get(k % inputs.size()), selections.get(k / inputs.size())).asMap());
      }
      ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
      AtomicInteger done = new AtomicInteger();
      CyclicBarrier start = new CyclicBarrier(threads);
      List<Thread> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        workers.add(new Thread(() -> {
          try {
            start.await();
            for (int i = 0; i < callsPerThread; i++) {
              int k = (i * 7 + id * 3) % combos; // every thread walks every combination, out of step with the others
              Map<String, FloatArray> got = model.predict(inputs.get(k % inputs.size()),
                  selections.get(k / inputs.size())).asMap();
              if (!got.equals(expected.get(k))) {
                problems.add("thread " + id + " call " + i + " combination " + k + ": result differs");
              }
              done.incrementAndGet();
            }
          } catch (Throwable e) {
            problems.add("thread " + id + ": " + e);
          }
        }, "predict-" + t));
      }
      long t0 = System.nanoTime();
      assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
        workers.forEach(Thread::start);
        for (Thread w : workers) {
          w.join();
        }
      });
      System.out.printf("%d threads x %d calls in %.1f s%n", threads, callsPerThread, (System.nanoTime() - t0) / 1e9);
      assertTrue(problems.isEmpty(), problems.size() + " problems, first: " + problems.stream().limit(5).toList());
      assertEquals(threads * callsPerThread, done.get());
    }
  }

  @Test
  void closeWhileCallsAreInFlightWaitsOrFailsThemCleanly() throws Exception {
    LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(Fixtures.tinyModel());
    LxmertInputs in = inputs.get(1);
    OutputSelection sel = selections.get(1);
    Map<String, FloatArray> expected = model.predict(in, sel).asMap();
    int threads = 6;
    AtomicInteger completed = new AtomicInteger();
    AtomicInteger closedErrors = new AtomicInteger();
    ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    CountDownLatch warm = new CountDownLatch(100);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      workers.add(new Thread(() -> {
        while (true) {
          try {
            Map<String, FloatArray> got = model.predict(in, sel).asMap();
            if (!got.equals(expected)) {
              problems.add("a call that completed returned different numbers");
            }
            completed.incrementAndGet();
            warm.countDown();
          } catch (IllegalStateException e) {
            if (!e.getMessage().contains("closed")) {
              problems.add("unexpected message: " + e.getMessage());
            }
            closedErrors.incrementAndGet();
            return;
          } catch (Throwable e) {
            problems.add(e.toString());
            return;
          }
        }
      }));
    }
    assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
      workers.forEach(Thread::start);
      warm.await();
      // Two closers at once while six callers are mid-flight: close is idempotent and waits for running calls.
      Thread other = new Thread(model::close);
      other.start();
      model.close();
      other.join();
      for (Thread w : workers) {
        w.join();
      }
    });
    assertTrue(problems.isEmpty(), String.valueOf(Collections.list(Collections.enumeration(problems))));
    assertEquals(threads, closedErrors.get(), "every caller ends with IllegalStateException");
    assertTrue(model.isClosed());
    IllegalStateException after = assertThrows(IllegalStateException.class, () -> model.predict(in, sel));
    assertTrue(after.getMessage().contains("closed"), after.getMessage());
    System.out.println(completed.get() + " calls completed before close, " + closedErrors.get() + " refused after");
  }
}
