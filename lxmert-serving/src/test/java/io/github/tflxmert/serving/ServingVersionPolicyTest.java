package io.github.tflxmert.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.tflxmert.LxmertInputs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tensorflow.serving.GetModelMetadata.GetModelMetadataRequest;
import tensorflow.serving.GetModelStatus.GetModelStatusRequest;
import tensorflow.serving.Model.ModelSpec;
import tensorflow.serving.ModelServiceGrpc;
import tensorflow.serving.Predict.PredictRequest;
import tensorflow.serving.PredictionServiceGrpc;

/**
 * TF Serving's version policies and labels from a {@code --model-config-file}: which versions are served as
 * directories appear and disappear, gRPC {@code model_spec.version_label} and REST {@code /labels/LABEL}.
 */
class ServingVersionPolicyTest {
  @TempDir Path tmp;

  /** BASE/1..n/: copies of the Python-exported tiny SavedModel (same weights, so the same answers). */
  private Path base(String name, long... versions) throws IOException {
    Path b = ServingFixtures.pythonBase(tmp.resolve(name));
    for (long v : versions) {
      if (v != 1) {
        ServingFixtures.copyTree(b.resolve("1"), b.resolve(Long.toString(v)));
      }
    }
    if (java.util.Arrays.stream(versions).noneMatch(v -> v == 1)) {
      deleteTree(b.resolve("1"));
    }
    return b;
  }

