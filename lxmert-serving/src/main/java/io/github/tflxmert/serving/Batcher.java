package io.github.tflxmert.serving;

import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching in front of one predictor (TF Serving's {@code --enable_batching}): concurrent requests are
 * merged into one {@code predict} call of at most {@code maxBatchSize} rows, waiting at most
 * {@code batchTimeoutMicros} after the first request of a batch for more; text is padded to the longest
 * (ids 0, {@code attention_mask} 0), regions to the most ({@code visual_feats}/{@code visual_pos} 0,
 * {@code visual_attention_mask} 0); the outputs are cut back to each request's rows, tokens and regions. Masked
 * positions add {@code -10000} before the softmax, so a request's outputs equal its solo run up to float rounding
 * (the tests hold them to the parity tolerance). A predictor that takes no mask input gets only requests of equal
 * text length / region count merged.
 *
 * <p>The queue holds at most {@code maxEnqueuedBatches * maxBatchSize} rows; past that {@link #submit} fails at
 * once with {@code RESOURCE_EXHAUSTED}. A request larger than {@code maxBatchSize} is {@code INVALID_ARGUMENT}.
 *
 * <p>Thread-safe. Owns its worker threads, not the predictor: {@link #close()} stops taking requests, lets the
 * queued ones run, and joins the workers; the caller then closes the predictor.
 */
public final class Batcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);

  /**
   * TF Serving's batching parameters.
   *
   * @param maxBatchSize       rows per merged call
   * @param batchTimeoutMicros how long the first request of a batch waits for others
   * @param numBatchThreads    batches run concurrently
   * @param maxEnqueuedBatches queue bound, in batches of {@code maxBatchSize} rows
   */
  public record Options(int maxBatchSize, long batchTimeoutMicros, int numBatchThreads, int maxEnqueuedBatches) {
    public Options {
      positive("max_batch_size", maxBatchSize);
      positive("num_batch_threads", numBatchThreads);
      positive("max_enqueued_batches", maxEnqueuedBatches);
      if (batchTimeoutMicros < 0) {
        throw new IllegalArgumentException("batch_timeout_micros: expected >= 0, found " + batchTimeoutMicros);
      }
    }

    /** TF Serving's defaults: 32 rows, 1000 µs, one thread per core, 100 batches. */
    public static Options defaults() {
      return new Options(32, 1000, Math.max(1, Runtime.getRuntime().availableProcessors()), 100);
    }

    private static void positive(String name, long v) {
      if (v <= 0) {
        throw new IllegalArgumentException(name + ": expected a positive number, found " + v);
      }
    }
  }

  /** What the batcher reports (for metrics): the rows of each merged call and the queue depth after a take. */
  public interface Listener {
    void batch(int rows, int requests);

    void queueDepth(int rows);
  }

  private static final class Task {
    final LxmertInputs inputs;
    final OutputSelection wanted;
    final CompletableFuture<LxmertOutputs> result = new CompletableFuture<>();

    Task(LxmertInputs inputs, OutputSelection wanted) {
      this.inputs = inputs;
      this.wanted = wanted;
    }

    int rows() {
      return inputs.batchSize();
    }
  }

  private static final Task POISON = new Task(null, null);

  private final LxmertPredictor predictor;
  private final Options options;
  private final boolean textMask;
  private final boolean regionMask;
  private final Listener listener;
  private final LinkedBlockingQueue<Task> queue = new LinkedBlockingQueue<>();
  private final AtomicInteger queuedRows = new AtomicInteger();
  private final int capacityRows;
  private final List<Thread> workers = new ArrayList<>();
  private volatile boolean closed;

  /**
   * @param textMask   whether the predictor takes {@code attention_mask} (text may be padded)
   * @param regionMask whether it takes {@code visual_attention_mask} (regions may be padded)
   */
  public Batcher(LxmertPredictor predictor, Options options, boolean textMask, boolean regionMask, String name,
                 Listener listener) {
    this.predictor = predictor;
    this.options = options;
    this.textMask = textMask;
    this.regionMask = regionMask;
    this.listener = listener;
    this.capacityRows = (int) Math.min(Integer.MAX_VALUE, (long) options.maxEnqueuedBatches() * options.maxBatchSize());
    for (int i = 0; i < options.numBatchThreads(); i++) {
      Thread t = new Thread(this::work, "batch-" + name + "-" + i);
      t.setDaemon(true);
      workers.add(t);
      t.start();
    }
  }

  public Options options() {
    return options;
  }

  /**
   * Queues validated inputs; the future completes with this request's outputs, or exceptionally with the
   * predictor's error.
   *
   * @throws ServingException INVALID_ARGUMENT if the request has more rows than a batch, RESOURCE_EXHAUSTED if
   *     the queue is full, UNAVAILABLE after {@link #close()}
   */
  public CompletableFuture<LxmertOutputs> submit(LxmertInputs inputs, OutputSelection wanted) {
    if (inputs.batchSize() > options.maxBatchSize()) {
      throw ServingException.invalid("batch size: expected at most max_batch_size = " + options.maxBatchSize()
          + " rows per request, found " + inputs.batchSize());
    }
    if (closed) {
      throw new ServingException(ServingException.Code.UNAVAILABLE, "model is shutting down");
    }
    int rows = inputs.batchSize();
    if (queuedRows.addAndGet(rows) > capacityRows) {
      queuedRows.addAndGet(-rows);
      throw new ServingException(ServingException.Code.RESOURCE_EXHAUSTED, "batch queue full: "
          + capacityRows + " rows (max_enqueued_batches " + options.maxEnqueuedBatches() + " x max_batch_size "
          + options.maxBatchSize() + ") are waiting; retry later");
    }
    Task t = new Task(inputs, wanted);
    queue.add(t);
    return t.result;
  }

  private void work() {
    Deque<Task> carry = new ArrayDeque<>();
    while (true) {
      Task first;
      try {
        first = carry.isEmpty() ? queue.take() : carry.poll();
      } catch (InterruptedException e) {
        return;
      }
      if (first == POISON) {
        queue.add(POISON); // the other workers stop too
        for (Task t : carry) {
          run(List.of(t));
        }
        return;
      }
      List<Task> batch = new ArrayList<>(List.of(first));
      int rows = first.rows();
      long deadline = System.nanoTime() + options.batchTimeoutMicros() * 1000;
      // carried tasks first, then the queue until the batch is full or the timeout passes
      for (int n = carry.size(); n > 0 && rows < options.maxBatchSize(); n--) {
        Task c = carry.poll();
        if (fits(batch, rows, c)) {
          batch.add(c);
          rows += c.rows();
        } else {
          carry.add(c);
        }
      }
      while (rows < options.maxBatchSize()) {
        long wait = deadline - System.nanoTime();
        Task next;
        try {
          next = wait <= 0 ? queue.poll() : queue.poll(wait, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
        if (next == null) {
          break;
        }
        if (next == POISON) {
          queue.add(POISON);
          break;
        }
        if (fits(batch, rows, next)) {
          batch.add(next);
          rows += next.rows();
        } else {
          carry.add(next);
          if (carry.size() > options.maxBatchSize()) {
            break;
          }
        }
      }
      for (Task t : batch) {
        queuedRows.addAndGet(-t.rows());
      }
      if (listener != null) {
        listener.queueDepth(queuedRows.get());
        listener.batch(rows, batch.size());
      }
      run(batch);
    }
  }

  private boolean fits(List<Task> batch, int rows, Task t) {
    Task f = batch.get(0);
    return rows + t.rows() <= options.maxBatchSize() && f.wanted.names().equals(t.wanted.names())
        && (textMask || f.inputs.textLength() == t.inputs.textLength())
        && (regionMask || f.inputs.regionCount() == t.inputs.regionCount());
  }

  private void run(List<Task> batch) {
    try {
      if (batch.size() == 1) {
        Task t = batch.get(0);
        t.result.complete(predictor.predict(t.inputs, t.wanted));
        return;
      }
      List<LxmertInputs> parts = batch.stream().map(t -> t.inputs).toList();
      LxmertOutputs merged = predictor.predict(merge(parts, regionMask), batch.get(0).wanted);
      int offset = 0;
      for (Task t : batch) {
        t.result.complete(split(merged, offset, t.inputs));
        offset += t.rows();
      }
    } catch (RuntimeException | Error e) {
      LOG.debug("batch of {} requests failed", batch.size(), e);
      for (Task t : batch) {
        t.result.completeExceptionally(e);
      }
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    queue.add(POISON);
    for (Thread t : workers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    for (Task t; (t = queue.poll()) != null; ) {
      if (t != POISON) {
        t.result.completeExceptionally(new ServingException(ServingException.Code.UNAVAILABLE, "model is shutting down"));
      }
    }
  }

  // ---- merging and splitting (B rows, S text, N regions, F features) ----

  /** Stacks requests along the batch axis, padding text to the longest and regions to the most. */
  static LxmertInputs merge(List<LxmertInputs> parts, boolean regionMask) {
    int b = 0;
    int s = 0;
    int n = 0;
    boolean anyVisualMask = false;
    for (LxmertInputs p : parts) {
      b += p.batchSize();
      s = Math.max(s, p.textLength());
      n = Math.max(n, p.regionCount());
      anyVisualMask |= p.visualAttentionMask() != null;
    }
    int f = (int) parts.get(0).visualFeats().dim(2);
    int[] ids = new int[b * s];
    int[] mask = new int[b * s];
    int[] types = new int[b * s];
    float[] feats = new float[b * n * f];
    float[] pos = new float[b * n * 4];
    boolean needVisualMask = anyVisualMask || parts.stream().anyMatch(p -> p.regionCount() != parts.get(0).regionCount());
    int[] vmask = needVisualMask && regionMask ? new int[b * n] : null;
    int row = 0;
    for (LxmertInputs p : parts) {
      int ps = p.textLength();
      int pn = p.regionCount();
      int[] pm = p.visualAttentionMask() != null ? p.visualAttentionMask().data() : null;
      for (int r = 0; r < p.batchSize(); r++, row++) {
        System.arraycopy(p.inputIds().data(), r * ps, ids, row * s, ps);
        System.arraycopy(p.attentionMask().data(), r * ps, mask, row * s, ps);
        System.arraycopy(p.tokenTypeIds().data(), r * ps, types, row * s, ps);
        System.arraycopy(p.visualFeats().data(), r * pn * f, feats, row * n * f, pn * f);
        System.arraycopy(p.visualPos().data(), r * pn * 4, pos, row * n * 4, pn * 4);
        if (vmask != null) {
          for (int j = 0; j < pn; j++) {
            vmask[row * n + j] = pm != null ? pm[r * pn + j] : 1;
          }
        }
      }
    }
    LxmertInputs.Builder in = LxmertInputs.builder()
        .inputIds(new IntArray(new long[] {b, s}, ids))
        .attentionMask(new IntArray(new long[] {b, s}, mask))
        .tokenTypeIds(new IntArray(new long[] {b, s}, types))
        .visualFeats(new FloatArray(new long[] {b, n, f}, feats))
        .visualPos(new FloatArray(new long[] {b, n, 4}, pos));
    if (vmask != null) {
      in.visualAttentionMask(new IntArray(new long[] {b, n}, vmask));
    }
    return in.build();
  }

  /** The rows {@code [offset, offset + B)} of every output, each text / region axis cut to this request's. */
  static LxmertOutputs split(LxmertOutputs merged, int offset, LxmertInputs part) {
    Map<String, FloatArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, FloatArray> e : merged.asMap().entrySet()) {
      char[] kinds = OutputAxes.of(e.getKey());
      FloatArray a = e.getValue();
      long[] full = a.shape();
      if (full.length != kinds.length + 1) {
        throw new IllegalStateException(e.getKey() + ": expected rank " + (kinds.length + 1) + ", found shape "
            + java.util.Arrays.toString(full));
      }
      long[] want = full.clone();
      want[0] = part.batchSize();
      for (int i = 0; i < kinds.length; i++) {
        if (kinds[i] == 'S') {
          want[i + 1] = part.textLength();
        } else if (kinds[i] == 'N') {
          want[i + 1] = part.regionCount();
        }
      }
      out.put(e.getKey(), slice(a, offset, want));
    }
    return new LxmertOutputs(out);
  }

  /** The block of {@code a} starting at row {@code offset} (index 0 on every other axis) of shape {@code want}. */
  static FloatArray slice(FloatArray a, int offset, long[] want) {
    long[] full = a.shape();
    int rank = full.length;
    long[] stride = new long[rank];
    stride[rank - 1] = 1;
    for (int i = rank - 2; i >= 0; i--) {
      stride[i] = stride[i + 1] * full[i + 1];
    }
    long total = NdValue.count(want);
    float[] dst = new float[(int) total];
    int inner = (int) want[rank - 1];
    long[] idx = new long[rank - 1]; // index over all axes but the last
    for (int d = 0; d < total; d += inner) {
      long src = offset * stride[0];
      for (int i = 0; i < rank - 1; i++) {
        src += idx[i] * stride[i];
      }
      System.arraycopy(a.data(), (int) src, dst, d, inner);
      for (int i = rank - 2; i >= 0; i--) {
        if (++idx[i] < want[i]) {
          break;
        }
        idx[i] = 0;
      }
    }
    return new FloatArray(want, dst);
  }
}
