package io.github.tflxmert.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LxmertInputs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tensorflow.serving.Predict.PredictRequest;
import tensorflow.serving.Predict.PredictResponse;
import tensorflow.serving.PredictionServiceGrpc;

/**
 * Bounded load on 127.0.0.1: 16 clients mixing good gRPC requests with bad gRPC and REST ones for a few
 * seconds; a version swap in the middle; then the server is closed (what SIGTERM does) while they still send.
 * Good requests never fail while the server is up, every bad one is a 4xx / INVALID_ARGUMENT, and after close
 * every request either got its full answer or was refused as UNAVAILABLE (never cut off mid-way).
 */
class ServingLoadTest {
  @TempDir Path tmp;

  @Test
  void sixteenClientsAVersionSwapAndADrain() throws Exception {
    Path base = ServingFixtures.pythonBase(tmp.resolve("base"));
    ModelServer.Options o = new ModelServer.Options("127.0.0.1", -1, -1, Map.of("m", ServedModel.Source.basePath(base)),
        new Batcher.Options(8, 2000, 2, 50), 0, 8, 1 << 20, 4 << 20, 20);
    ModelServer server = ModelServer.start(o);
    ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String restBase = "http://127.0.0.1:" + server.restPort() + "/v1/models/m:predict";
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean closing = new AtomicBoolean();
    AtomicInteger good = new AtomicInteger();
    AtomicInteger bad = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<Future<?>> clients = new ArrayList<>();
    try {
      for (int c = 0; c < 16; c++) {
        int id = c;
        clients.add(pool.submit(() -> {
          Random r = new Random(id);
          var stub = PredictionServiceGrpc.newBlockingStub(ch);
          for (int i = 0; !stop.get() && i < 10_000; i++) {
            LxmertInputs in = ServingFixtures.inputs(id * 1000L + i, 1 + r.nextInt(2), 2 + r.nextInt(6), 1 + r.nextInt(4));
            int kind = r.nextInt(4);
            boolean wasClosing = closing.get();
            try {
              if (kind < 2) {
                PredictResponse resp = stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                    .predict(ServingServerTest.request("m", in, r.nextBoolean(), "cross_relationship_score"));
                long v = resp.getModelSpec().getVersion().getValue();
                var t = resp.getOutputsOrThrow("cross_relationship_score");
                if ((v != 1 && v != 2) || t.getFloatValCount() != in.batchSize() * 2) {
                  failures.add("good request: version " + v + ", " + t.getFloatValCount() + " values");
                }
                good.incrementAndGet();
              } else if (kind == 2) {
                PredictRequest req = ServingServerTest.request("m", in, false).toBuilder().removeInputs("visual_feats").build();
                try {
                  stub.withDeadlineAfter(60, TimeUnit.SECONDS).predict(req);
                  failures.add("bad gRPC request succeeded");
                } catch (StatusRuntimeException e) {
                  if (e.getStatus().getCode() != Status.Code.INVALID_ARGUMENT) {
                    throw e;
                  }
                  bad.incrementAndGet();
                }
              } else {
                HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(restBase))
                    .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                        r.nextBoolean() ? "{\"instances\": [" : "{\"inputs\": {\"input_ids\": [[1, 2, 3000]]}}")).build(),
                    HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() != 400 || !resp.body().startsWith("{\"error\":")) {
                  failures.add("bad REST request: " + resp.statusCode() + " " + resp.body());
                }
                bad.incrementAndGet();
              }
            } catch (StatusRuntimeException e) {
              if (closing.get() && e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                refused.incrementAndGet();
                return null;
              }
              failures.add((wasClosing ? "during close: " : "") + e.getStatus());
            } catch (java.io.IOException e) {
              if (closing.get()) {
                refused.incrementAndGet();
                return null;
              }
              failures.add("REST: " + e);
            }
          }
          return null;
        }));
      }
      Thread.sleep(2500);
      ServingFixtures.copyTree(base.resolve("1"), base.resolve("2"));
      server.pollNow(); // swap under load
      assertEquals(2, server.models().get("m").servedVersion().getAsLong());
      Thread.sleep(2500);
      closing.set(true);
      server.close(); // what SIGTERM does: refuse new requests, answer those in flight, unload
      stop.set(true);
      for (Future<?> f : clients) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      stop.set(true);
      pool.shutdownNow();
      ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      server.close();
    }
    assertTrue(failures.isEmpty(), failures.size() + " failure(s), first: " + failures.peek());
    assertTrue(good.get() > 16 && bad.get() > 16, "good " + good + ", bad " + bad + ", refused " + refused);
    System.out.println("load: good " + good + ", bad " + bad + ", refused after close " + refused);
  }
}
