package io.github.tflxmert.cli;

import io.github.tflxmert.Bfloat16Support;
import io.github.tflxmert.Precision;
import io.github.tflxmert.serving.Batcher;
import io.github.tflxmert.serving.ModelConfigFile;
import io.github.tflxmert.serving.ModelServer;
import io.github.tflxmert.serving.Servable;
import io.github.tflxmert.serving.ServedModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lxmert serve}: a TF-Serving-compatible server (lxmert-serving). Flags carry tensorflow_model_server's
 * names in kebab case, with its underscore spellings as aliases and its defaults; batching is on by default.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Serve LXMERT with TensorFlow Serving's gRPC API (PredictionService, ModelService, health, "
        + "reflection) and REST API (/v1/models/NAME[/versions/N][:predict|/metadata], "
        + "/monitoring/prometheus/metrics), plus text in, answers out (POST /v1/models/NAME:answer, gRPC "
        + "lxmert.serving.AnswerService), from a TF Serving base directory BASE/N/ (new versions are picked up) or "
        + "an HF model directory. SIGTERM drains requests in flight, then exits.", "",
        "Example: ./lxmert export --model DIR --out /models/lxmert && ./lxmert serve --model-base-path /models/lxmert"})
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;
  @Mixin Common.PrecisionOption precision;

  @Option(names = "--port", defaultValue = "8500", description = "gRPC port (default ${DEFAULT-VALUE}).")
  int port;
  @Option(names = {"--rest-api-port", "--rest_api_port"}, defaultValue = "8501",
      description = "REST port; 0 turns REST off (default ${DEFAULT-VALUE}).")
  int restApiPort;
  @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to bind (default ${DEFAULT-VALUE}).")
  String host;
  @Option(names = {"--model-name", "--model_name"}, defaultValue = "lxmert", description = "Model name (default ${DEFAULT-VALUE}).")
  String modelName;
  @Option(names = {"--model-base-path", "--model_base_path"}, paramLabel = "BASE",
      description = "TF Serving base directory holding version directories BASE/N/ (e.g. what `lxmert export` writes).")
  Path modelBasePath;
  @Option(names = "--model", paramLabel = "DIR", description = "An HF model directory, run by the Java graph (version 1).")
  Path model;
  @Option(names = {"--model-config-file", "--model_config_file"}, paramLabel = "FILE",
      description = "TF Serving's text model_config_list: several models from one process (name, base_path, "
          + "model_version_policy latest/all/specific, version_labels).")
  Path modelConfigFile;
  @Option(names = {"--enable-batching", "--enable_batching"}, arity = "0..1", defaultValue = "true", fallbackValue = "true",
      description = "Merge concurrent requests (default ${DEFAULT-VALUE}; --enable-batching=false turns it off).")
  boolean enableBatching;
  @Option(names = {"--max-batch-size", "--max_batch_size"}, defaultValue = "32", description = "Rows per merged run (default ${DEFAULT-VALUE}).")
  int maxBatchSize;
  @Option(names = {"--batch-timeout-micros", "--batch_timeout_micros"}, defaultValue = "1000",
      description = "How long the first request of a batch waits for others (default ${DEFAULT-VALUE}).")
  long batchTimeoutMicros;
  @Option(names = {"--num-batch-threads", "--num_batch_threads"}, defaultValue = "0",
      description = "Batches run concurrently (default: the number of cores).")
  int numBatchThreads;
  @Option(names = {"--max-enqueued-batches", "--max_enqueued_batches"}, defaultValue = "100",
      description = "Queue bound in batches; past it requests get RESOURCE_EXHAUSTED / 429 (default ${DEFAULT-VALUE}).")
  int maxEnqueuedBatches;
  @Option(names = {"--file-system-poll-wait-seconds", "--file_system_poll_wait_seconds"}, defaultValue = "1",
      description = "Seconds between looks for new versions; 0 = never (default ${DEFAULT-VALUE}).")
  int pollSeconds;
  @Option(names = {"--rest-api-num-threads", "--rest_api_num_threads"}, defaultValue = "0",
      description = "REST worker threads (default: 4 per core).")
  int restThreads;
  @Option(names = "--rest-api-max-body-bytes", defaultValue = "67108864",
      description = "Largest REST body; larger ones get 413 (default ${DEFAULT-VALUE}).")
  long restMaxBody;
  @Option(names = "--grpc-max-message-bytes", defaultValue = "67108864",
      description = "Largest gRPC message (default ${DEFAULT-VALUE}).")
  int grpcMaxMessage;
  @Option(names = {"--response-tensor-content", "--response_tensor_content"}, arity = "0..1", defaultValue = "false",
      fallbackValue = "true", description = "gRPC Predict answers carry each output's floats in tensor_content "
          + "instead of float_val (what TF Serving answers, and this server without the flag): the same bytes, so "
          + "clients that read with tf.make_ndarray get the same arrays and parse them far faster; clients that read "
          + "float_val themselves find it empty. REST is unchanged (default ${DEFAULT-VALUE}).")
  boolean responseTensorContent;
  @Option(names = "--drain-seconds", defaultValue = "30",
      description = "On SIGTERM, how long to wait for requests in flight (default ${DEFAULT-VALUE}).")
  int drainSeconds;

  @Override
  public Integer call() throws Exception {
    Common.configureLogging(verbosity.verbose);
    // a server's own log: versions loaded, swapped, failed and unloaded, and the drain (TF Serving logs these too)
    System.setProperty("org.slf4j.simpleLogger.log.io.github.tflxmert.serving", "info");
    Map<String, ServedModel.Source> models = models();
    int cores = Runtime.getRuntime().availableProcessors();
    Batcher.Options batching = enableBatching ? new Batcher.Options(maxBatchSize, batchTimeoutMicros,
        numBatchThreads > 0 ? numBatchThreads : cores, maxEnqueuedBatches) : null;
    ModelServer.Options o = new ModelServer.Options(host, port, restApiPort, models, batching, pollSeconds,
        restThreads > 0 ? restThreads : Math.max(4, 4 * cores), restMaxBody, grpcMaxMessage, drainSeconds,
        responseTensorContent);
    ModelServer server = ModelServer.start(o);
    String computes = "";
    if (model != null) { // the Java graph: say what it computes in (and, for auto, why)
      Servable s = server.models().get(modelName).acquire(java.util.OptionalLong.empty());
      try {
        computes = ", precision " + s.precision();
      } finally {
        s.release();
      }
      if (precision.precision == Precision.AUTO) {
        spec.commandLine().getErr().println("precision auto: " + computes.substring(", precision ".length())
            + " (" + Bfloat16Support.detect().autoReason() + ")");
        spec.commandLine().getErr().flush();
      }
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close(); // SIGTERM / SIGINT: drain, then unload
      spec.commandLine().getOut().println("lxmert serve: stopped (" + server.drainReport() + ")");
      spec.commandLine().getOut().flush();
      stopped.countDown();
    }, "lxmert-serve-shutdown"));
    spec.commandLine().getOut().println("lxmert serve: serving " + models.keySet() + " on gRPC " + host + ":"
        + server.grpcPort() + (server.restPort() > 0 ? ", REST " + host + ":" + server.restPort() : "")
        + (batching == null ? ", batching off" : ", batching max " + maxBatchSize + " rows / " + batchTimeoutMicros + " us")
        + (responseTensorContent ? ", gRPC answers in tensor_content" : "")
        + computes);
    spec.commandLine().getOut().flush();
    stopped.await();
    return 0;
  }

  private Map<String, ServedModel.Source> models() throws IOException {
    int given = (modelBasePath != null ? 1 : 0) + (model != null ? 1 : 0) + (modelConfigFile != null ? 1 : 0);
    if (given != 1) {
      throw new IllegalArgumentException("expected exactly one of --model-base-path BASE, --model DIR or "
          + "--model-config-file FILE, found " + given);
    }
    if (precision.precision != Precision.FLOAT32 && model == null) {
      throw new IllegalArgumentException("--precision " + precision.precision.shortName() + ": applies to --model DIR "
          + "(the Java graph); a SavedModel (" + (modelBasePath != null ? "--model-base-path" : "--model-config-file")
          + ") runs in the precision it was exported with, as in TF Serving: export it with `lxmert export "
          + "--precision bf16` to serve bfloat16, and leave --precision at fp32 here");
    }
    Map<String, ServedModel.Source> m = new LinkedHashMap<>();
    if (modelBasePath != null) {
      m.put(modelName, ServedModel.Source.basePath(modelBasePath));
    } else if (model != null) {
      m.put(modelName, ServedModel.Source.hfModel(model, precision.precision));
    } else {
      m.putAll(ModelConfigFile.read(modelConfigFile));
    }
    return m;
  }
}
