package io.github.tflxmert.serving;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters and histograms in Prometheus' text format (served at TF Serving's
 * {@code /monitoring/prometheus/metrics}): requests by model, API, protocol and status code; request latency;
 * rows per merged batch; batch queue depth. Thread-safe (lock-free adders).
 */
public final class Metrics implements Batcher.Listener {
  private static final double[] LATENCY_BUCKETS_S = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128};

  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
  private final Histogram batchRows = new Histogram(BATCH_BUCKETS);
  private final AtomicLong queueDepth = new AtomicLong();

  private static final class Histogram {
    final double[] bounds;
    final LongAdder[] counts;
    final LongAdder total = new LongAdder();
    final java.util.concurrent.atomic.DoubleAdder sum = new java.util.concurrent.atomic.DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds;
      this.counts = new LongAdder[bounds.length];
      for (int i = 0; i < bounds.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void observe(double v) {
      for (int i = 0; i < bounds.length; i++) {
        if (v <= bounds[i]) {
          counts[i].increment();
        }
      }
      total.increment();
      sum.add(v);
    }

    void write(StringBuilder sb, String name, String labels) {
      String sep = labels.isEmpty() ? "" : labels + ",";
      for (int i = 0; i < bounds.length; i++) {
        sb.append(name).append("_bucket{").append(sep).append("le=\"").append(bounds[i]).append("\"} ")
            .append(counts[i].sum()).append('\n');
      }
      sb.append(name).append("_bucket{").append(sep).append("le=\"+Inf\"} ").append(total.sum()).append('\n');
      String l = labels.isEmpty() ? "" : "{" + labels + "}";
      sb.append(name).append("_sum").append(l).append(' ').append(sum.sum()).append('\n');
      sb.append(name).append("_count").append(l).append(' ').append(total.sum()).append('\n');
    }
  }

  /** One finished request; {@code version} is the version that answered, or "" when none did. */
  public void request(String model, String version, String api, String protocol, String code, long nanos) {
    String labels = "model_name=\"" + esc(model) + "\",api=\"" + api + "\",protocol=\"" + protocol + "\"";
    requests.computeIfAbsent(labels + ",model_version=\"" + esc(version) + "\",status=\"" + code + "\"",
        k -> new LongAdder()).increment();
    latency.computeIfAbsent(labels, k -> new Histogram(LATENCY_BUCKETS_S)).observe(nanos / 1e9);
  }

  @Override
  public void batch(int rows, int requestCount) {
    batchRows.observe(rows);
  }

  @Override
  public void queueDepth(int rows) {
    queueDepth.set(rows);
  }

  /** The Prometheus text exposition (version 0.0.4). */
  public String scrape() {
    StringBuilder sb = new StringBuilder();
    sb.append("# HELP lxmert_serving_requests_total Requests by model, API, protocol, version and status code.\n");
    sb.append("# TYPE lxmert_serving_requests_total counter\n");
    new TreeMap<>(requests).forEach((l, c) -> sb.append("lxmert_serving_requests_total{").append(l).append("} ")
        .append(c.sum()).append('\n'));
    sb.append("# HELP lxmert_serving_request_latency_seconds Request latency, decode to encode.\n");
    sb.append("# TYPE lxmert_serving_request_latency_seconds histogram\n");
    new TreeMap<>(latency).forEach((l, h) -> h.write(sb, "lxmert_serving_request_latency_seconds", l));
    sb.append("# HELP lxmert_serving_batch_size Rows per model run under dynamic batching.\n");
    sb.append("# TYPE lxmert_serving_batch_size histogram\n");
    batchRows.write(sb, "lxmert_serving_batch_size", "");
    sb.append("# HELP lxmert_serving_queue_depth Rows waiting in the batch queue.\n");
    sb.append("# TYPE lxmert_serving_queue_depth gauge\n");
    sb.append("lxmert_serving_queue_depth ").append(queueDepth.get()).append('\n');
    return sb.toString();
  }

  private static String esc(String s) {
    return s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
