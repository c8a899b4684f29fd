package io.github.tflxmert.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.Int64Value;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;
import tensorflow.serving.GetModelMetadata.GetModelMetadataRequest;
import tensorflow.serving.GetModelMetadata.GetModelMetadataResponse;
import tensorflow.serving.GetModelMetadata.SignatureDefMap;
import tensorflow.serving.GetModelStatus.GetModelStatusRequest;
import tensorflow.serving.GetModelStatus.GetModelStatusResponse;
import tensorflow.serving.GetModelStatus.ModelVersionStatus;
import tensorflow.serving.Model.ModelSpec;
import tensorflow.serving.ModelServiceGrpc;
import tensorflow.serving.Predict.PredictRequest;
import tensorflow.serving.Predict.PredictResponse;
import tensorflow.serving.PredictionServiceGrpc;

/**
 * One server on 127.0.0.1 (ephemeral ports) serving the Python-exported tiny SavedModel ({@code sm}, base path)
 * and the tiny HF model directory ({@code hf}, the Java graph), batching on; real gRPC and HTTP clients.
 */
class ServingServerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  static Path tmp;
  static Path base;
  static ModelServer server;
  static ManagedChannel channel;
  static PredictionServiceGrpc.PredictionServiceBlockingStub predict;
  static SavedModelPredictor solo;
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void start() throws Exception {
    base = ServingFixtures.pythonBase(tmp.resolve("base"));
    Map<String, ServedModel.Source> models = new LinkedHashMap<>();
    models.put("sm", ServedModel.Source.basePath(base));
    models.put("hf", ServedModel.Source.hfModel(ServingFixtures.HF_MODEL));
    models.put("hfd", ServedModel.Source.hfModel(withAns2Label(tmp.resolve("hf-ans2label"))));
    ModelServer.Options o = new ModelServer.Options("127.0.0.1", -1, -1, models,
        new Batcher.Options(8, 50_000, 1, 4), 0, 4, 1 << 20, 4 << 20, 10);
    server = ModelServer.start(o);
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    predict = PredictionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    solo = SavedModelPredictor.open(base.resolve("1"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
    if (solo != null) {
      solo.close();
    }
  }

  static TensorProto ints(LxmertInputs in, int[] data, long[] shape, boolean content) {
    TensorProto.Builder t = TensorProto.newBuilder().setDtype(DataType.DT_INT32).setTensorShape(shape(shape));
    if (content) {
      ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int v : data) {
        b.putInt(v);
      }
      t.setTensorContent(ByteString.copyFrom(b.array()));
    } else {
      for (int v : data) {
        t.addIntVal(v);
      }
    }
    return t.build();
  }

  static TensorProto floats(FloatArray a, boolean content) {
    TensorProto.Builder t = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(shape(a.shape()));
    if (content) {
      ByteBuffer b = ByteBuffer.allocate(a.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : a.data()) {
        b.putFloat(v);
      }
      t.setTensorContent(ByteString.copyFrom(b.array()));
    } else {
      for (float v : a.data()) {
        t.addFloatVal(v);
      }
    }
    return t.build();
  }

  static TensorShapeProto shape(long[] s) {
    TensorShapeProto.Builder b = TensorShapeProto.newBuilder();
    for (long d : s) {
      b.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
    }
    return b.build();
  }

  static PredictRequest request(String model, LxmertInputs in, boolean content, String... filter) {
    return PredictRequest.newBuilder().setModelSpec(ModelSpec.newBuilder().setName(model))
        .putInputs("input_ids", ints(in, in.inputIds().data(), in.inputIds().shape(), content))
        .putInputs("attention_mask", ints(in, in.attentionMask().data(), in.attentionMask().shape(), content))
        .putInputs("visual_feats", floats(in.visualFeats(), content))
        .putInputs("visual_pos", floats(in.visualPos(), content))
        .addAllOutputFilter(List.of(filter)).build();
  }

  static FloatArray array(TensorProto t) {
    NdValue v = TensorCodec.decode("out", t);
    return new FloatArray(v.shape(), v.floats());
  }

  @Test
  void grpcPredictEqualsTheSavedModelRunDirectly() {
    LxmertInputs in = ServingFixtures.inputs(7, 2, 6, 5);
    LxmertOutputs expected = solo.predict(in, OutputSelection.of("prediction_logits", "cross_relationship_score",
        "question_answering_score"));
    for (boolean content : new boolean[] {false, true}) {
      PredictResponse r = predict.predict(request("sm", in, content));
      assertEquals("sm", r.getModelSpec().getName());
      assertEquals(1, r.getModelSpec().getVersion().getValue());
      assertEquals("serving_default", r.getModelSpec().getSignatureName());
      assertTrue(r.getOutputsMap().keySet().containsAll(List.of("prediction_logits", "language_hidden_states")),
          "all signature outputs without a filter: " + r.getOutputsMap().keySet());
      for (String k : List.of("prediction_logits", "cross_relationship_score", "question_answering_score")) {
        ServingFixtures.assertClose("sm " + k, expected.get(k), array(r.getOutputsOrThrow(k)));
      }
      // stacked as the Python export stacks it: [l_layers + x_layers, B, S, H]
      long layers = solo.availableOutputs().stream().filter(n -> n.startsWith("language_hidden_states.")).count();
      assertEquals(java.util.Arrays.toString(new long[] {layers, 2, 6, 28}),
          java.util.Arrays.toString(array(r.getOutputsOrThrow("language_hidden_states")).shape()));
    }
    // the HF directory through the Java graph gives the same numbers (the graph passes parity with Python)
    PredictResponse hf = predict.predict(request("hf", in, true, "cross_relationship_score"));
    assertEquals(List.of("cross_relationship_score"), List.copyOf(hf.getOutputsMap().keySet()));
    FloatArray e = expected.get("cross_relationship_score");
    FloatArray a = array(hf.getOutputsOrThrow("cross_relationship_score"));
    for (int i = 0; i < e.data().length; i++) {
      assertTrue(Math.abs(e.data()[i] - a.data()[i]) <= 1e-4 + 1e-4 * Math.abs(e.data()[i]),
          "hf vs sm cross_relationship_score[" + i + "]: " + e.data()[i] + " vs " + a.data()[i]);
    }
  }

  @Test
  void concurrentRequestsAreBatchedAndEqualTheirSoloRuns() throws Exception {
    int n = 6;
    List<LxmertInputs> ins = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ins.add(ServingFixtures.inputs(100 + i, 1 + i % 2, 3 + i, 2 + (i * 3) % 5));
    }
    String[] keys = {"prediction_logits", "cross_relationship_score", "question_answering_score"};
    long before = batchesOver1();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<PredictResponse>> fs = new ArrayList<>();
      for (String model : List.of("sm", "hf")) {
        for (LxmertInputs in : ins) {
          fs.add(pool.submit(() -> {
            go.await();
            return predict.predict(request(model, in, true, keys));
          }));
        }
      }
      go.countDown();
      for (int m = 0; m < 2; m++) {
        String model = m == 0 ? "sm" : "hf";
        for (int i = 0; i < n; i++) {
          PredictResponse r = fs.get(m * n + i).get(120, TimeUnit.SECONDS);
          PredictResponse alone = predict.predict(request(model, ins.get(i), false, keys)); // solo: nothing else queued
          for (String k : keys) {
            ServingFixtures.assertClose(model + " request " + i + " " + k, array(alone.getOutputsOrThrow(k)),
                array(r.getOutputsOrThrow(k)));
          }
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertTrue(batchesOver1() > before, "some requests were merged:\n" + server.metrics().scrape());
  }

  static long batchesOver1() {
    for (String line : server.metrics().scrape().split("\n")) {
      if (line.startsWith("lxmert_serving_batch_size_bucket{le=\"1.0\"}")) {
        long le1 = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
        for (String l2 : server.metrics().scrape().split("\n")) {
          if (l2.startsWith("lxmert_serving_batch_size_count")) {
            return Long.parseLong(l2.substring(l2.lastIndexOf(' ') + 1)) - le1;
          }
        }
      }
    }
    return 0;
  }

  @Test
  void grpcErrorsAreStatusCodesAndTheServerStaysUp() {
    LxmertInputs in = ServingFixtures.inputs(1, 1, 4, 3);
    PredictRequest good = request("sm", in, false);
    assertCode(Status.Code.NOT_FOUND, "'nope'", good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("nope")).build());
    assertCode(Status.Code.NOT_FOUND, "version 7", good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("sm")
        .setVersion(Int64Value.of(7))).build());
    assertCode(Status.Code.INVALID_ARGUMENT, "signature_name", good.toBuilder().setModelSpec(ModelSpec.newBuilder()
        .setName("sm").setSignatureName("bogus")).build());
    TensorProto ids64 = TensorProto.newBuilder().setDtype(DataType.DT_INT64).setTensorShape(shape(new long[] {1, 4}))
        .addAllInt64Val(List.of(1L, 2L, 3L, 4L)).build();
    assertCode(Status.Code.INVALID_ARGUMENT, "expected dtype DT_INT32", good.toBuilder().putInputs("input_ids", ids64).build());
    // int64_serving takes exactly that
    PredictRequest int64 = good.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("sm").setSignatureName("int64_serving"))
        .putInputs("input_ids", ids64).putInputs("attention_mask", ids64.toBuilder().clearInt64Val().addInt64Val(1).build()).build();
    assertEquals("int64_serving", predict.predict(int64).getModelSpec().getSignatureName());
    assertCode(Status.Code.INVALID_ARGUMENT, "input_ids[0, 1]: expected a value in [0, 300)", good.toBuilder()
        .putInputs("input_ids", ints(in, new int[] {1, 300, 2, 3}, new long[] {1, 4}, false)).build());
    assertCode(Status.Code.INVALID_ARGUMENT, "expected rank 2", good.toBuilder()
        .putInputs("input_ids", ints(in, new int[] {1, 2, 3, 4}, new long[] {4}, false)).build());
    assertCode(Status.Code.INVALID_ARGUMENT, "'visual_pos': required", good.toBuilder().removeInputs("visual_pos").build());
    assertCode(Status.Code.INVALID_ARGUMENT, "max_position_embeddings", request("sm", ServingFixtures.inputs(2, 1, 513, 2), true));
    assertCode(Status.Code.INVALID_ARGUMENT, "max_batch_size = 8", request("sm", ServingFixtures.inputs(2, 9, 3, 2), true));
    assertCode(Status.Code.INVALID_ARGUMENT, "output_filter", good.toBuilder().addOutputFilter("nope").build());
    assertCode(Status.Code.INVALID_ARGUMENT, "tensor_content", good.toBuilder().putInputs("visual_pos",
        TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(shape(new long[] {1, 3, 4}))
            .setTensorContent(ByteString.copyFrom(new byte[5])).build()).build());
    assertCode(Status.Code.INVALID_ARGUMENT, "at most 16777216 elements", good.toBuilder().putInputs("visual_feats",
        TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(shape(new long[] {1, 1 << 20, 128}))
            .addFloatVal(1f).build()).build()); // one value broadcast over a huge shape: refused before allocating
    assertEquals(1, predict.predict(good).getModelSpec().getVersion().getValue()); // still up
  }

  static void assertCode(Status.Code code, String text, PredictRequest r) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> predict.predict(r));
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains(text), e.getStatus().getDescription());
  }

  @Test
  void metadataStatusHealthAndReflection() throws Exception {
    GetModelMetadataResponse md = predict.getModelMetadata(GetModelMetadataRequest.newBuilder()
        .setModelSpec(ModelSpec.newBuilder().setName("sm")).addMetadataField("signature_def").build());
    SignatureDefMap sigs = md.getMetadataOrThrow("signature_def").unpack(SignatureDefMap.class);
    assertEquals(List.of("int64_serving", "serving_default"), sigs.getSignatureDefMap().keySet().stream().sorted().toList());
    assertEquals(DataType.DT_INT64, sigs.getSignatureDefOrThrow("int64_serving").getInputsOrThrow("input_ids").getDtype());
    assertEquals(128, sigs.getSignatureDefOrThrow("serving_default").getInputsOrThrow("visual_feats").getTensorShape().getDim(2).getSize());

    GetModelStatusResponse st = ModelServiceGrpc.newBlockingStub(channel).getModelStatus(GetModelStatusRequest.newBuilder()
        .setModelSpec(ModelSpec.newBuilder().setName("hf")).build());
    assertEquals(ModelVersionStatus.State.AVAILABLE, st.getModelVersionStatus(0).getState());

    HealthCheckResponse h = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder()
        .setService("tensorflow.serving.PredictionService").build());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, h.getStatus());

    List<String> services = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(1);
    StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(channel).serverReflectionInfo(
        new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            r.getListServicesResponse().getServiceList().forEach(s -> services.add(s.getName()));
          }

          @Override
          public void onError(Throwable t) {
            done.countDown();
          }

          @Override
          public void onCompleted() {
            done.countDown();
          }
        });
    req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    req.onCompleted();
    assertTrue(done.await(30, TimeUnit.SECONDS));
    assertTrue(services.containsAll(List.of("tensorflow.serving.PredictionService", "tensorflow.serving.ModelService",
        "grpc.health.v1.Health", "lxmert.serving.AnswerService")), services.toString());
  }

  static HttpResponse<String> http(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.restPort() + path))
        .timeout(Duration.ofSeconds(60));
    b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
        : b.method(method, HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String rows(LxmertInputs in) throws Exception {
    List<Map<String, Object>> inst = new ArrayList<>();
    int s = in.textLength();
    int n = in.regionCount();
    for (int r = 0; r < in.batchSize(); r++) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("input_ids", java.util.Arrays.copyOfRange(in.inputIds().data(), r * s, (r + 1) * s));
      float[][] f = new float[n][];
      float[][] p = new float[n][];
      for (int j = 0; j < n; j++) {
        f[j] = in.visualFeats().row(r, j);
        p[j] = in.visualPos().row(r, j);
      }
      m.put("visual_feats", f);
      m.put("visual_pos", p);
      inst.add(m);
    }
    return JSON.writeValueAsString(Map.of("instances", inst));
  }

  @Test
  void restPredictRowAndColumnarStatusMetadataAndMetrics() throws Exception {
    LxmertInputs in = ServingFixtures.inputs(11, 2, 5, 3);
    FloatArray expected = solo.predict(in, OutputSelection.of("cross_relationship_score")).get("cross_relationship_score");

    HttpResponse<String> r = http("POST", "/v1/models/sm:predict", rows(in));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode preds = JSON.readTree(r.body()).get("predictions");
    assertEquals(2, preds.size());
    for (int row = 0; row < 2; row++) {
      JsonNode score = preds.get(row).get("cross_relationship_score");
      for (int j = 0; j < 2; j++) {
        float e = expected.get(row, j);
        assertTrue(Math.abs(score.get(j).floatValue() - e) <= ServingFixtures.ATOL + ServingFixtures.RTOL * Math.abs(e),
            "row " + row + ": " + score + " vs " + e);
      }
    }
    // columnar, on an explicit version
    Map<String, Object> cols = new LinkedHashMap<>();
    int[][] ids = new int[2][];
    for (int i = 0; i < 2; i++) {
      ids[i] = java.util.Arrays.copyOfRange(in.inputIds().data(), i * 5, (i + 1) * 5);
    }
    cols.put("input_ids", ids);
    cols.put("visual_feats", nested(in.visualFeats()));
    cols.put("visual_pos", nested(in.visualPos()));
    r = http("POST", "/v1/models/sm/versions/1:predict", JSON.writeValueAsString(Map.of("inputs", cols)));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode out = JSON.readTree(r.body()).get("outputs").get("cross_relationship_score");
    assertEquals(expected.get(1, 1), out.get(1).get(1).floatValue(), ServingFixtures.ATOL + 1e-5);

    r = http("GET", "/v1/models/sm", null);
    assertEquals(200, r.statusCode());
    assertEquals("AVAILABLE", JSON.readTree(r.body()).get("model_version_status").get(0).get("state").asText());
    r = http("GET", "/v1/models/hf/metadata", null);
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("DT_INT32", JSON.readTree(r.body()).at("/metadata/signature_def/signature_def/serving_default/inputs/input_ids/dtype").asText());
    r = http("GET", "/monitoring/prometheus/metrics", null);
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains("lxmert_serving_requests_total{model_name=\"sm\",api=\"predict\",protocol=\"rest\",model_version=\"1\",status=\"200\"}"), r.body());
  }

  static float[][][] nested(FloatArray a) {
    float[][][] x = new float[(int) a.dim(0)][(int) a.dim(1)][];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[i].length; j++) {
        x[i][j] = a.row(i, j);
      }
    }
    return x;
  }

  @Test
  void restErrorsAreTfServingCodesWithOneMessage() throws Exception {
    LxmertInputs in = ServingFixtures.inputs(3, 1, 4, 2);
    String good = rows(in);
    assertError(400, "malformed JSON", http("POST", "/v1/models/sm:predict", "{\"instances\": [1,"));
    assertError(404, "'nope'", http("POST", "/v1/models/nope:predict", good));
    assertError(404, "version 9", http("POST", "/v1/models/sm/versions/9:predict", good));
    assertError(400, "exactly one of", http("POST", "/v1/models/sm:predict", "{}"));
    assertError(400, "expected an integer", http("POST", "/v1/models/sm:predict", good.replaceFirst("\"input_ids\":\\[(\\d+)", "\"input_ids\":[1.5")));
    assertError(400, "'visual_pos': required", http("POST", "/v1/models/sm:predict",
        good.replaceFirst(",\"visual_pos\":\\[\\[.*?\\]\\]", "")));
    assertError(400, "expected a value in [0, 300)", http("POST", "/v1/models/sm:predict", good.replaceFirst("\"input_ids\":\\[(\\d+)", "\"input_ids\":[999")));
    assertError(413, "bytes", http("POST", "/v1/models/sm:predict", "{\"instances\": [" + " ".repeat(2 << 20) + "]}"));
    assertError(400, "expected HTTP POST", http("GET", "/v1/models/sm:predict", null));
    assertEquals(200, http("POST", "/v1/models/sm:predict", good).statusCode()); // still up
  }

  @Test
  void answerTokenizesOnTheServerAndEqualsPredictOnTheSameIds() throws Exception {
    var tok = io.github.tflxmert.tokenizer.LxmertTokenizer.fromDirectory(ServingFixtures.HF_MODEL);
    String text = "what is the [MASK] of the cube?";
    var enc = tok.encode(text);
    LxmertInputs one = ServingFixtures.inputs(21, 1, 1, 3);
    float[][] feats = nested(one.visualFeats())[0];
    float[][] boxes = nested(one.visualPos())[0];
    ByteBuffer b64 = ByteBuffer.allocate(feats.length * 128 * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float[] row : feats) {
      for (float v : row) {
        b64.putFloat(v);
      }
    }
    Map<String, Object> plain = Map.of("text", text, "features", feats, "boxes", boxes);
    Map<String, Object> encoded = Map.of("text", text, "boxes", boxes,
        "features", Map.of("b64", java.util.Base64.getEncoder().encodeToString(b64.array())));
    HttpResponse<String> r = http("POST", "/v1/models/hf:answer",
        JSON.writeValueAsString(Map.of("instances", List.of(plain, encoded), "top_k", 3)));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode preds = JSON.readTree(r.body()).get("predictions");
    assertEquals(enc.tokens(), JSON.convertValue(preds.get(0).get("tokens"), List.class));
    assertEquals(3, preds.get(0).get("answers").size());
    assertEquals(enc.tokens().indexOf("[MASK]"), preds.get(0).get("masked_words").get(0).get("position").asInt());
    // counted under the version that answered, as :predict is
    String scrape = http("GET", "/monitoring/prometheus/metrics", null).body();
    assertTrue(scrape.contains("lxmert_serving_requests_total{model_name=\"hf\",api=\"answer\",protocol=\"rest\","
        + "model_version=\"1\",status=\"200\"}"), scrape);
    // the same ids through :predict give the same match probability; b64 features equal nested ones
    LxmertInputs in = LxmertInputs.builder().inputIds(new int[][] {enc.inputIds()}).visualFeats(one.visualFeats())
        .visualPos(one.visualPos()).build();
    FloatArray score = array(predict.predict(request("hf", in, true, "cross_relationship_score"))
        .getOutputsOrThrow("cross_relationship_score"));
    double e0 = Math.exp(score.get(0, 0));
    double e1 = Math.exp(score.get(0, 1));
    double expected = e1 / (e0 + e1);
    for (int i = 0; i < 2; i++) {
      double p = preds.get(i).get("match_probability").asDouble();
      assertTrue(Math.abs(p - expected) <= 1e-5, "instance " + i + ": " + p + " vs " + expected);
    }
    // the gRPC twin (lxmert.serving.AnswerService) answers the same
    var ireq = io.github.tflxmert.serving.proto.AnswerRequest.newBuilder().setModelName("hf").setTopK(3);
    var ib = io.github.tflxmert.serving.proto.Instance.newBuilder().setText(text);
    for (float v : one.visualFeats().data()) {
      ib.addFeatures(v);
    }
    for (float v : one.visualPos().data()) {
      ib.addBoxes(v);
    }
    var g = io.github.tflxmert.serving.proto.AnswerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
        .answer(ireq.addInstances(ib).build());
    assertEquals(enc.tokens(), g.getPredictions(0).getTokensList());
    assertTrue(Math.abs(g.getPredictions(0).getMatchProbability() - expected) <= 1e-5, g.toString());
    assertEquals(preds.get(0).get("answers").get(0).get("index").asInt(), g.getPredictions(0).getAnswers(0).getIndex());
    StatusRuntimeException ge = assertThrows(StatusRuntimeException.class, () -> io.github.tflxmert.serving.proto
        .AnswerServiceGrpc.newBlockingStub(channel).answer(ireq.clearInstances().addInstances(ib.clearFeatures().addFeatures(1f)).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, ge.getStatus().getCode());
    assertTrue(ge.getStatus().getDescription().contains("float32 rows of 128"), ge.getStatus().getDescription());
    assertError(400, "instances[0].text: expected a string", http("POST", "/v1/models/hf:answer",
        "{\"instances\": [{\"features\": [[1]], \"boxes\": [[0,0,1,1]]}]}"));
    assertError(400, "expected a list of rows of 128 numbers", http("POST", "/v1/models/hf:answer",
        "{\"instances\": [{\"text\": \"a\", \"features\": [[1]], \"boxes\": [[0,0,1,1]]}]}"));
    assertError(400, "vocab.txt", http("POST", "/v1/models/sm:answer", JSON.writeValueAsString(Map.of("instances", List.of(plain)))));
  }

  /**
   * The tiny HF model with an {@code answers.json} in the ans2label form ({"answer i": i}, written in reverse
   * order, so that reading it as a list would put every label at the wrong index).
   */
  private static Path withAns2Label(Path dir) throws Exception {
    ServingFixtures.copyTree(ServingFixtures.HF_MODEL, dir);
    int n = JSON.readTree(dir.resolve("config.json").toFile()).get("num_qa_labels").asInt();
    Map<String, Integer> ans2label = new LinkedHashMap<>();
    for (int i = n - 1; i >= 0; i--) {
      ans2label.put("answer " + i, i);
    }
    Files.writeString(dir.resolve("answers.json"), JSON.writeValueAsString(ans2label));
    return dir;
  }

  @Test
  void answerNamesAnswersFromAnAns2LabelFile() throws Exception {
    LxmertInputs one = ServingFixtures.inputs(21, 1, 1, 3);
    Map<String, Object> inst = Map.of("text", "what is it?", "features", nested(one.visualFeats())[0],
        "boxes", nested(one.visualPos())[0]);
    String body = JSON.writeValueAsString(Map.of("instances", List.of(inst), "top_k", 3));
    HttpResponse<String> r = http("POST", "/v1/models/hfd:answer", body);
    assertEquals(200, r.statusCode(), r.body());
    JsonNode answers = JSON.readTree(r.body()).get("predictions").get(0).get("answers");
    assertEquals(3, answers.size(), r.body());
    JsonNode plain = JSON.readTree(http("POST", "/v1/models/hf:answer", body).body()).get("predictions").get(0)
        .get("answers");
    for (int i = 0; i < 3; i++) {
      JsonNode a = answers.get(i);
      assertEquals("answer " + a.get("index").asInt(), a.get("answer").asText(), r.body());
      assertEquals(plain.get(i).get("index").asInt(), a.get("index").asInt(), "same model, same ranking");
    }
  }

  static void assertError(int code, String text, HttpResponse<String> r) throws Exception {
    assertEquals(code, r.statusCode(), r.body());
    JsonNode n = JSON.readTree(r.body());
    assertEquals(1, n.size(), r.body());
    assertTrue(n.get("error").asText().contains(text), r.body());
  }

  @Test
  void responseTensorContentAnswersTheSameFloatsInTensorContent() throws Exception {
    ModelServer.Options o = new ModelServer.Options("127.0.0.1", -1, 0,
        Map.of("m", ServedModel.Source.basePath(base)), null, 0, 2, 1 << 20, 4 << 20, 10).withResponseTensorContent(true);
    try (ModelServer s = ModelServer.start(o)) {
      ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build();
      try {
        LxmertInputs in = ServingFixtures.inputs(8, 2, 5, 4);
        String[] keys = {"prediction_logits", "cross_relationship_score", "question_answering_score"};
        PredictResponse content = PredictionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS)
            .predict(request("m", in, false, keys));
        PredictResponse typed = predict.predict(request("sm", in, false, keys)); // the same SavedModel, float_val
        assertEquals(1, content.getModelSpec().getVersion().getValue());
        for (String k : keys) {
          TensorProto c = content.getOutputsOrThrow(k);
          TensorProto t = typed.getOutputsOrThrow(k);
          assertEquals(0, c.getFloatValCount(), k + ": float_val should be empty");
          assertEquals(4L * t.getFloatValCount(), c.getTensorContent().size(), k);
          assertEquals(t.getTensorShape(), c.getTensorShape(), k);
          ServingFixtures.assertClose(k + " tensor_content = float_val", array(t), array(c));
        }
      } finally {
        ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aNewVersionTakesOverAndABrokenOneLeavesTheServedOneInPlace() throws Exception {
    // run in a server of its own so the other tests keep version 1
    Path b = ServingFixtures.pythonBase(tmp.resolve("swap"));
    ModelServer.Options o = new ModelServer.Options("127.0.0.1", -1, 0, Map.of("m", ServedModel.Source.basePath(b)),
        null, 0, 2, 1 << 20, 4 << 20, 10);
    try (ModelServer s = ModelServer.start(o)) {
      ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build();
      try {
        var stub = PredictionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
        LxmertInputs in = ServingFixtures.inputs(5, 1, 4, 3);
        PredictResponse v1 = stub.predict(request("m", in, true, "cross_relationship_score"));
        assertEquals(1, v1.getModelSpec().getVersion().getValue());
        ServingFixtures.copyTree(b.resolve("1"), b.resolve("2"));
        s.pollNow();
        PredictResponse v2 = stub.predict(request("m", in, true, "cross_relationship_score"));
        assertEquals(2, v2.getModelSpec().getVersion().getValue());
        ServingFixtures.assertClose("v2 = v1", array(v1.getOutputsOrThrow("cross_relationship_score")),
            array(v2.getOutputsOrThrow("cross_relationship_score")));
        Files.createDirectories(b.resolve("3"));
        Files.write(b.resolve("3").resolve("saved_model.pb"), new byte[] {1, 2, 3});
        s.pollNow();
        GetModelStatusResponse st = ModelServiceGrpc.newBlockingStub(ch).getModelStatus(GetModelStatusRequest.newBuilder()
            .setModelSpec(ModelSpec.newBuilder().setName("m")).build());
        Map<Long, ModelVersionStatus> byV = new LinkedHashMap<>();
        st.getModelVersionStatusList().forEach(v -> byV.put(v.getVersion(), v));
        assertEquals(ModelVersionStatus.State.END, byV.get(1L).getState());
        assertEquals(ModelVersionStatus.State.AVAILABLE, byV.get(2L).getState());
        assertEquals(ModelVersionStatus.State.END, byV.get(3L).getState());
        assertTrue(!byV.get(3L).getStatus().getErrorMessage().isEmpty(), st.toString());
        assertEquals(2, stub.predict(request("m", in, true)).getModelSpec().getVersion().getValue());
      } finally {
        ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }
}
