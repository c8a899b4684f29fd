package io.github.tflxmert.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;

/** Inspection of a small Java-exported SavedModel (the fixture SavedModels are covered in parity-tests). */
class SavedModelInfoTest {
  @TempDir
  Path tmp;

  @Test
  void unknownRankIsNotAScalar() throws Exception {
    Path dir = tmp.resolve("m");
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> anyRank = tf.withName("any").placeholder(TFloat32.class);          // unknown rank
      Placeholder<TFloat32> scalar = tf.withName("s").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      Placeholder<TString> vec = tf.withName("v").placeholder(TString.class, Placeholder.shape(Shape.of(3)));
      try (Session s = new Session(g)) {
        Signature sig = Signature.builder().key("serving_default").methodName("tensorflow/serving/predict")
            .input("any", anyRank).input("scalar", scalar).input("vec", vec)
            .output("y", tf.withName("y").math.add(anyRank, scalar)).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve", "gpu").withFunction(s.function(sig)).export();
      }
    }
    SavedModelInfo info = SavedModelInfo.inspect(dir);
    String text = info.toText();
    assertTrue(text.startsWith("\nMetaGraphDef with tag-set: 'serve, gpu' contains the following SignatureDefs:\n"),
        text);
    assertTrue(text.contains("""
            inputs['any'] tensor_info:
                dtype: DT_FLOAT
                shape: unknown_rank
                name: any:0
            inputs['scalar'] tensor_info:
                dtype: DT_FLOAT
                shape: ()
                name: s:0
            inputs['vec'] tensor_info:
                dtype: DT_STRING
                shape: (3)
                name: v:0
        """), text);
    assertTrue(text.contains("  Method name is: tensorflow/serving/predict\n"), text);
    assertTrue(text.contains("The MetaGraph with tag set ['serve', 'gpu'] contains the following ops: {'Add', "),
        text);

    JsonNode mg = new ObjectMapper().readTree(info.toJson()).path("metaGraphs").get(0);
    JsonNode in = mg.path("signatures").path("serving_default").path("inputs");
    assertTrue(in.path("any").path("shape").isNull());
    assertTrue(in.path("any").path("unknownRank").asBoolean());
    assertEquals("[]", in.path("scalar").path("shape").toString());
    assertEquals(false, in.path("scalar").path("unknownRank").asBoolean());
    assertEquals("[3]", in.path("vec").path("shape").toString());
    assertEquals("", mg.path("tensorflowVersion").asText());
    assertEquals(1, info.metaGraph("gpu", "serve").signatures().size());
  }
}