  private static void deleteTree(Path p) throws IOException {
    try (var s = Files.walk(p)) {
      for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }

  private Map<String, ServedModel.Source> config(String text) throws IOException {
    Path f = tmp.resolve("models-" + Math.abs(text.hashCode()) + ".config");
    Files.writeString(f, text);
    return ModelConfigFile.read(f);
  }

  private static ModelServer start(Map<String, ServedModel.Source> models) throws IOException {
    return ModelServer.start(new ModelServer.Options("127.0.0.1", -1, -1, models, null, 0, 2, 1 << 20, 4 << 20, 10));
  }

  private static Set<Long> served(ModelServer s, String model) {
    return new TreeSet<>(s.models().get(model).servedVersions());
  }

  @Test
  void theConfigFileReadsPoliciesAndLabelsAndNamesWhatIsWrong() throws Exception {
    Map<String, ServedModel.Source> m = config("""
        model_config_list {
          config { name: "a" base_path: "a" model_platform: "tensorflow"
                   model_version_policy { latest { num_versions: 2 } } }
          config { name: "b" base_path: "/abs/b" model_version_policy { all {} } }
          config { name: "c" base_path: "c" model_version_policy { specific { versions: 1 versions: 3 } }
                   version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 3 } }
          config { name: "d" base_path: "d" }
        }""");
    assertEquals(List.of("a", "b", "c", "d"), List.copyOf(m.keySet()));
    assertEquals(ServedModel.VersionPolicy.latest(2), m.get("a").policy());
    assertEquals(tmp.resolve("a").toAbsolutePath(), m.get("a").basePath());
    assertEquals(Path.of("/abs/b"), m.get("b").basePath());
    assertEquals(ServedModel.VersionPolicy.all(), m.get("b").policy());
    assertEquals(ServedModel.VersionPolicy.specific(List.of(1L, 3L)), m.get("c").policy());
    assertEquals(Map.of("stable", 1L, "canary", 3L), m.get("c").labels());
    assertEquals(ServedModel.VersionPolicy.latest(1), m.get("d").policy());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config("""
        model_config_list { config { name: "c" base_path: "c"
          model_version_policy { specific { versions: 1 } } version_labels { key: "stable" value: 2 } } }"""));
    assertTrue(e.getMessage().contains("model c: version_labels: expected label 'stable' to name one of the versions")
        && e.getMessage().endsWith("found 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> config(
        "model_config_list { config { name: \"x\" base_path: \"x\" model_platform: \"pytorch\" } }"));
    assertTrue(e.getMessage().contains("model x: model_platform: expected \"tensorflow\", found \"pytorch\""), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> config("model_config_list { config { nam: \"x\" } }"));
    assertTrue(e.getMessage().contains("expected TF Serving's text ModelServerConfig"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> config(
        "model_config_list { config { name: \"x\" base_path: \"x\" model_version_policy { specific { } } } }"));
    assertTrue(e.getMessage().contains("specific.versions: expected at least one version"), e.getMessage());
  }

  @Test
  void latestNServesTheNewestNAndFollowsNewAndRemovedDirectories() throws Exception {
    Path b = base("latest", 1, 2, 3);
    try (ModelServer s = start(Map.of("m", ServedModel.Source.basePath(b, ServedModel.VersionPolicy.latest(2), Map.of())))) {
      assertEquals(Set.of(2L, 3L), served(s, "m"));
      ServingFixtures.copyTree(b.resolve("1"), b.resolve("4"));
      s.pollNow();
      assertEquals(Set.of(3L, 4L), served(s, "m"));
      assertEquals(4, s.models().get("m").servedVersion().getAsLong());
      ServedModel m = s.models().get("m");
      ServingException nf = assertThrows(ServingException.class, () -> m.acquire(java.util.OptionalLong.of(2)));
      assertEquals(ServingException.Code.NOT_FOUND, nf.code());
      assertTrue(nf.getMessage().contains("expected a served version [3, 4], found request for version 2"), nf.getMessage());
      deleteTree(b.resolve("4")); // a rollback by deleting the newest: 2 and 3 are the newest two again
      s.pollNow();
      assertEquals(Set.of(2L, 3L), served(s, "m"));
      assertEquals(ServedModel.State.END, m.statusMap().get(4L).state());
      assertEquals(ServedModel.State.AVAILABLE, m.statusMap().get(2L).state());
    }
  }

  @Test
  void allServesEveryVersionAndABrokenNewOneChangesNothing() throws Exception {
    Path b = base("all", 1, 2);
    try (ModelServer s = start(Map.of("m", ServedModel.Source.basePath(b, ServedModel.VersionPolicy.all(), Map.of())))) {
      assertEquals(Set.of(1L, 2L), served(s, "m"));
      Files.createDirectories(b.resolve("5"));
      Files.write(b.resolve("5").resolve("saved_model.pb"), new byte[] {1, 2, 3});
      s.pollNow();
      assertEquals(Set.of(1L, 2L), served(s, "m"));
      assertEquals(ServedModel.State.END, s.models().get("m").statusMap().get(5L).state());
      assertTrue(!s.models().get("m").statusMap().get(5L).error().isEmpty());
      deleteTree(b.resolve("1"));
      s.pollNow();
      assertEquals(Set.of(2L), served(s, "m"));
    }
  }

  @Test
  void specificVersionsWithLabelsOverGrpcAndRest() throws Exception {
    Path b = base("specific", 1, 2, 3);
    Files.copy(ServingFixtures.HF_MODEL.resolve("vocab.txt"), b.resolve("vocab.txt"));   // for :answer
    Map<String, ServedModel.Source> models = Map.of("m", ServedModel.Source.basePath(b,
        ServedModel.VersionPolicy.specific(List.of(1L, 3L)), Map.of("stable", 1L, "canary", 3L)));
    try (ModelServer s = start(models)) {
      assertEquals(Set.of(1L, 3L), served(s, "m"));
      ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build();
      try {
        var stub = PredictionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
        LxmertInputs in = ServingFixtures.inputs(3, 1, 4, 3);
        PredictRequest r = ServingServerTest.request("m", in, true, "cross_relationship_score");
        assertEquals(3, stub.predict(r).getModelSpec().getVersion().getValue(), "no version: the newest served");
        for (var l : Map.of("stable", 1L, "canary", 3L).entrySet()) {
          PredictRequest byLabel = r.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("m").setVersionLabel(l.getKey())).build();
          assertEquals((long) l.getValue(), stub.predict(byLabel).getModelSpec().getVersion().getValue(), l.getKey());
          var md = stub.getModelMetadata(GetModelMetadataRequest.newBuilder().addMetadataField("signature_def")
              .setModelSpec(ModelSpec.newBuilder().setName("m").setVersionLabel(l.getKey())).build());
          assertEquals((long) l.getValue(), md.getModelSpec().getVersion().getValue());
          var st = ModelServiceGrpc.newBlockingStub(ch).getModelStatus(GetModelStatusRequest.newBuilder()
              .setModelSpec(ModelSpec.newBuilder().setName("m").setVersionLabel(l.getKey())).build());
          assertEquals(List.of((long) l.getValue()), st.getModelVersionStatusList().stream().map(v -> v.getVersion()).toList());
        }
        PredictRequest unknown = r.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("m").setVersionLabel("beta")).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.predict(unknown));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("expected one of the labels [canary, stable], found 'beta'"),
            e.getStatus().getDescription());
        // our AnswerService takes the labels too, or a number, but not both
        var answers = io.github.tflxmert.serving.proto.AnswerServiceGrpc.newBlockingStub(ch)
            .withDeadlineAfter(60, TimeUnit.SECONDS);
        var inst = io.github.tflxmert.serving.proto.Instance.newBuilder().setText("a red cube");
        for (float f : in.visualFeats().data()) {
          inst.addFeatures(f);
        }
        for (float f : in.visualPos().data()) {
          inst.addBoxes(f);
        }
        var ask = io.github.tflxmert.serving.proto.AnswerRequest.newBuilder().setModelName("m").addInstances(inst);
        assertEquals(3, answers.answer(ask.build()).getVersion(), "no version: the newest served");
        assertEquals(1, answers.answer(ask.clone().setVersionLabel("stable").build()).getVersion());
        assertEquals(3, answers.answer(ask.clone().setVersionLabel("canary").build()).getVersion());
        StatusRuntimeException ae = assertThrows(StatusRuntimeException.class,
            () -> answers.answer(ask.clone().setVersionLabel("beta").build()));
        assertEquals(Status.Code.NOT_FOUND, ae.getStatus().getCode());
        assertTrue(ae.getStatus().getDescription().contains("found 'beta'"), ae.getStatus().getDescription());
        StatusRuntimeException both = assertThrows(StatusRuntimeException.class,
            () -> answers.answer(ask.clone().setVersion(1).setVersionLabel("stable").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, both.getStatus().getCode());
        assertTrue(both.getStatus().getDescription().contains("expected at most one of them"),
            both.getStatus().getDescription());
        PredictRequest v2 = r.toBuilder().setModelSpec(ModelSpec.newBuilder().setName("m")
            .setVersion(com.google.protobuf.Int64Value.of(2))).build();
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class, () -> stub.predict(v2)).getStatus().getCode(),
            "version 2 is on disk but not in the policy");
      } finally {
        ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }

      String rest = "http://127.0.0.1:" + s.restPort() + "/v1/models/m";
      HttpResponse<String> st = http("GET", rest + "/labels/canary", null);
      assertEquals(200, st.statusCode(), st.body());
      JsonNode vs = ServingServerTest.JSON.readTree(st.body()).get("model_version_status");
      assertEquals(1, vs.size(), st.body());
      assertEquals("3", vs.get(0).get("version").asText());
      HttpResponse<String> md = http("GET", rest + "/labels/stable/metadata", null);
      assertEquals(200, md.statusCode(), md.body());
      assertEquals("1", ServingServerTest.JSON.readTree(md.body()).get("model_spec").get("version").asText());
      LxmertInputs in = ServingFixtures.inputs(4, 1, 4, 3);
      HttpResponse<String> p = http("POST", rest + "/labels/stable:predict", ServingServerTest.rows(in));
      assertEquals(200, p.statusCode(), p.body());
      HttpResponse<String> p3 = http("POST", rest + "/versions/3:predict", ServingServerTest.rows(in));
      assertEquals(ServingServerTest.JSON.readTree(p3.body()), ServingServerTest.JSON.readTree(p.body()),
          "same weights in 1 and 3: the same predictions");
      String ask = ServingServerTest.JSON.writeValueAsString(Map.of("instances", List.of(Map.of("text", "a red cube",
          "features", ServingServerTest.nested(in.visualFeats())[0], "boxes", ServingServerTest.nested(in.visualPos())[0]))));
      HttpResponse<String> a = http("POST", rest + "/labels/stable:answer", ask);
      assertEquals(200, a.statusCode(), a.body());
      assertEquals("1", ServingServerTest.JSON.readTree(a.body()).get("version").asText(), a.body());
      for (String path : new String[] {"/labels/beta", "/labels/beta/metadata"}) {
        ServingServerTest.assertError(404, "found 'beta'", http("GET", rest + path, null));
      }
      ServingServerTest.assertError(404, "found 'beta'", http("POST", rest + "/labels/beta:predict", ServingServerTest.rows(in)));
    }
  }

  @Test
  void aLabelNamingAVersionNotServedFailsTheStart() throws Exception {
    Path b = base("badlabel", 1, 2);
    IOException e = assertThrows(IOException.class, () -> start(Map.of("m",
        ServedModel.Source.basePath(b, ServedModel.VersionPolicy.latest(1), Map.of("stable", 1L)))));
    assertTrue(e.getMessage().contains("version_labels: expected label 'stable' to name a served version [2], found version 1"),
        e.getMessage());
  }

  private static HttpResponse<String> http(String method, String url, String body) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
    r = body == null ? r.method(method, HttpRequest.BodyPublishers.noBody())
        : r.method(method, HttpRequest.BodyPublishers.ofString(body));
    return ServingServerTest.HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }
}
