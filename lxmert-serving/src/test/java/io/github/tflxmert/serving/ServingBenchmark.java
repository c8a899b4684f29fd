package io.github.tflxmert.serving;

import io.github.tflxmert.LxmertInputs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import tensorflow.serving.Predict.PredictRequest;
import tensorflow.serving.PredictionServiceGrpc;

/**
 * Server throughput and latency over gRPC on 127.0.0.1 (bench/serve-bench.sh runs it): for batching off and on
 * and each concurrency, C clients send the same Predict (B=1, S tokens, N regions, output_filter = the outputs
 * {@code lxmert bench} computes: the three heads) back to back for a fixed time after a warm-up; prints one
 * {@code RESULT} JSON line per run with requests/s, p50 and p99 latency in ms, and {@code SUMMARY} lines: the
 * batching on/off throughput ratio at concurrency 8 against the 1.5x target and, given {@code --bench-p50-ms}
 * (what {@code lxmert bench} measured for the same input), p99 at concurrency 1 over it against the 1.2x target;
 * with batching off and concurrency 1 also a {@code DIRECT} line: gRPC calls alternating call by call with calls of
 * the server's predictor in-process (for twice the seconds), and a SUMMARY of their p50 and p99 ratios: what the
 * server adds with both seeing the machine in the same state. With {@code --interleave P} it then serves the model
 * twice at once, batching off and on, and measures concurrency {@code --interleave-concurrency} (8) in P pairs of
 * segments of {@code --interleave-seconds} each, off/on then on/off in turn (so a host whose speed drifts over
 * minutes slows both alike), and prints an {@code INTERLEAVED} line with each pair's ratio and a SUMMARY of their
 * median and range against the 1.5x target. {@code --jit-warmup S} (0 by default) first sends S seconds of
 * concurrency-1 calls to the first server, once per JVM: at base widths on 2 cores calls were still getting faster
 * 10-15 s in ({@code --timeline true} after a 5 s warm-up: mean per 5 s 153, 149, 143, 142, 142, 144 ms), most
 * likely the JIT compiling gRPC, protobuf and the server's code on the cores the model runs on, so without it the
 * first points measure that. {@code --timeline true} prints, for each
 * concurrency-1 run, a {@code TIMELINE} line: mean and max latency per 5 s, and when the 10 slowest calls started.
 * The DIRECT line also splits the gRPC mean: {@code in_server_mean_ms} (the server's request latency histogram,
 * decode to encode, over the same calls) and {@code client_parse_ms} (this client's protobuf parse of one answer,
 * median of 21), the rest being transport. {@code --response-tensor-content true} serves as
 * {@code lxmert serve --response-tensor-content} does.
 * Batching parameters default to {@code lxmert serve}'s. Not a test: a main in the test sources.
 *
 * <p>Usage: ServingBenchmark (--model HF_DIR | --base BASE) [--seconds 10] [--warmup 3] [--concurrency 1,8,32]
 * [--text 20] [--regions 36] [--max-batch-size 32] [--batch-timeout-micros 1000] [--batch-threads CORES]
 * [--batching off,on] [--outputs a,b,c | --outputs all] [--bench-p50-ms MS] [--interleave P]
 * [--interleave-seconds 15] [--interleave-concurrency 8] [--jit-warmup 0] [--timeline true]
 * [--response-tensor-content true]
 */
