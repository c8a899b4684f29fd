package io.github.tflxmert.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Int64Value;
import io.github.tflxmert.array.FloatArray;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.TensorProto;
import tensorflow.serving.Model.ModelSpec;
import tensorflow.serving.Predict.PredictResponse;

/** The serialized answer against the message protobuf builds: the same message, value for value. */
class TensorCodecTest {
  private static PredictResponse built(ModelSpec spec, Map<String, FloatArray> outputs) {
    PredictResponse.Builder b = PredictResponse.newBuilder().setModelSpec(spec);
    outputs.forEach((k, v) -> b.putOutputs(k, TensorCodec.encode(v)));
    return b.build();
  }

  private static FloatArray random(Random r, long... shape) {
    float[] d = new float[(int) io.github.tflxmert.serving.NdValue.count(shape)];
    for (int i = 0; i < d.length; i++) {
      d[i] = (float) r.nextGaussian();
    }
    return new FloatArray(shape, d);
  }

  @Test
  void serializedAnswerParsesToTheBuiltMessage() throws Exception {
    Random r = new Random(3);
    ModelSpec spec = ModelSpec.newBuilder().setName("lxmert").setVersion(Int64Value.of(300))
        .setSignatureName("serving_default").build();
    Map<String, FloatArray> outputs = new LinkedHashMap<>();
    outputs.put("prediction_logits", random(r, 2, 20, 30522));      // packed length needs a 3-byte varint, entry 4
    outputs.put("cross_relationship_score", random(r, 2, 2));
    outputs.put("empty", new FloatArray(new long[] {0, 3}, new float[0])); // no float_val at all
    outputs.put("k".repeat(200), random(r, 1));                         // a key whose length takes two bytes
    outputs.put("special", new FloatArray(new long[] {4},
        new float[] {Float.NaN, Float.NEGATIVE_INFINITY, -0f, Float.MIN_VALUE}));
    byte[] bytes = TensorCodec.predictResponse(spec, outputs);
    PredictResponse parsed = PredictResponse.parseFrom(bytes);
    PredictResponse expected = built(spec, outputs);
    assertEquals(expected, parsed);
    assertEquals(expected.getSerializedSize(), bytes.length);
    TensorProto special = parsed.getOutputsOrThrow("special");
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(special.getFloatVal(2)));
    assertArrayEquals(outputs.get("prediction_logits").data(),
        toArray(parsed.getOutputsOrThrow("prediction_logits")));
  }

  @Test
  void tensorContentAnswerCarriesTheSameFloatsAsBytes() throws Exception {
    Random r = new Random(4);
    ModelSpec spec = ModelSpec.newBuilder().setName("lxmert").setVersion(Int64Value.of(2)).build();
    Map<String, FloatArray> outputs = new LinkedHashMap<>();
    outputs.put("prediction_logits", random(r, 1, 20, 30522));
    outputs.put("empty", new FloatArray(new long[] {0, 3}, new float[0]));
    outputs.put("special", new FloatArray(new long[] {4},
        new float[] {Float.NaN, Float.NEGATIVE_INFINITY, -0f, Float.MIN_VALUE}));
    byte[] content = TensorCodec.predictResponse(spec, outputs, true);
    byte[] typed = TensorCodec.predictResponse(spec, outputs, false);
    assertEquals(typed.length, content.length);
    PredictResponse parsed = PredictResponse.parseFrom(content);
    assertEquals(spec, parsed.getModelSpec());
    for (Map.Entry<String, FloatArray> e : outputs.entrySet()) {
      TensorProto t = parsed.getOutputsOrThrow(e.getKey());
      assertEquals(0, t.getFloatValCount(), e.getKey());
      assertEquals(4L * e.getValue().data().length, t.getTensorContent().size(), e.getKey());
      NdValue v = TensorCodec.decode(e.getKey(), t);   // the server's own reader of tensor_content
      assertArrayEquals(e.getValue().shape(), v.shape(), e.getKey());
      float[] got = v.floats();
      for (int i = 0; i < got.length; i++) {
        assertEquals(Float.floatToRawIntBits(e.getValue().data()[i]), Float.floatToRawIntBits(got[i]), e.getKey() + "[" + i + "]");
      }
    }
  }

  private static float[] toArray(TensorProto t) {
    float[] d = new float[t.getFloatValCount()];
    for (int i = 0; i < d.length; i++) {
      d[i] = t.getFloatVal(i);
    }
    return d;
  }
}
