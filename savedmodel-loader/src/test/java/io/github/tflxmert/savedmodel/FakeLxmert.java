package io.github.tflxmert.savedmodel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TIntegral;

/**
 * Exports, from Java, a SavedModel with HF LXMERT's signature layout but trivial arithmetic, so the predictor's
 * plumbing can be checked exactly without Python (B batch, S text, N regions; V = 10, F = 3, H = 2):
 * <ul>
 *   <li>{@code prediction_logits} [B,S,V] = one_hot(input_ids) * attention_mask * w (w a variable = 1)</li>
 *   <li>{@code cross_relationship_score} [B,2] = (sum of token_type_ids, sum of visual_attention_mask)</li>
 *   <li>{@code question_answering_score} [B,F] = visual_feats summed over regions</li>
 *   <li>{@code language_hidden_states} [3,B,S,H]: entry i = (input_ids * (i+1), attention_mask)</li>
 *   <li>{@code vision_hidden_states} [2,B,N,H]: entry i = visual_pos[..., 0:2] * (i+1)</li>
 * </ul>
 */
final class FakeLxmert {
  static final int V = 10;
  static final int F = 3;

  /** Which signatures and inputs to write. */
  record Options(boolean int32, boolean int64, boolean visualMask, boolean visualPos, String extraInput) {
    static Options standard() {
      return new Options(true, true, true, true, null);
    }
  }

  private FakeLxmert() {}

  static Path export(Path dir, Options o) throws IOException {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> w = tf.withName("w").variable(tf.constant(1f));
      List<Signature> sigs = new ArrayList<>();
      if (o.int32) {
        sigs.add(signature(tf.withSubScope("serving_default"), "serving_default", TInt32.class, w, o));
      }
      if (o.int64) {
        sigs.add(signature(tf.withSubScope("int64_serving"), "int64_serving", TInt64.class, w, o));
      }
      try (Session s = new Session(g)) {
        s.initialize();
        SavedModelBundle.Exporter e = SavedModelBundle.exporter(dir.toString()).withTags("serve");
        for (Signature sig : sigs) {
          e = e.withFunction(s.function(sig));
        }
        e.export();
      }
    }
    return dir;
  }

  private static <T extends TIntegral> Signature signature(Ops tf, String key, Class<T> intType, Variable<TFloat32> w,
                                                           Options o) {
    Placeholder<T> ids = tf.withName("input_ids").placeholder(intType, Placeholder.shape(Shape.of(-1, -1)));
    Placeholder<T> mask = tf.withName("attention_mask").placeholder(intType, Placeholder.shape(Shape.of(-1, -1)));
    Placeholder<T> types = tf.withName("token_type_ids").placeholder(intType, Placeholder.shape(Shape.of(-1, -1)));
    Placeholder<T> vmask = tf.withName("visual_attention_mask").placeholder(intType, Placeholder.shape(Shape.of(-1, -1)));
    Placeholder<TFloat32> feats = tf.withName("visual_feats").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, F)));
    Placeholder<TFloat32> pos = tf.withName("visual_pos").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, 4)));

    Operand<TInt32> ids32 = tf.dtypes.cast(ids, TInt32.class);
    Operand<TFloat32> maskF = tf.dtypes.cast(mask, TFloat32.class);                       // [B,S]
    Operand<TFloat32> logits = tf.math.mul(tf.math.mul(                                    // [B,S,V]
        tf.oneHot(ids32, tf.constant(V), tf.constant(1f), tf.constant(0f)), tf.expandDims(maskF, tf.constant(-1))), w);
    Operand<TFloat32> typeSum = tf.reduceSum(tf.dtypes.cast(types, TFloat32.class), tf.constant(1));   // [B]
    Operand<TFloat32> vmaskSum = o.visualMask ? tf.reduceSum(tf.dtypes.cast(vmask, TFloat32.class), tf.constant(1))
        : tf.math.mul(typeSum, tf.constant(0f));
    Operand<TFloat32> cross = tf.stack(List.of(typeSum, vmaskSum), Stack.axis(1L));       // [B,2]
    Operand<TFloat32> qa = tf.reduceSum(feats, tf.constant(1));                            // [B,F]
    List<Operand<TFloat32>> lang = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Operand<TFloat32> idsF = tf.math.mul(tf.dtypes.cast(ids32, TFloat32.class), tf.constant((float) (i + 1)));
      lang.add(tf.stack(List.of(idsF, maskF), Stack.axis(-1L)));                          // [B,S,2]
    }
    List<Operand<TFloat32>> vis = new ArrayList<>();
    Operand<TFloat32> pos01 = tf.gather(pos, tf.constant(new int[] {0, 1}), tf.constant(2)); // [B,N,2]
    for (int i = 0; i < 2; i++) {
      vis.add(tf.math.mul(pos01, tf.constant((float) (i + 1))));
    }
    Signature.Builder b = Signature.builder().key(key).methodName("tensorflow/serving/predict")
        .input("input_ids", ids).input("attention_mask", mask).input("token_type_ids", types)
        .input("visual_feats", feats)
        .output("prediction_logits", tf.withName("prediction_logits").identity(logits))
        .output("cross_relationship_score", tf.withName("cross_relationship_score").identity(cross))
        .output("question_answering_score", tf.withName("question_answering_score").identity(qa))
        .output("language_hidden_states", tf.withName("language_hidden_states").stack(lang))
        .output("vision_hidden_states", tf.withName("vision_hidden_states").stack(vis));
    if (o.visualPos) {
      b.input("visual_pos", pos);
    }
    if (o.visualMask) {
      b.input("visual_attention_mask", vmask);
    }
    if (o.extraInput != null) {
      b.input(o.extraInput, tf.withName(o.extraInput).placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1))));
    }
    return b.build();
  }
}
