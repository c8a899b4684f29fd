package io.github.tflxmert.serving;

import com.google.protobuf.Any;
import com.google.protobuf.Int64Value;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.proto.TensorProto;
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
 * TF Serving's gRPC services over {@link PredictionCore}: {@code PredictionService/Predict} and
 * {@code /GetModelMetadata}, {@code ModelService/GetModelStatus}; Classify, Regress, MultiInference and
 * HandleReloadConfigRequest answer UNIMPLEMENTED (LXMERT has no tf.Example signatures). Errors are gRPC statuses
 * with the core's message. Thread-safe; stateless beyond the core.
 */
final class GrpcServices {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcServices.class);

  private GrpcServices() {}

  /** The version a spec asks for: {@code version}, the one {@code version_label} names, or empty (latest). */
  static OptionalLong version(ModelRegistry models, ModelSpec spec) {
    if (spec.getVersionChoiceCase() == ModelSpec.VersionChoiceCase.VERSION_LABEL) {
      return OptionalLong.of(models.get(spec.getName()).versionForLabel(spec.getVersionLabel()));
    }
    return spec.hasVersion() ? OptionalLong.of(spec.getVersion().getValue()) : OptionalLong.empty();
  }

  static ModelSpec spec(String name, long version, String signature) {
    ModelSpec.Builder b = ModelSpec.newBuilder().setName(name).setVersion(Int64Value.of(version));
    if (signature != null) {
      b.setSignatureName(signature);
    }
    return b.build();
  }

  static <T> void answer(StreamObserver<T> out, Supplier<T> body, Metrics metrics, String api, String model,
                         java.util.function.Function<T, ModelSpec> specOf) {
    long t0 = System.nanoTime();
    String code = "OK";
    String version = "";
    try {
      T r = body.get();
      ModelSpec answered = specOf.apply(r);
      version = answered != null && answered.hasVersion() ? Long.toString(answered.getVersion().getValue()) : "";
      out.onNext(r);
      out.onCompleted();
    } catch (ServingException e) {
      code = e.code().name();
      out.onError(Status.fromCode(Status.Code.valueOf(e.code().name())).withDescription(e.getMessage()).asRuntimeException());
    } catch (RuntimeException e) {
      code = "INTERNAL";
      LOG.warn("{} failed", api, e);
      out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
    } finally {
      if (metrics != null) {
        metrics.request(model, version, api, "grpc", code, System.nanoTime() - t0);
      }
    }
  }

  static final class Prediction extends PredictionServiceGrpc.PredictionServiceImplBase {
    private final PredictionCore core;
    private final Metrics metrics;
    private final boolean tensorContent;

    /** @param tensorContent answers' floats in {@code tensor_content} rather than {@code float_val} */
    Prediction(PredictionCore core, Metrics metrics, boolean tensorContent) {
      this.core = core;
      this.metrics = metrics;
      this.tensorContent = tensorContent;
    }

    /** The generated binding's Predict (the server binds {@link #predictEncoded} instead; see {@link #service}). */
    @Override
    public void predict(PredictRequest request, StreamObserver<PredictResponse> out) {
      predictEncoded(request, new StreamObserver<>() {
        @Override
        public void onNext(EncodedResponse r) {
          try {
            out.onNext(PredictResponse.parseFrom(r.bytes()));
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
          }
        }

        @Override
        public void onError(Throwable t) {
          out.onError(t);
        }

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      });
    }

    void predictEncoded(PredictRequest request, StreamObserver<EncodedResponse> out) {
      answer(out, () -> {
        ModelSpec ms = request.getModelSpec();
        Map<String, NdValue> inputs = new LinkedHashMap<>();
        for (Map.Entry<String, TensorProto> e : request.getInputsMap().entrySet()) {
          inputs.put(e.getKey(), TensorCodec.decode(e.getKey(), e.getValue()));
        }
        PredictionCore.Response r = core.predict(new PredictionCore.Request(ms.getName(), version(core.models(), ms),
            "", ms.getSignatureName(), inputs, List.copyOf(request.getOutputFilterList())));
        ModelSpec answered = spec(r.model(), r.version(), r.signature());
        return new EncodedResponse(answered, TensorCodec.predictResponse(answered, r.outputs(), tensorContent));
      }, metrics, "predict", request.getModelSpec().getName(), EncodedResponse::spec);
    }

    /**
     * TF Serving's {@code PredictionService} as the server binds it: the generated service with Predict's answer
     * marshalled from bytes {@link TensorCodec#predictResponse} wrote (the same message on the wire), and the
     * generated schema descriptor kept, so server reflection lists it unchanged.
     */
    ServerServiceDefinition service() {
      ServerServiceDefinition generated = bindService();
      MethodDescriptor<PredictRequest, PredictResponse> original = PredictionServiceGrpc.getPredictMethod();
      MethodDescriptor<PredictRequest, EncodedResponse> predict =
          original.toBuilder(original.getRequestMarshaller(), EncodedResponse.MARSHALLER).build();
      ServiceDescriptor.Builder sd = ServiceDescriptor.newBuilder(PredictionServiceGrpc.SERVICE_NAME)
          .setSchemaDescriptor(generated.getServiceDescriptor().getSchemaDescriptor()).addMethod(predict);
      List<ServerMethodDefinition<?, ?>> others = generated.getMethods().stream()
          .filter(m -> !m.getMethodDescriptor().getFullMethodName().equals(original.getFullMethodName())).toList();
      others.forEach(m -> sd.addMethod(m.getMethodDescriptor()));
      ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(sd.build())
          .addMethod(predict, ServerCalls.asyncUnaryCall(this::predictEncoded));
      others.forEach(b::addMethod);
      return b.build();
    }

    @Override
    public void getModelMetadata(GetModelMetadataRequest request, StreamObserver<GetModelMetadataResponse> out) {
      answer(out, () -> {
        if (!request.getMetadataFieldList().contains("signature_def")) {
          throw ServingException.invalid("metadata_field: expected 'signature_def' (the only one served), found "
              + request.getMetadataFieldList());
        }
        ModelSpec ms = request.getModelSpec();
        Metadata md = Metadata.of(core.models(), ms.getName(), version(core.models(), ms));
        return GetModelMetadataResponse.newBuilder().setModelSpec(spec(md.model(), md.version(), null))
            .putMetadata("signature_def", Any.pack(md.signatureDefs())).build();
      }, metrics, "metadata", request.getModelSpec().getName(), GetModelMetadataResponse::getModelSpec);
    }
  }

  /** A serialized {@code PredictResponse} and the spec it answers (for the metrics). */
  record EncodedResponse(ModelSpec spec, byte[] bytes) {
    /** Server side only: writes the bytes as they are, in one write, with their length known up front. */
    static final MethodDescriptor.Marshaller<EncodedResponse> MARSHALLER = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(EncodedResponse r) {
        return new Bytes(r.bytes());
      }

      @Override
      public EncodedResponse parse(InputStream in) {
        throw new UnsupportedOperationException("an EncodedResponse is only written, by the server");
      }
    };
  }

  /** Bytes gRPC's framer sizes ({@link KnownLength}) and writes in one call ({@link Drainable}). */
  private static final class Bytes extends ByteArrayInputStream implements KnownLength, Drainable {
    Bytes(byte[] b) {
      super(b);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = count - pos;
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }

  static final class ModelStatus extends ModelServiceGrpc.ModelServiceImplBase {
    private final PredictionCore core;
    private final Metrics metrics;

    ModelStatus(PredictionCore core, Metrics metrics) {
      this.core = core;
      this.metrics = metrics;
    }

    @Override
    public void getModelStatus(GetModelStatusRequest request, StreamObserver<GetModelStatusResponse> out) {
      answer(out, () -> {
        ModelSpec ms = request.getModelSpec();
        GetModelStatusResponse.Builder b = GetModelStatusResponse.newBuilder();
        for (ServedModel.VersionStatus v : Metadata.statuses(core.models(), ms.getName(), version(core.models(), ms))) {
          b.addModelVersionStatus(ModelVersionStatus.newBuilder().setVersion(v.version())
              .setState(ModelVersionStatus.State.valueOf(v.state().name()))
              .setStatus(tensorflow.serving.Status.StatusProto.newBuilder()
                  .setErrorCode(v.error().isEmpty() ? org.tensorflow.proto.error.Code.OK : org.tensorflow.proto.error.Code.UNKNOWN)
                  .setErrorMessage(v.error())));
        }
        return b.build();
      }, metrics, "status", request.getModelSpec().getName(), r -> null);
    }
  }

  /**
   * lxmert serve's own {@code lxmert.serving.AnswerService/Answer}: the gRPC twin of REST {@code :answer}, run by
   * the same {@link Answerer} (features and boxes travel as float32, as the REST form's base64).
   */
  static final class AnswerGrpc extends io.github.tflxmert.serving.proto.AnswerServiceGrpc.AnswerServiceImplBase {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private final Answerer answerer;
    private final ModelRegistry models;
    private final Metrics metrics;

    AnswerGrpc(Answerer answerer, ModelRegistry models, Metrics metrics) {
      this.answerer = answerer;
      this.models = models;
      this.metrics = metrics;
    }

    /** The version a request asks for: {@code version}, the one {@code version_label} names, or empty (latest). */
    private OptionalLong version(io.github.tflxmert.serving.proto.AnswerRequest r) {
      if (!r.getVersionLabel().isEmpty()) {
        if (r.getVersion() > 0) {
          throw ServingException.invalid("version " + r.getVersion() + " and version_label '" + r.getVersionLabel()
              + "': expected at most one of them");
        }
        return OptionalLong.of(models.get(r.getModelName()).versionForLabel(r.getVersionLabel()));
      }
      return r.getVersion() > 0 ? OptionalLong.of(r.getVersion()) : OptionalLong.empty();
    }

    @Override
    public void answer(io.github.tflxmert.serving.proto.AnswerRequest request,
                       StreamObserver<io.github.tflxmert.serving.proto.AnswerResponse> out) {
      GrpcServices.answer(out, () -> {
        var req = JSON.createObjectNode();
        req.put("signature_name", request.getSignatureName());
        if (request.getTopK() > 0) {
          req.put("top_k", request.getTopK());
        }
        var inst = req.putArray("instances");
        for (var i : request.getInstancesList()) {
          var o = inst.addObject();
          o.put("text", i.getText());
          o.putObject("features").put("b64", b64(i.getFeaturesList()));
          o.putObject("boxes").put("b64", b64(i.getBoxesList()));
          if (i.getImageWidth() > 0 || i.getImageHeight() > 0) {
            o.putArray("image_size").add(i.getImageWidth()).add(i.getImageHeight());
          }
        }
        var res = answerer.answer(request.getModelName(), version(request), req);
        var b = io.github.tflxmert.serving.proto.AnswerResponse.newBuilder()
            .setModelName(res.get("model").asText()).setVersion(res.get("version").asLong());
        for (var p : res.get("predictions")) {
          var pb = io.github.tflxmert.serving.proto.Prediction.newBuilder()
              .setMatchProbability((float) p.get("match_probability").asDouble());
          p.get("tokens").forEach(t -> pb.addTokens(t.asText()));
          for (var m : p.get("masked_words")) {
            var mb = io.github.tflxmert.serving.proto.MaskedWord.newBuilder().setPosition(m.get("position").asInt());
            m.get("top").forEach(c -> mb.addTop(io.github.tflxmert.serving.proto.Candidate.newBuilder()
                .setToken(c.get("token").asText()).setId(c.get("id").asInt())
                .setProbability((float) c.get("probability").asDouble())));
            pb.addMaskedWords(mb);
          }
          if (p.has("answers")) {
            p.get("answers").forEach(x -> pb.addAnswers(io.github.tflxmert.serving.proto.Answer.newBuilder()
                .setAnswer(x.get("answer").asText()).setIndex(x.get("index").asInt())
                .setProbability((float) x.get("probability").asDouble())));
          }
          b.addPredictions(pb);
        }
        return b.build();
      }, metrics, "answer", request.getModelName(),
          r -> ModelSpec.newBuilder().setName(r.getModelName()).setVersion(Int64Value.of(r.getVersion())).build());
    }

    private static String b64(List<Float> v) {
      java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(v.size() * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      v.forEach(bb::putFloat);
      return java.util.Base64.getEncoder().encodeToString(bb.array());
    }
  }

  /** A model's metadata, shared by gRPC and REST. */
  record Metadata(String model, long version, SignatureDefMap signatureDefs) {
    static Metadata of(ModelRegistry models, String name, OptionalLong version) {
      ServedModel m = models.get(name);
      Servable s = m.acquire(version);
      try {
        SignatureDefMap.Builder b = SignatureDefMap.newBuilder();
        s.signatures().forEach((k, sig) -> b.putSignatureDef(k, sig.toSignatureDef()));
        return new Metadata(m.name(), s.version(), b.build());
      } finally {
        s.release();
      }
    }

    static List<ServedModel.VersionStatus> statuses(ModelRegistry models, String name, OptionalLong version) {
      ServedModel m = models.get(name);
      if (version.isEmpty()) {
        List<ServedModel.VersionStatus> all = m.statuses();
        if (all.isEmpty()) {
          throw ServingException.notFound("model " + name + ": no version seen yet");
        }
        return all;
      }
      ServedModel.VersionStatus v = m.statusMap().get(version.getAsLong());
      if (v == null) {
        throw ServingException.notFound("model " + name + ": expected a known version " + m.statusMap().keySet()
            + ", found " + version.getAsLong());
      }
      return List.of(v);
    }
  }
}
