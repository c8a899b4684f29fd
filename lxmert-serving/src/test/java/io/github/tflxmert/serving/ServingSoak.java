package io.github.tflxmert.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.array.FloatArray;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import tensorflow.serving.Model.ModelSpec;
import tensorflow.serving.Predict.PredictRequest;
import tensorflow.serving.Predict.PredictResponse;
import tensorflow.serving.PredictionServiceGrpc;

/**
 * The load-and-fault soak of a running {@code lxmert serve} PROCESS (scripts/serve-soak.sh starts it on the tiny
 * model's export, {@code BASE/1/}, and runs this): C clients on 127.0.0.1 for S seconds mix good gRPC and REST
 * predicts (each answer held to that input's solo answer, taken before the load, under the parity tolerance) with
 * bad requests of 14 kinds (each must get its own 4xx / gRPC status); RSS (VmRSS of /proc/PID/status) is sampled
 * every second; at half the warm-up a new version {@code BASE/2/} appears (copied aside, then renamed in) and must take over
 * with no good request lost; at S the server gets SIGTERM while the clients still send: every request it had
 * accepted must be answered in full, later ones refused cleanly (gRPC UNAVAILABLE on a closed port or GOAWAY, REST
 * 503 or a closed port), and the process must exit. Prints one line per check ({@code ok}/{@code FAIL}) and exits
 * 1 when any failed. Not a test: a main in the test sources.
 *
 * <p>Usage: ServingSoak --grpc PORT --rest PORT --pid PID --base BASE [--model m] [--seconds 60] [--clients 16]
 * [--warmup 15] [--swap-at WARMUP/2] [--max-batch-size 8] [--max-body-bytes 1048576] [--rss-bound 0.05]
 */
public final class ServingSoak {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String OUT = "cross_relationship_score";

  private ServingSoak() {}

  /** What one request ended as. */
  private enum End { OK, BAD_OK, REFUSED, FAILED }

  private record Good(LxmertInputs in, FloatArray expected) {}

  private record Bad(String what, Supplier<Object> call, String expected) {}

  private final List<String> failures = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
  private volatile long sigtermAt = Long.MAX_VALUE;
  private volatile long swapAt = Long.MAX_VALUE;

  private void count(String k) {
    counts.computeIfAbsent(k, x -> new AtomicLong()).incrementAndGet();
  }

  private long n(String k) {
    AtomicLong a = counts.get(k);
    return a == null ? 0 : a.get();
  }

