package io.github.tflxmert.serving;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server {@code lxmert serve} runs: loads the models, starts TF Serving's gRPC services (plus
 * {@code grpc.health.v1}, server reflection and our own {@code lxmert.serving.AnswerService}) on {@link Options#port()} and its REST API on
 * {@link Options#restApiPort()} (0 = off, as in TF Serving; a negative port binds an ephemeral one, for tests),
 * and polls base paths for new versions every {@link Options#fileSystemPollWaitSeconds()} seconds (0 = never).
 *
 * <p>Thread-safe. Owns everything it starts: {@link #close()} stops accepting requests, waits for those in
 * flight (up to {@code drainSeconds}), then unloads the models. Library code: it never exits the JVM.
 */
public final class ModelServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ModelServer.class);

  /**
   * Server settings with TF Serving's names.
   *
   * @param models                    model name → where it comes from
   * @param batching                  dynamic batching parameters, or null for batching off
   * @param restMaxBodyBytes          largest REST request body accepted
   * @param grpcMaxMessageBytes       largest gRPC message accepted
   * @param responseTensorContent     gRPC Predict answers carry each output's floats in {@code tensor_content}
   *                                  instead of {@code float_val} (TF Serving's default, and ours); see
   *                                  {@link TensorCodec#predictResponse(tensorflow.serving.Model.ModelSpec,
   *                                  Map, boolean)}
   */
  public record Options(String host, int port, int restApiPort, Map<String, ServedModel.Source> models,
                        Batcher.Options batching, int fileSystemPollWaitSeconds, int restApiNumThreads,
                        long restMaxBodyBytes, int grpcMaxMessageBytes, int drainSeconds,
                        boolean responseTensorContent) {
    public Options {
      models = new LinkedHashMap<>(models);
      if (models.isEmpty()) {
        throw new IllegalArgumentException("models: expected at least one model, found none");
      }
    }

    /** Answers in {@code float_val}, as TF Serving does. */
    public Options(String host, int port, int restApiPort, Map<String, ServedModel.Source> models,
                   Batcher.Options batching, int fileSystemPollWaitSeconds, int restApiNumThreads,
                   long restMaxBodyBytes, int grpcMaxMessageBytes, int drainSeconds) {
      this(host, port, restApiPort, models, batching, fileSystemPollWaitSeconds, restApiNumThreads, restMaxBodyBytes,
          grpcMaxMessageBytes, drainSeconds, false);
    }

    public static Options of(String modelName, ServedModel.Source source) {
      return new Options("0.0.0.0", 8500, 8501, Map.of(modelName, source), Batcher.Options.defaults(), 1,
          Math.max(4, 4 * Runtime.getRuntime().availableProcessors()), 64L << 20, 64 << 20, 30);
    }

    public Options withPorts(String host, int grpc, int rest) {
      return new Options(host, grpc, rest, models, batching, fileSystemPollWaitSeconds, restApiNumThreads,
          restMaxBodyBytes, grpcMaxMessageBytes, drainSeconds, responseTensorContent);
    }

    public Options withBatching(Batcher.Options b) {
      return new Options(host, port, restApiPort, models, b, fileSystemPollWaitSeconds, restApiNumThreads,
          restMaxBodyBytes, grpcMaxMessageBytes, drainSeconds, responseTensorContent);
    }

    public Options withPollSeconds(int s) {
      return new Options(host, port, restApiPort, models, batching, s, restApiNumThreads, restMaxBodyBytes,
          grpcMaxMessageBytes, drainSeconds, responseTensorContent);
    }

    public Options withLimits(long restBody, int grpcMessage) {
      return new Options(host, port, restApiPort, models, batching, fileSystemPollWaitSeconds, restApiNumThreads,
          restBody, grpcMessage, drainSeconds, responseTensorContent);
    }

    /** See {@link #responseTensorContent()}. */
    public Options withResponseTensorContent(boolean on) {
      return new Options(host, port, restApiPort, models, batching, fileSystemPollWaitSeconds, restApiNumThreads,
          restMaxBodyBytes, grpcMaxMessageBytes, drainSeconds, on);
    }
  }

  private final Options options;
  private final ModelRegistry models;
  private final Server grpc;
  private final RestApi rest;
  private final ScheduledExecutorService poller;
  private boolean closed;

  private ModelServer(Options options, ModelRegistry models, Server grpc, RestApi rest, ScheduledExecutorService poller) {
    this.options = options;
    this.models = models;
    this.grpc = grpc;
    this.rest = rest;
    this.poller = poller;
  }

  /**
   * Loads every model, then starts the servers.
   *
   * @throws IOException if a model cannot be loaded or a port cannot be bound (the message says which)
   */
  public static ModelServer start(Options o) throws IOException {
    Metrics metrics = new Metrics();
    Map<String, ServedModel> m = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, ServedModel.Source> e : o.models().entrySet()) {
        ServedModel sm = new ServedModel(e.getKey(), e.getValue(), o.batching(), metrics);
        m.put(e.getKey(), sm);
        sm.load();
      }
    } catch (IOException | RuntimeException e) {
      m.values().forEach(ServedModel::close);
      throw e;
    }
    ModelRegistry registry = new ModelRegistry(m);
    return new Builder(o, registry, metrics).start();
  }

  private static final class Builder {
    final Options o;
    final ModelRegistry registry;
    final Metrics metrics;

    Builder(Options o, ModelRegistry registry, Metrics metrics) {
      this.o = o;
      this.registry = registry;
      this.metrics = metrics;
    }

    ModelServer start() throws IOException {
      PredictionCore core = new PredictionCore(registry);
      HealthStatusManager health = new HealthStatusManager();
      Server grpc = null;
      RestApi rest = null;
      try {
        grpc = NettyServerBuilder.forAddress(new InetSocketAddress(o.host(), Math.max(0, o.port())))
            .maxInboundMessageSize(o.grpcMaxMessageBytes())
            .addService(new GrpcServices.Prediction(core, metrics, o.responseTensorContent()).service())
            .addService(new GrpcServices.ModelStatus(core, metrics))
            .addService(new GrpcServices.AnswerGrpc(new Answerer(registry), registry, metrics))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            // v1alpha too: grpcurl falls back to it, and grpcio-reflection's Python client speaks only it
            .addService(io.grpc.protobuf.services.ProtoReflectionService.newInstance())
            .build().start();
        for (String svc : new String[] {"", "tensorflow.serving.PredictionService", "tensorflow.serving.ModelService"}) {
          health.setStatus(svc, ServingStatus.SERVING);
        }
        if (o.restApiPort() != 0) {
          rest = new RestApi(core, metrics, o.host(), Math.max(0, o.restApiPort()), o.restApiNumThreads(),
              o.restMaxBodyBytes());
        }
      } catch (IOException | RuntimeException e) {
        if (grpc != null) {
          grpc.shutdownNow();
        }
        registry.close();
        throw new IOException("cannot start the server on " + o.host() + " (gRPC port " + o.port() + ", REST port "
            + o.restApiPort() + "): " + e.getMessage(), e);
      }
      ScheduledExecutorService poller = null;
      if (o.fileSystemPollWaitSeconds() > 0) {
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "version-poller");
          t.setDaemon(true);
          return t;
        });
        poller.scheduleWithFixedDelay(() -> registry.all().values().forEach(ServedModel::poll),
            o.fileSystemPollWaitSeconds(), o.fileSystemPollWaitSeconds(), TimeUnit.SECONDS);
      }
      ModelServer s = new ModelServer(o, registry, grpc, rest, poller);
      s.healthRef = health;
      s.metricsRef = metrics;
      LOG.info("serving {} on gRPC {}:{}{}", registry.all().keySet(), o.host(), grpc.getPort(),
          rest == null ? "" : " and REST " + o.host() + ":" + rest.port());
      return s;
    }
  }

  private HealthStatusManager healthRef;
  private Metrics metricsRef;

  public int grpcPort() {
    return grpc.getPort();
  }

  /** The REST port bound, or -1 when REST is off. */
  public int restPort() {
    return rest == null ? -1 : rest.port();
  }

  public Metrics metrics() {
    return metricsRef;
  }

  public ModelRegistry models() {
    return models;
  }

  /** Polls every base path for new versions now (what the poller does every interval). */
  public void pollNow() {
    models.all().values().forEach(ServedModel::poll);
  }

  /** Blocks until {@link #close()} finished (e.g. from a shutdown hook). */
  public void awaitTermination() throws InterruptedException {
    grpc.awaitTermination();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    LOG.info("draining: no new requests; waiting up to {} s for those in flight", options.drainSeconds());
    healthRef.enterTerminalState();
    if (poller != null) {
      poller.shutdownNow();
    }
    grpc.shutdown();
    boolean restAnswered = rest == null || rest.close(options.drainSeconds()); // returns once those in flight are answered
    boolean grpcAnswered;
    try {
      grpcAnswered = grpc.awaitTermination(options.drainSeconds(), TimeUnit.SECONDS);
      if (!grpcAnswered) {
        grpc.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      grpc.shutdownNow();
      grpcAnswered = false;
    }
    models.close();
    drained = restAnswered && grpcAnswered;
    LOG.info("server stopped; {}", drainReport());
  }

  private volatile Boolean drained; // null until close() finished

  /**
   * After {@link #close()}: whether every request in flight when it began was answered within the drain time
   * ({@code "every request in flight answered"}), or which were cut; before it, {@code "running"}.
   */
  public String drainReport() {
    Boolean d = drained;
    return d == null ? "running" : d ? "every request in flight answered"
        : "drain timed out after " + options.drainSeconds() + " s: requests still in flight were cut";
  }
}