public final class ServingBenchmark {
  private ServingBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path model = null;
    Path base = null;
    int seconds = 10;
    int warmup = 3;
    int[] conc = {1, 8, 32};
    int text = 20;
    int regions = 36;
    int maxBatch = 32;
    long timeout = 1000;
    int threads = Runtime.getRuntime().availableProcessors(); // lxmert serve's --num-batch-threads default
    String[] modes = {"off", "on"};
    List<String> outputs = List.of("prediction_logits", "cross_relationship_score", "question_answering_score");
    double benchP50 = Double.NaN;
    int pairs = 0;
    int pairSeconds = 15;
    int pairConcurrency = 8;
    int jitWarmup = 0;
    boolean timeline = false;
    for (int i = 0; i < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--model" -> model = Path.of(v);
        case "--base" -> base = Path.of(v);
        case "--seconds" -> seconds = Integer.parseInt(v);
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--concurrency" -> conc = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
        case "--text" -> text = Integer.parseInt(v);
        case "--regions" -> regions = Integer.parseInt(v);
        case "--max-batch-size" -> maxBatch = Integer.parseInt(v);
        case "--batch-timeout-micros" -> timeout = Long.parseLong(v);
        case "--batch-threads" -> threads = Integer.parseInt(v);
        case "--batching" -> modes = v.split(",");
        case "--outputs" -> outputs = v.equals("all") ? List.of() : List.of(v.split(","));
        case "--bench-p50-ms" -> benchP50 = Double.parseDouble(v);
        case "--interleave" -> pairs = Integer.parseInt(v);
        case "--interleave-seconds" -> pairSeconds = Integer.parseInt(v);
        case "--interleave-concurrency" -> pairConcurrency = Integer.parseInt(v);
        case "--jit-warmup" -> jitWarmup = Integer.parseInt(v);
        case "--timeline" -> timeline = Boolean.parseBoolean(v);
        case "--response-tensor-content" -> tensorContent = Boolean.parseBoolean(v);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    ServedModel.Source src = model != null ? ServedModel.Source.hfModel(model) : ServedModel.Source.basePath(base);
    Map<String, double[]> rps = new java.util.HashMap<>(); // "on@8" -> {rps, p50, p99}
    double[] direct = null; // {p50, p99} of the in-process predictor
    for (String mode : modes) {
      boolean batching = mode.equals("on");
      Batcher.Options b = batching ? new Batcher.Options(maxBatch, timeout, threads, 100) : null;
      try (ModelServer server = ModelServer.start(serverOptions(src, b))) {
        ManagedChannel ch = channel(server);
        try {
          LxmertInputs in = ServingFixturesBench.inputs(text, regions, config(server));
          PredictRequest req = ServingServerTest.request("m", in, true, outputs.toArray(new String[0]));
          if (jitWarmup > 0) {
            run(ch, req, 1, jitWarmup, false);
            jitWarmup = 0;   // the JIT's work is per JVM; each server still gets its --warmup per point
          }
          if (!batching && Arrays.stream(conc).anyMatch(c -> c == 1)) {
            // the model alone in this JVM, alternating call by call with gRPC calls, so both see the machine in the
            // same state (this host's speed drifts by up to 2x over minutes): what the server adds
            Alternating alt = interleaved(server, ch, req, in, outputs, warmup, seconds);
            double directMean = mean(alt.direct()) / 1e6;
            double grpcMean = mean(alt.grpc()) / 1e6;
            Arrays.sort(alt.direct());
            Arrays.sort(alt.grpc());
            direct = new double[] {pct(alt.direct(), 0.5) / 1e6, pct(alt.direct(), 0.99) / 1e6,
                pct(alt.grpc(), 0.5) / 1e6, pct(alt.grpc(), 0.99) / 1e6};
            System.out.printf(Locale.ROOT, "DIRECT {\"pairs\": %d, \"direct_p50_ms\": %.2f, \"direct_p99_ms\": %.2f, "
                + "\"grpc_p50_ms\": %.2f, \"grpc_p99_ms\": %.2f, \"direct_mean_ms\": %.2f, \"grpc_mean_ms\": %.2f, "
                + "\"in_server_mean_ms\": %.2f, \"client_parse_ms\": %.2f, \"answer_bytes\": %d}%n", alt.direct().length,
                direct[0], direct[1], direct[2], direct[3], directMean, grpcMean, alt.inServerMeanMs(),
                alt.clientParseMs(), alt.answerBytes());
          }
          for (int c : conc) {
            run(ch, req, c, warmup, false);
            double[] b0 = batchStats(server);
            long[] lat = run(ch, req, c, seconds, true);
            double[] b1 = batchStats(server);
            double rowsPerRun = b1[1] > b0[1] ? (b1[0] - b0[0]) / (b1[1] - b0[1]) : 1;
            if (timeline && c == 1) {
              System.out.println(timeline(mode, lat));
            }
            Arrays.sort(lat);
            double r = lat.length / (double) seconds;
            rps.put(mode + "@" + c, new double[] {r, pct(lat, 0.5) / 1e6, pct(lat, 0.99) / 1e6});
            System.out.printf(Locale.ROOT, "RESULT {\"batching\": %s, \"concurrency\": %d, \"requests\": %d, "
                    + "\"rps\": %.2f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"text\": %d, \"regions\": %d, "
                    + "\"rows_per_run\": %.2f, \"max_batch_size\": %d, \"batch_timeout_micros\": %d, \"batch_threads\": %d, "
                    + "\"outputs\": \"%s\", \"answers_in\": \"%s\"}%n",
                batching, c, lat.length, r, pct(lat, 0.5) / 1e6, pct(lat, 0.99) / 1e6, text, regions, rowsPerRun, maxBatch,
                timeout, threads, outputs.isEmpty() ? "all" : String.join(",", outputs),
                tensorContent ? "tensor_content" : "float_val");
            System.out.flush();
          }
        } finally {
          ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
      }
    }
    if (pairs > 0) {
      interleavedBatching(src, new Batcher.Options(maxBatch, timeout, threads, 100), text, regions, outputs, pairs,
          pairSeconds, pairConcurrency, warmup);
    }
    if (rps.containsKey("on@8") && rps.containsKey("off@8")) {
      double ratio = rps.get("on@8")[0] / rps.get("off@8")[0];
      System.out.printf(Locale.ROOT, "SUMMARY batching on/off throughput at concurrency 8: %.2f / %.2f req/s = %.2fx "
          + "(target >= 1.5x: %s)%n", rps.get("on@8")[0], rps.get("off@8")[0], ratio, ratio >= 1.5 ? "met" : "NOT met");
    }
    if (!Double.isNaN(benchP50)) {
      for (String mode : modes) {
        if (rps.containsKey(mode + "@1")) {
          double q = rps.get(mode + "@1")[2] / benchP50;
          System.out.printf(Locale.ROOT, "SUMMARY p99 at concurrency 1, batching %s: %.2f ms / lxmert bench p50 %.2f ms "
              + "= %.2fx (target <= 1.2x: %s; p50 %.2f ms = %.2fx)%n", mode, rps.get(mode + "@1")[2], benchP50, q,
              q <= 1.2 ? "met" : "NOT met", rps.get(mode + "@1")[1], rps.get(mode + "@1")[1] / benchP50);
          if (direct != null && mode.equals("off")) {
            System.out.printf(Locale.ROOT, "SUMMARY concurrency 1, gRPC calls alternating with in-process calls of the"
                + " same predictor: p50 %.2f / %.2f ms = %.2fx, p99 %.2f / %.2f ms = %.2fx; gRPC p99 / in-process p50"
                + " = %.2fx (the model's own p99 is %.2fx its p50 here)%n", direct[2], direct[0], direct[2] / direct[0],
                direct[3], direct[1], direct[3] / direct[1], direct[3] / direct[0], direct[1] / direct[0]);
          }
        }
      }
    }
  }

  /**
   * Batching off and on served at once (two servers, each with its own predictor, in this JVM), measured in
   * {@code pairs} pairs of {@code seconds}-second segments at {@code clients} concurrency, the order alternating
   * (off/on, on/off, ...); each segment after a warm-up of {@code warmup} seconds on the same server.
   */
  private static void interleavedBatching(ServedModel.Source src, Batcher.Options batching, int text, int regions,
                                          List<String> outputs, int pairs, int seconds, int clients, int warmup)
      throws Exception {
    try (ModelServer offServer = ModelServer.start(serverOptions(src, null));
         ModelServer onServer = ModelServer.start(serverOptions(src, batching))) {
      ManagedChannel offCh = channel(offServer);
      ManagedChannel onCh = channel(onServer);
      try {
        PredictRequest req = ServingServerTest.request("m", ServingFixturesBench.inputs(text, regions,
            config(offServer)), true, outputs.toArray(new String[0]));
        double[] offRps = new double[pairs];
        double[] onRps = new double[pairs];
        double[] ratios = new double[pairs];
        double rows = 0;
        double runs = 0;
        for (int p = 0; p < pairs; p++) {
          for (int k = 0; k < 2; k++) {
            boolean batched = (p % 2 == 0) == (k == 1);       // pair 0: off then on; pair 1: on then off; ...
            ManagedChannel ch = batched ? onCh : offCh;
            run(ch, req, clients, warmup, false);
            double[] b0 = batchStats(onServer);
            double r = run(ch, req, clients, seconds, true).length / (double) seconds;
            if (batched) {
              double[] b1 = batchStats(onServer);
              rows += b1[0] - b0[0];
              runs += b1[1] - b0[1];
              onRps[p] = r;
            } else {
              offRps[p] = r;
            }
          }
          ratios[p] = onRps[p] / offRps[p];
        }
        double[] sorted = ratios.clone();
        Arrays.sort(sorted);
        double median = pairs % 2 == 1 ? sorted[pairs / 2] : (sorted[pairs / 2 - 1] + sorted[pairs / 2]) / 2;
        System.out.printf(Locale.ROOT, "INTERLEAVED {\"concurrency\": %d, \"pairs\": %d, \"seconds\": %d, "
                + "\"off_rps\": %s, \"on_rps\": %s, \"ratios\": %s, \"median_ratio\": %.2f, \"rows_per_run\": %.2f}%n",
            clients, pairs, seconds, list(offRps), list(onRps), list(ratios), median, runs > 0 ? rows / runs : 1);
        System.out.printf(Locale.ROOT, "SUMMARY batching on/off throughput at concurrency %d, %d interleaved pairs of "
            + "%d s: median %.2fx, range %.2f-%.2fx (target >= 1.5x: %s)%n", clients, pairs, seconds, median,
            sorted[0], sorted[pairs - 1], median >= 1.5 ? "met" : "NOT met");
      } finally {
        offCh.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        onCh.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  /** lxmert serve --response-tensor-content (false: float_val answers, TF Serving's and the server's default). */
  private static boolean tensorContent;

  /** Model "m" on an ephemeral gRPC port of 127.0.0.1, no REST; batching as {@code batching} (null: off). */
  private static ModelServer.Options serverOptions(ServedModel.Source src, Batcher.Options batching) {
    return new ModelServer.Options("127.0.0.1", -1, 0, Map.of("m", src), batching, 0, 4, 64 << 20, 64 << 20, 10)
        .withResponseTensorContent(tensorContent);
  }

  /** The served model's configuration (its feature width and vocabulary size shape the inputs). */
  private static io.github.tflxmert.config.LxmertConfig config(ModelServer server) {
    Servable s = server.models().get("m").acquire(java.util.OptionalLong.empty());
    try {
      return s.config();
    } finally {
      s.release();
    }
  }

  private static ManagedChannel channel(ModelServer server) {
    return ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext()
        .maxInboundMessageSize(256 << 20).build();
  }

  private static String list(double[] v) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < v.length; i++) {
      b.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", v[i]));
    }
    return b.append(']').toString();
  }

  /** {rows, runs} of the batch-size histogram so far (from the Prometheus text; {0, 0} with batching off). */
  private static double[] batchStats(ModelServer server) {
    return histogram(server, "lxmert_serving_batch_size");
  }

  /** {sum, count} of a Prometheus histogram so far, over all its label sets. */
  private static double[] histogram(ModelServer server, String name) {
    double sum = 0;
    double count = 0;
    for (String line : server.metrics().scrape().split("\n")) {
      if (line.startsWith(name + "_sum")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      } else if (line.startsWith(name + "_count")) {
        count += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return new double[] {sum, count};
  }

  private static double mean(long[] v) {
    return Arrays.stream(v).average().orElse(Double.NaN);
  }

  private static double pct(long[] sorted, double q) {
    return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))];
  }

  private static long[] run(ManagedChannel ch, PredictRequest req, int clients, int seconds, boolean record)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    List<Future<List<Long>>> fs = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      fs.add(pool.submit(() -> {
        var stub = PredictionServiceGrpc.newBlockingStub(ch);
        List<Long> l = new ArrayList<>();
        while (System.nanoTime() < end) {
          long t0 = System.nanoTime();
          stub.withDeadlineAfter(300, TimeUnit.SECONDS).predict(req);
          l.add(System.nanoTime() - t0);
        }
        return l;
      }));
    }
    List<Long> all = new ArrayList<>();
    for (Future<List<Long>> f : fs) {
      all.addAll(f.get());
    }
    pool.shutdown();
    return record ? all.stream().mapToLong(Long::longValue).toArray() : new long[0];
  }

  /**
   * One client's latencies in call order (ns) as a {@code TIMELINE} line: mean and max per 5 s of the measured
   * run (calls back to back, so their running sum is the time), and when the 10 slowest calls started.
   */
  private static String timeline(String mode, long[] lat) {
    StringBuilder means = new StringBuilder();
    StringBuilder maxes = new StringBuilder();
    long start = 0;
    int window = 0;
    double sum = 0;
    long max = 0;
    int n = 0;
    long[][] startAndLat = new long[lat.length][];
    for (int i = 0; i < lat.length; i++) {
      startAndLat[i] = new long[] {start, lat[i]};
      if (start / 5_000_000_000L > window && n > 0) {
        means.append(means.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", sum / n / 1e6));
        maxes.append(maxes.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", max / 1e6));
        window = (int) (start / 5_000_000_000L);
        sum = 0;
        max = 0;
        n = 0;
      }
      sum += lat[i];
      max = Math.max(max, lat[i]);
      n++;
      start += lat[i];
    }
    if (n > 0) {
      means.append(means.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", sum / n / 1e6));
      maxes.append(maxes.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", max / 1e6));
    }
    Arrays.sort(startAndLat, (a, b) -> Long.compare(b[1], a[1]));
    StringBuilder slow = new StringBuilder();
    for (int i = 0; i < Math.min(10, startAndLat.length); i++) {
      slow.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", startAndLat[i][0] / 1e9));
    }
    return String.format(Locale.ROOT, "TIMELINE {\"batching\": \"%s\", \"concurrency\": 1, \"mean_ms_per_5s\": [%s], "
        + "\"max_ms_per_5s\": [%s], \"slowest10_start_s\": [%s]}", mode, means, maxes, slow);
  }

  /** The server's request latency histogram (decode to encode). */
  private static final String LATENCY = "lxmert_serving_request_latency_seconds";

  /**
   * Alternating calls: in-process and gRPC latencies (ns), the server's own mean over the gRPC calls (ms, from
   * its latency histogram), the client's parse of one answer (ms, median of 21) and that answer's size.
   */
  private record Alternating(long[] direct, long[] grpc, double inServerMeanMs, double clientParseMs, int answerBytes) {}

  /** The server's own predictor called directly, then over gRPC, in turn. */
  private static Alternating interleaved(ModelServer server, ManagedChannel ch, PredictRequest req, LxmertInputs in,
                                      List<String> outputs, int warmup, int seconds) throws Exception {
    Servable s = server.models().get("m").acquire(java.util.OptionalLong.empty());
    try {
      io.github.tflxmert.OutputSelection sel = io.github.tflxmert.OutputSelection.of(
          s.signature("").outputNames(outputs.isEmpty() ? s.signature("").defaultKeys() : outputs));
      var stub = PredictionServiceGrpc.newBlockingStub(ch);
      List<Long> d = new ArrayList<>();
      List<Long> g = new ArrayList<>();
      double[] inServer = {0, 0};
      for (int pass = 0; pass < 2; pass++) {
        long end = System.nanoTime() + (pass == 0 ? warmup : 2L * seconds) * 1_000_000_000L;
        if (pass == 1) {
          inServer = histogram(server, LATENCY);
        }
        while (System.nanoTime() < end) {
          long t0 = System.nanoTime();
          s.predict(in, sel).get();
          long t1 = System.nanoTime();
          stub.withDeadlineAfter(300, TimeUnit.SECONDS).predict(req);
          long t2 = System.nanoTime();
          if (pass == 1) {
            d.add(t1 - t0);
            g.add(t2 - t1);
          }
        }
      }
      double[] after = histogram(server, LATENCY);
      // what the client's own protobuf parse of one answer costs (part of each gRPC latency, spent in the client)
      byte[] answer = stub.withDeadlineAfter(300, TimeUnit.SECONDS).predict(req).toByteArray();
      long[] parse = new long[21];
      for (int i = 0; i < parse.length; i++) {
        long t0 = System.nanoTime();
        tensorflow.serving.Predict.PredictResponse.parseFrom(answer);
        parse[i] = System.nanoTime() - t0;
      }
      Arrays.sort(parse);
      double inServerMs = after[1] > inServer[1] ? (after[0] - inServer[0]) / (after[1] - inServer[1]) * 1e3 : -1;
      return new Alternating(d.stream().mapToLong(Long::longValue).toArray(),
          g.stream().mapToLong(Long::longValue).toArray(), inServerMs, parse[parse.length / 2] / 1e6, answer.length);
    } finally {
      s.release();
    }
  }

  /**
   * Inputs for any configuration (the fixtures' helper is for the tiny config's 128 features): ids below the
   * vocabulary size (the demo model has 33 words), features of its width.
   */
  static final class ServingFixturesBench {
    static LxmertInputs inputs(int s, int n, io.github.tflxmert.config.LxmertConfig c) {
      int f = c.visualFeatDim();
      java.util.Random r = new java.util.Random(0);
      int[][] ids = new int[1][s];
      for (int i = 0; i < s; i++) {
        ids[0][i] = 1 + r.nextInt(Math.min(250, c.vocabSize() - 1));
      }
      float[] feats = new float[n * f];
      for (int i = 0; i < feats.length; i++) {
        feats[i] = r.nextFloat();
      }
      float[] pos = new float[n * 4];
      for (int i = 0; i < pos.length; i += 4) {
        pos[i] = 0.1f;
        pos[i + 1] = 0.1f;
        pos[i + 2] = 0.6f;
        pos[i + 3] = 0.7f;
      }
      return LxmertInputs.builder().inputIds(ids)
          .visualFeats(new io.github.tflxmert.array.FloatArray(new long[] {1, n, f}, feats))
          .visualPos(new io.github.tflxmert.array.FloatArray(new long[] {1, n, 4}, pos)).build();
    }
  }
}