  private void failure(String s) {
    if (failures.size() < 50) {
      failures.add(s);
    }
    count("failures");
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>(Map.of("--model", "m", "--seconds", "60", "--clients", "16",
        "--warmup", "15", "--max-batch-size", "8", "--max-body-bytes", "1048576", "--rss-bound", "0.05"));
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i], args[i + 1]);
    }
    for (String k : List.of("--grpc", "--rest", "--pid", "--base")) {
      if (!a.containsKey(k)) {
        throw new IllegalArgumentException(k + ": required");
      }
    }
    System.exit(new ServingSoak().run(a) ? 0 : 1);
  }

  boolean run(Map<String, String> a) throws Exception {
    String model = a.get("--model");
    int grpcPort = Integer.parseInt(a.get("--grpc"));
    String rest = "http://127.0.0.1:" + a.get("--rest");
    long pid = Long.parseLong(a.get("--pid"));
    Path base = Path.of(a.get("--base"));
    int seconds = Integer.parseInt(a.get("--seconds"));
    int clients = Integer.parseInt(a.get("--clients"));
    int warmup = Integer.parseInt(a.get("--warmup"));
    int maxBatch = Integer.parseInt(a.get("--max-batch-size"));
    int maxBody = Integer.parseInt(a.get("--max-body-bytes"));
    double rssBound = Double.parseDouble(a.get("--rss-bound"));
    // the swap is under full load but inside the warm-up, so the RSS check measures steady state with the new
    // version (a load allocates a second model for a moment; what it keeps is printed beside the check)
    int swapSeconds = Integer.parseInt(a.getOrDefault("--swap-at", Integer.toString(warmup / 2)));
    ProcessHandle server = ProcessHandle.of(pid).orElseThrow(() -> new IllegalArgumentException("--pid " + pid + ": no such process"));

    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      channels.add(ManagedChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build());
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    var stub0 = PredictionServiceGrpc.newBlockingStub(channels.get(0));

    // solo answers first (nothing else in flight, so nothing merged with them)
    List<Good> goods = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      LxmertInputs in = ServingFixtures.inputs(100 + i, 1 + i % 2, 2 + i % 7, 1 + i % 4);
      PredictResponse r = stub0.withDeadlineAfter(60, TimeUnit.SECONDS).predict(ServingServerTest.request(model, in, i % 2 == 0, OUT));
      goods.add(new Good(in, ServingServerTest.array(r.getOutputsOrThrow(OUT))));
    }
    List<Bad> bads = bads(model, stub0, http, rest, maxBatch, maxBody, goods.get(0).in());
    for (Bad b : bads) { // each bad kind once before the load: its answer is what the check expects
      String got = outcome(b.call().get());
      if (!got.equals(b.expected())) {
        failure("bad request '" + b.what() + "' before the load: expected " + b.expected() + ", found " + got);
      }
    }
    long rss0 = rss(pid);

    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    List<long[]> rssSamples = new CopyOnWriteArrayList<>(); // {t ms, kB}
    ConcurrentLinkedQueue<Long> versionsAfterSwap = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int id = c;
      Thread t = new Thread(() -> client(id, model, channels.get(id % channels.size()), http, rest, goods, bads,
          versionsAfterSwap), "soak-client-" + c);
      threads.add(t);
      t.start();
    }
    Thread sampler = new Thread(() -> {
      while (server.isAlive() && sigtermAt == Long.MAX_VALUE) {
        try {
          rssSamples.add(new long[] {(System.nanoTime() - start) / 1_000_000, rss(pid)});
          Thread.sleep(1000);
        } catch (IOException | InterruptedException e) {
          return;
        }
      }
    }, "soak-rss");
    sampler.start();

    Thread.sleep(swapSeconds * 1000L); // a new version appears, under load
    Path tmp = base.resolve(".2.partial");
    ServingFixtures.copyTree(base.resolve("1"), tmp);
    Files.move(tmp, base.resolve("2"), StandardCopyOption.ATOMIC_MOVE);
    swapAt = System.nanoTime();
    Thread.sleep(Math.max(0, (end - System.nanoTime()) / 1_000_000));

    sigtermAt = System.nanoTime();
    boolean sent = server.destroy(); // SIGTERM
    boolean exited = server.onExit().get(90, TimeUnit.SECONDS) != null && !server.isAlive();
    long exitedAt = System.nanoTime();
    for (Thread t : threads) {
      t.join(120_000);
    }
    for (ManagedChannel ch : channels) {
      ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }

    // ---- checks ----
    boolean ok = true;
    System.out.printf(Locale.ROOT, "soak: %d clients, %d s, model %s on gRPC %d / REST %s, server pid %d%n", clients,
        seconds, model, grpcPort, rest, pid);
    System.out.printf(Locale.ROOT, "soak: requests: %d good answered (%d gRPC, %d REST), %d bad answered as expected, "
            + "%d refused after SIGTERM; RSS at start %.1f MB%n", n("good"), n("good grpc"), n("good rest"), n("bad"),
        n("refused"), rss0 / 1024.0);
    ok &= check(n("good") > 100 && n("bad") > 50, "load: " + n("good") + " good and " + n("bad")
        + " bad requests (expected > 100 and > 50)");
    List<String> goodFailures = failures.stream().filter(f -> f.startsWith("good")).toList();
    ok &= check(goodFailures.isEmpty(), "0 failed good requests (found " + goodFailures.size() + ")"
        + (goodFailures.isEmpty() ? "" : "; first: " + goodFailures.get(0)));
    List<String> badFailures = failures.stream().filter(f -> f.startsWith("bad")).toList();
    ok &= check(badFailures.isEmpty(), "every bad request answered with its 4xx / gRPC status (" + bads.size()
        + " kinds: " + String.join(", ", bads.stream().map(b -> b.what() + " -> " + b.expected()).toList()) + "); wrong: "
        + badFailures.size() + (badFailures.isEmpty() ? "" : ", first: " + badFailures.get(0)));

    long warm = warmup * 1000L;
    long[] after = rssSamples.stream().filter(s -> s[0] >= warm).mapToLong(s -> s[1]).toArray();
    if (after.length < 10) {
      ok &= check(false, "RSS: expected at least 10 samples after the " + warmup + " s warm-up, found " + after.length);
    } else {
      long first = median(Arrays.copyOfRange(after, 0, 5));
      long last = median(Arrays.copyOfRange(after, after.length - 5, after.length));
      long peak = Arrays.stream(after).max().getAsLong();
      double growth = (last - first) / (double) first;
      ok &= check(growth < rssBound, String.format(Locale.ROOT, "RSS flat after the %d s warm-up: %.1f MB -> %.1f MB "
              + "(%+.2f %%, bound %+.0f %%; peak %.1f MB, %d samples; medians of the first and last 5)", warmup,
          first / 1024.0, last / 1024.0, 100 * growth, 100 * rssBound, peak / 1024.0, after.length));
    }
    StringBuilder traj = new StringBuilder();
    for (long[] smp : rssSamples) {
      if (smp[0] / 1000 % 5 == 0 || smp == rssSamples.get(rssSamples.size() - 1)) {
        traj.append(String.format(Locale.ROOT, " %ds:%.0f", smp[0] / 1000, smp[1] / 1024.0));
      }
    }
    System.out.println("info RSS (MB) over the load, swap at " + swapSeconds + " s:" + traj);
    long v2 = versionsAfterSwap.stream().filter(v -> v == 2).count();
    ok &= check(v2 > 0 && goodFailures.isEmpty(), "version swap under load: BASE/2/ appeared at "
        + (swapAt - start) / 1_000_000_000 + " s; " + v2 + " good answers from version 2 after it, "
        + versionsAfterSwap.stream().filter(v -> v == 1).count() + " from version 1 (in flight or before the switch); no good request lost");
    ok &= check(sent && exited, "SIGTERM during the load: " + (sent ? "sent" : "NOT sent") + "; the process "
        + (exited ? "exited after " + String.format(Locale.ROOT, "%.1f", (exitedAt - sigtermAt) / 1e9) + " s" : "did NOT exit within 90 s"));
    List<String> cut = failures.stream().filter(f -> f.startsWith("cut")).toList();
    ok &= check(cut.isEmpty(), "every request accepted before or after SIGTERM answered in full: " + n("inflight ok")
        + " in flight at SIGTERM answered, " + n("refused") + " later ones refused cleanly (" + n("refused grpc")
        + " gRPC UNAVAILABLE, " + n("refused rest 503") + " REST 503, " + n("refused rest port") + " REST closed port, "
        + n("refused rest closed") + " REST kept-alive connection closed unread), "
        + cut.size() + " cut" + (cut.isEmpty() ? "" : "; first: " + cut.get(0)));
    List<String> other = failures.stream().filter(f -> !f.startsWith("good") && !f.startsWith("bad") && !f.startsWith("cut")).toList();
    ok &= check(other.isEmpty(), "no other error" + (other.isEmpty() ? "" : ": " + other.get(0)));
    System.out.println(ok ? "soak: all checks passed" : "soak: FAILED");
    return ok;
  }

  private static boolean check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    return ok;
  }

  private static long median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  /** VmRSS of the process, in kB. */
  static long rss(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("/proc/" + pid + "/status: no VmRSS line");
  }

  private void client(int id, String model, ManagedChannel ch, HttpClient http, String rest, List<Good> goods,
                      List<Bad> bads, ConcurrentLinkedQueue<Long> versionsAfterSwap) {
    Random r = new Random(id);
    var stub = PredictionServiceGrpc.newBlockingStub(ch);
    while (true) {
      long t0 = System.nanoTime();
      if (sigtermAt != Long.MAX_VALUE && t0 - sigtermAt > 60_000_000_000L) {
        failure("client " + id + ": still not refused 60 s after SIGTERM");
        return;
      }
      int kind = r.nextInt(10);
      End e;
      if (kind < 5) {
        e = goodGrpc(stub, model, goods.get(r.nextInt(goods.size())), r.nextBoolean(), t0, versionsAfterSwap);
      } else if (kind < 7) {
        e = goodRest(http, rest, model, goods.get(r.nextInt(goods.size())), t0);
      } else {
        Bad b = bads.get(r.nextInt(bads.size()));
        String got0;
        try {
          got0 = outcome(b.call().get());
        } catch (RuntimeException ex) {
          got0 = "exception " + ex;
        }
        String got = got0;
        e = classify(got, t0, () -> got.equals(b.expected()) ? null : "bad request '" + b.what() + "': expected "
            + b.expected() + ", found " + got);
        if (e == End.OK) {
          count("bad");
        }
      }
      if (e == End.REFUSED) {
        count("refused");
        return; // a refused client goes elsewhere, as behind a load balancer
      }
    }
  }

  /**
   * Sorts an outcome: before SIGTERM it must be the expected one; a request started before SIGTERM must still get
   * it (it was accepted); one started after may also be refused cleanly.
   *
   * @param mismatch null when the outcome is the expected one, else the failure text
   */
  private End classify(String got, long t0, Supplier<String> mismatch) {
    String m = mismatch.get();
    if (m == null) {
      if (t0 < sigtermAt && System.nanoTime() > sigtermAt) {
        count("inflight ok");
      }
      return End.OK;
    }
    boolean afterTerm = System.nanoTime() >= sigtermAt;
    if (afterTerm && refusal(got, t0 >= sigtermAt)) {
      count(got.startsWith("grpc") ? "refused grpc" : got.contains("503") ? "refused rest 503"
          : got.equals("http refused") ? "refused rest port" : "refused rest closed");
      return End.REFUSED;
    }
    failure((afterTerm ? "cut " + (t0 < sigtermAt ? "(accepted before SIGTERM) " : "(sent after SIGTERM) ") : "") + m);
    return End.FAILED;
  }

  /**
   * A clean refusal: nothing was processed (gRPC UNAVAILABLE on a closed port / GOAWAY, REST 503 or a closed port;
   * for a request sent after SIGTERM also a kept-alive connection the server closed before reading it, which
   * HTTP/1.1 allows and a client cannot tell from a closed port: RFC 9112 9.3.1. The server's own log says whether
   * every exchange it took was answered).
   */
  private static boolean refusal(String got, boolean sentAfterTerm) {
    return got.equals("grpc UNAVAILABLE (refused)") || got.equals("http 503") || got.equals("http refused")
        || (sentAfterTerm && got.startsWith("http io ") && got.contains("received no bytes"));
  }

  private End goodGrpc(PredictionServiceGrpc.PredictionServiceBlockingStub stub, String model, Good g, boolean content,
                       long t0, ConcurrentLinkedQueue<Long> versionsAfterSwap) {
    String got;
    PredictResponse r = null;
    try {
      r = stub.withDeadlineAfter(60, TimeUnit.SECONDS).predict(ServingServerTest.request(model, g.in(), content, OUT));
      got = "grpc OK";
    } catch (StatusRuntimeException e) {
      got = grpcOutcome(e);
    }
    PredictResponse resp = r;
    String g0 = got;
    End e = classify(got, t0, () -> resp == null ? "good gRPC request: expected OK, found " + g0 : compare(g, resp));
    if (e == End.OK) {
      count("good");
      count("good grpc");
      if (t0 > swapAt) {
        versionsAfterSwap.add(resp.getModelSpec().getVersion().getValue());
      }
    }
    return e;
  }

  private static String compare(Good g, PredictResponse r) {
    TensorProto t = r.getOutputsOrThrow(OUT);
    return compare(g, ServingServerTest.array(t), "gRPC version " + r.getModelSpec().getVersion().getValue());
  }

  private static String compare(Good g, FloatArray got, String what) {
    if (!Arrays.equals(g.expected().shape(), got.shape())) {
      return "good " + what + ": expected shape " + Arrays.toString(g.expected().shape()) + ", found " + Arrays.toString(got.shape());
    }
    float[] e = g.expected().data();
    float[] a = got.data();
    for (int i = 0; i < e.length; i++) {
      if (!(Math.abs((double) a[i] - e[i]) <= ServingFixtures.ATOL + ServingFixtures.RTOL * Math.abs(e[i]))) {
        return "good " + what + ": " + OUT + "[" + i + "] expected " + e[i] + " (its solo answer), found " + a[i];
      }
    }
    return null;
  }

  private End goodRest(HttpClient http, String rest, String model, Good g, long t0) {
    String got;
    String body = null;
    try {
      HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(rest + "/v1/models/" + model + ":predict"))
          .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(columnar(g.in()))).build(),
          HttpResponse.BodyHandlers.ofString());
      got = "http " + resp.statusCode();
      body = resp.body();
    } catch (IOException e) {
      got = e instanceof ConnectException ? "http refused" : "http io " + e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      got = "interrupted";
    }
    String b = body;
    String g0 = got;
    End e = classify(got, t0, () -> {
      if (!g0.equals("http 200")) {
        return "good REST request: expected 200, found " + g0 + (b == null ? "" : " " + b.substring(0, Math.min(200, b.length())));
      }
      try {
        JsonNode out = JSON.readTree(b).get("outputs").get(OUT);
        int rows = out.size();
        int cols = out.get(0).size();
        float[] d = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
          for (int j = 0; j < cols; j++) {
            d[i * cols + j] = (float) out.get(i).get(j).asDouble();
          }
        }
        return compare(g, new FloatArray(new long[] {rows, cols}, d), "REST");
      } catch (IOException | RuntimeException ex) {
        return "good REST request: unreadable answer " + ex;
      }
    });
    if (e == End.OK) {
      count("good");
      count("good rest");
    }
    return e;
  }

  private static String columnar(LxmertInputs in) {
    try {
      int b = in.batchSize();
      int s = in.textLength();
      int n = in.regionCount();
      int[][] ids = new int[b][];
      float[][][] f = new float[b][n][];
      float[][][] p = new float[b][n][];
      for (int r = 0; r < b; r++) {
        ids[r] = Arrays.copyOfRange(in.inputIds().data(), r * s, (r + 1) * s);
        for (int j = 0; j < n; j++) {
          f[r][j] = in.visualFeats().row(r, j);
          p[r][j] = in.visualPos().row(r, j);
        }
      }
      return JSON.writeValueAsString(Map.of("inputs", Map.of("input_ids", ids, "visual_feats", f, "visual_pos", p)));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String grpcOutcome(StatusRuntimeException e) {
    Status s = e.getStatus();
    if (s.getCode() == Status.Code.UNAVAILABLE) {
      String d = String.valueOf(s.getDescription());
      boolean refused = s.getCause() instanceof ConnectException
          || (s.getCause() != null && s.getCause().getCause() instanceof ConnectException)
          || d.contains("shutting down") || d.contains("GOAWAY") || d.contains("Connection refused");
      return refused ? "grpc UNAVAILABLE (refused)" : "grpc UNAVAILABLE (" + d + ")";
    }
    return "grpc " + s.getCode();
  }

  /** Runs a bad call: its outcome as "grpc CODE" or "http STATUS" (or how it was refused). */
  private static String outcome(Object result) {
    return String.valueOf(result);
  }

  private List<Bad> bads(String model, PredictionServiceGrpc.PredictionServiceBlockingStub stub0, HttpClient http,
                         String rest, int maxBatch, int maxBody, LxmertInputs in) {
    List<Bad> b = new ArrayList<>();
    PredictRequest good = ServingServerTest.request(model, in, true, OUT);
    java.util.function.Function<PredictRequest, Supplier<Object>> grpc = req -> () -> {
      try {
        stub0.withDeadlineAfter(60, TimeUnit.SECONDS).predict(req);
        return "grpc OK";
      } catch (StatusRuntimeException e) {
        return grpcOutcome(e);
      }
    };
    b.add(new Bad("gRPC missing visual_feats", grpc.apply(good.toBuilder().removeInputs("visual_feats").build()), "grpc INVALID_ARGUMENT"));
    b.add(new Bad("gRPC float input_ids", grpc.apply(good.toBuilder().putInputs("input_ids",
        ServingServerTest.floats(new FloatArray(in.inputIds().shape(), new float[in.inputIds().data().length]), false)).build()),
        "grpc INVALID_ARGUMENT"));
    int[] oov = in.inputIds().data().clone();
    oov[0] = 100_000;
    b.add(new Bad("gRPC id outside the vocabulary", grpc.apply(good.toBuilder().putInputs("input_ids",
        ServingServerTest.ints(in, oov, in.inputIds().shape(), false)).build()), "grpc INVALID_ARGUMENT"));
    b.add(new Bad("gRPC rank-1 input_ids", grpc.apply(good.toBuilder().putInputs("input_ids", TensorProto.newBuilder()
        .setDtype(DataType.DT_INT32).setTensorShape(ServingServerTest.shape(new long[] {3})).addIntVal(1).addIntVal(2).addIntVal(3)
        .build()).build()), "grpc INVALID_ARGUMENT"));
    b.add(new Bad("gRPC unknown model", grpc.apply(good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("no-such-model")).build()),
        "grpc NOT_FOUND"));
    b.add(new Bad("gRPC unknown version", grpc.apply(good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName(model)
        .setVersion(com.google.protobuf.Int64Value.of(99))).build()), "grpc NOT_FOUND"));
    b.add(new Bad("gRPC unknown label", grpc.apply(good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName(model)
        .setVersionLabel("no-such-label")).build()), "grpc NOT_FOUND"));
    b.add(new Bad("gRPC unknown signature", grpc.apply(good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName(model)
        .setSignatureName("no_such_signature")).build()), "grpc INVALID_ARGUMENT"));
    LxmertInputs big = ServingFixtures.inputs(5, maxBatch + 1, 3, 2);
    b.add(new Bad("gRPC batch over max_batch_size", grpc.apply(ServingServerTest.request(model, big, true, OUT)), "grpc INVALID_ARGUMENT"));

    java.util.function.BiFunction<String, String, Supplier<Object>> post = (path, body) -> () -> send(http,
        HttpRequest.newBuilder(URI.create(rest + path)).timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    b.add(new Bad("REST malformed JSON", post.apply("/v1/models/" + model + ":predict", "{\"instances\": [{\"input_ids\": [1, 2"), "http 400"));
    b.add(new Bad("REST rank-3 input_ids", post.apply("/v1/models/" + model + ":predict", "{\"inputs\": {\"input_ids\": [[[1, 2]]]}}"), "http 400"));
    b.add(new Bad("REST unknown model", post.apply("/v1/models/no-such-model:predict", columnar(in)), "http 404"));
    b.add(new Bad("REST unknown label", post.apply("/v1/models/" + model + "/labels/no-such-label:predict", columnar(in)), "http 404"));
    String huge = "{\"inputs\": {\"input_ids\": [[" + "1, ".repeat(maxBody / 3 + 1) + "1]]}}";
    b.add(new Bad("REST body over --rest-api-max-body-bytes", post.apply("/v1/models/" + model + ":predict", huge), "http 413"));
    return b;
  }

  private static String send(HttpClient http, HttpRequest req) {
    try {
      return "http " + http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
    } catch (ConnectException e) {
      return "http refused";
    } catch (IOException e) {
      return "http io " + e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }
}
