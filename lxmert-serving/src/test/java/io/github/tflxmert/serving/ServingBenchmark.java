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
 * Server throughput and latency over gRPC on 127.0.0.1 (bench/serve-bench.sh runs it): for batching on and off
 * and each concurrency, C clients send the same Predict (B=1, S tokens, N regions, the signature's default
 * outputs) back to back for a fixed time after a warm-up; prints one {@code RESULT} JSON line per run with
 * requests/s, p50 and p99 latency in ms. Not a test: a main in the test sources (no main in the library jar).
 *
 * <p>Usage: ServingBenchmark (--model HF_DIR | --base BASE) [--seconds 10] [--warmup 3] [--concurrency 1,8,32]
 * [--text 20] [--regions 36] [--max-batch-size 32] [--batch-timeout-micros 1000] [--batch-threads 1]
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
    int threads = 1;
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
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    ServedModel.Source src = model != null ? ServedModel.Source.hfModel(model) : ServedModel.Source.basePath(base);
    for (boolean batching : new boolean[] {false, true}) {
      ModelServer.Options o = new ModelServer.Options("127.0.0.1", -1, 0, Map.of("m", src),
          batching ? new Batcher.Options(maxBatch, timeout, threads, 100) : null, 0, 4, 64 << 20, 64 << 20, 10);
      try (ModelServer server = ModelServer.start(o)) {
        ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
        try {
          Servable s = server.models().get("m").acquire(java.util.OptionalLong.empty());
          int f = s.config().visualFeatDim();
          s.release();
          LxmertInputs in = ServingFixturesBench.inputs(text, regions, f);
          PredictRequest req = ServingServerTest.request("m", in, true);
          for (int c : conc) {
            run(ch, req, c, warmup, false);
            long[] lat = run(ch, req, c, seconds, true);
            Arrays.sort(lat);
            System.out.printf(Locale.ROOT, "RESULT {\"batching\": %s, \"concurrency\": %d, \"requests\": %d, "
                    + "\"rps\": %.2f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"text\": %d, \"regions\": %d}%n",
                batching, c, lat.length, lat.length / (double) seconds, pct(lat, 0.5) / 1e6, pct(lat, 0.99) / 1e6,
                text, regions);
          }
        } finally {
          ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
      }
    }
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

  /** Inputs of any feature width (the fixtures' helper is for the tiny config's 128). */
  static final class ServingFixturesBench {
    static LxmertInputs inputs(int s, int n, int f) {
      java.util.Random r = new java.util.Random(0);
      int[][] ids = new int[1][s];
      for (int i = 0; i < s; i++) {
        ids[0][i] = 1 + r.nextInt(250);
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
