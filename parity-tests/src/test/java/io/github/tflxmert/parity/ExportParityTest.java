package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.export.SavedModelExporter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The Java-exported SavedModel, reloaded in Java through TensorFlow's SavedModel loader (the C++ path TF
 * Serving uses), gives bit-identical outputs to the Java graph run with the same ops (fused kernels off: exports use
 * TensorFlow's public ops) and the graph optimizer on (as that loader runs it; with it off, the default, numbers
 * differ by rounding), through both signatures, with the signature
 * layout HF writes. When the system property {@code lxmert.export.dir} is set, the exports are kept there
 * (.ci/run then loads them in Python with check_java_export.py).
 */
class ExportParityTest {
  @TempDir Path tmp;

  static Stream<String> names() {
    return References.NAMES.stream();
  }

  Path exportBase(String name) {
    String keep = System.getProperty("lxmert.export.dir", "");
    return keep.isBlank() ? tmp.resolve(name) : Path.of(keep).resolve(name);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("names")
  void exportedSavedModelReloadsBitIdentical(String name) throws IOException {
    try (LxmertReference ref = References.open(name);
         LxmertForPreTraining model = LxmertForPreTraining.fromPretrained(ref.modelDir(),
             LoadOptions.defaults().withGraphOptimizer(true).withKernelFusion(KernelFusion.OFF))) {
      Path base = exportBase(name);
      SavedModelExporter.Options opts = SavedModelExporter.Options.pretraining().withHiddenStates(true)
          .withAttentions(true);
      Path dir = SavedModelExporter.export(model.config(), model.checkpoint(), base, 1, opts);
      assertTrue(Files.isRegularFile(dir.resolve("saved_model.pb")));
      assertTrue(Files.isRegularFile(dir.resolve("variables/variables.index")), "weights saved as variables");
      List<String> keys = SavedModelExporter.outputKeys(model.config(), opts);
      try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve")) {
        MetaGraphDef mg = b.metaGraphDef();
        for (String sig : List.of("serving_default", "int64_serving")) {
          SignatureDef sd = mg.getSignatureDefOrThrow(sig);
          assertEquals(SavedModelExporter.PREDICT_METHOD, sd.getMethodName());
          assertEquals(java.util.Set.of("input_ids", "attention_mask", "token_type_ids", "visual_feats",
              "visual_pos", "visual_attention_mask"), sd.getInputsMap().keySet());
          assertEquals(new java.util.TreeSet<>(keys), new java.util.TreeSet<>(sd.getOutputsMap().keySet()));
        }
        for (LxmertReference.Case c : ref.cases()) {
          LxmertInputs in = c.inputs();
          Map<String, FloatArray> expected = model.predict(in, OutputSelection.all(model.config())).asMap();
          for (String sig : List.of("serving_default", "int64_serving")) {
            Map<String, FloatArray> got = run(b.session(), b.function(sig).signature(), in, keys,
                sig.equals("int64_serving"));
            for (String k : keys) {
              if (OutputNames.TUPLES.contains(k)) {
                FloatArray stacked = got.get(k);
                int n = OutputNames.tupleLength(k, model.config());
                assertEquals(n, stacked.dim(0), k + " stacked length");
                int per = stacked.data().length / n;
                for (int i = 0; i < n; i++) {
                  FloatArray e = expected.get(OutputNames.layer(k, i));
                  float[] slice = java.util.Arrays.copyOfRange(stacked.data(), i * per, (i + 1) * per);
                  assertTrue(java.util.Arrays.equals(e.data(), slice), sig + " " + k + "." + i + " not bit-identical");
                }
              } else {
                assertEquals(expected.get(k), got.get(k), sig + " " + k + " not bit-identical on " + c);
              }
            }
          }
        }
      }
      assertThrows(IllegalArgumentException.class,
          () -> SavedModelExporter.export(model.config(), model.checkpoint(), base, 1, opts),
          "exporting over an existing version must fail");
    }
  }

  static Map<String, FloatArray> run(Session s, Signature sig, LxmertInputs in, List<String> keys, boolean int64) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = s.runner();
      r.feed(sig.getInputs().get("input_ids").name, track(feeds, ids(in.inputIds(), int64)));
      r.feed(sig.getInputs().get("attention_mask").name, track(feeds, ids(in.attentionMask(), int64)));
      r.feed(sig.getInputs().get("token_type_ids").name, track(feeds, ids(in.tokenTypeIds(), int64)));
      r.feed(sig.getInputs().get("visual_attention_mask").name,
          track(feeds, ids(in.visualAttentionMaskOrOnes(), int64)));
      r.feed(sig.getInputs().get("visual_feats").name, track(feeds, floats(in.visualFeats())));
      r.feed(sig.getInputs().get("visual_pos").name, track(feeds, floats(in.visualPos())));
      for (String k : keys) {
        r.fetch(sig.getOutputs().get(k).name);
      }
      Map<String, FloatArray> out = new java.util.LinkedHashMap<>();
      try (Result res = r.run()) {
        for (int i = 0; i < keys.size(); i++) {
          TFloat32 t = (TFloat32) res.get(i);
          float[] d = new float[(int) t.shape().size()];
          t.asRawTensor().data().asFloats().read(d);
          out.put(keys.get(i), new FloatArray(t.shape().asArray(), d));
        }
      }
      return out;
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  private static Tensor track(List<Tensor> l, Tensor t) {
    l.add(t);
    return t;
  }

  private static Tensor ids(IntArray a, boolean int64) {
    if (!int64) {
      return TInt32.tensorOf(Shape.of(a.shape()), t -> t.asRawTensor().data().asInts().write(a.data()));
    }
    long[] l = new long[a.data().length];
    for (int i = 0; i < l.length; i++) {
      l[i] = a.data()[i];
    }
    return TInt64.tensorOf(Shape.of(a.shape()), t -> t.asRawTensor().data().asLongs().write(l));
  }

  private static Tensor floats(FloatArray a) {
    return TFloat32.tensorOf(Shape.of(a.shape()), t -> t.asRawTensor().data().asFloats().write(a.data()));
  }
}
