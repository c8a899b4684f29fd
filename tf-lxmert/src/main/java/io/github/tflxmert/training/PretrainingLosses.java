package io.github.tflxmert.training;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.graph.LxmertGraph;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The pretraining losses of HF's {@code TFLxmertForPreTraining.call}, as graph ops over the outputs of an
 * {@link LxmertGraph} of kind PRETRAINING, with one placeholder per label (names below, under {@code labels/}).
 *
 * <p>Terms, each a Keras loss with reduction "mean over all elements" (B batch, S text, N regions):
 * <ul>
 *   <li>{@code masked_lm}: sparse CE of {@code masked_lm_labels} [B,S] reshaped [-1] against
 *       {@code prediction_logits} reshaped [-1,V]. <b>As in HF's TF code there is no -100 masking</b>: every
 *       position counts, and a label outside [0,V) is an error in Python. {@link Options#ignoreIndex} is an
 *       opt-in that Python lacks: positions with that label are left out of the mean.</li>
 *   <li>{@code matched}: sparse CE of {@code matched_label} [B] against {@code cross_relationship_score}.</li>
 *   <li>{@code visual_obj}, {@code visual_attr}: sparse CE of the region labels [B,N] against the object head;
 *       {@code visual_feat}: Huber (delta 1) of the feature targets [B,N,F]. Each is
 *       {@code mean(keras_mean_loss × mask_conf) × visual_loss_normalizer}, i.e. the <i>scalar</i> mean loss
 *       times the mean confidence — HF's TF behaviour, not PyTorch's per-region weighting.</li>
 *   <li>{@code qa}: sparse CE of {@code ans} [B] against {@code question_answering_score} (weight 1).</li>
 * </ul>
 * {@code total} is the sum of the enabled terms in that order. The CE is written as
 * {@code -sum(one_hot(label) × log_softmax(logits))} because {@code SparseSoftmaxCrossEntropyWithLogits} has
 * no gradient in TF Java 1.1.0. Builds into the graph the caller owns; not thread-safe while building.
 */
public final class PretrainingLosses {
  /** Term names, in the order HF adds them. */
  public static final List<String> TERMS = List.of("masked_lm", "matched", "visual_obj", "visual_attr",
      "visual_feat", "qa");

  /**
   * Which terms to build, and the opt-in MLM ignore index.
   *
   * @param terms       subset of {@link #TERMS}
   * @param ignoreIndex MLM labels equal to this are left out of the MLM mean (e.g. -100); {@code null} = HF
   *                    behaviour (no masking)
   */
  public record Options(Set<String> terms, Integer ignoreIndex) {
    public Options {
      for (String t : terms) {
        if (!TERMS.contains(t)) {
          throw new IllegalArgumentException("unknown loss term " + t + "; known: " + TERMS);
        }
      }
      terms = Set.copyOf(terms);
    }

    public static Options all() {
      return new Options(Set.copyOf(TERMS), null);
    }

    public static Options only(String... terms) {
      return new Options(Set.of(terms), null);
    }

    public Options withIgnoreIndex(int index) {
      return new Options(terms, index);
    }
  }

  private final Map<String, Placeholder<?>> labels = new LinkedHashMap<>();
  private final Map<String, Operand<TFloat32>> terms = new LinkedHashMap<>();
  private final Operand<TFloat32> total;

  public PretrainingLosses(LxmertGraph model, Options options) {
    LxmertConfig c = model.config();
    Map<String, Operand<TFloat32>> out = model.outputs();
    Ops tf = model.scope().scope("losses");
    Ops lb = model.scope().scope("labels");
    Set<String> on = options.terms();
    // Like HF, a term whose task flag is off in the config is skipped (task_mask_lm, task_matched,
    // task_obj_predict with visual_*_loss, task_qa).
    if (on.contains("masked_lm") && c.taskMaskLm()) {
      Placeholder<TInt32> y = intLabel(lb, "masked_lm_labels", Shape.of(-1, -1));
      Operand<TFloat32> logits = tf.reshape(require(out, OutputNames.PREDICTION_LOGITS),
          tf.constant(new int[] {-1, c.vocabSize()}));
      Operand<TInt32> flat = tf.reshape(y, tf.constant(new int[] {-1}));
      if (options.ignoreIndex() == null) {
        terms.put("masked_lm", sparseCe(tf, flat, logits, c.vocabSize()));
      } else {
        Operand<TFloat32> keep = tf.dtypes.cast(tf.math.notEqual(flat, tf.constant(options.ignoreIndex())),
            TFloat32.class);
        Operand<TInt32> safe = tf.select(tf.math.notEqual(flat, tf.constant(options.ignoreIndex())), flat,
            tf.zerosLike(flat));
        Operand<TFloat32> per = perExampleCe(tf, safe, logits, c.vocabSize());
        terms.put("masked_lm", tf.math.div(sum(tf, tf.math.mul(per, keep)),
            tf.math.maximum(sum(tf, keep), tf.constant(1f))));
      }
    }
    if (on.contains("matched") && c.taskMatched()) {
      Placeholder<TInt32> y = intLabel(lb, "matched_label", Shape.of(-1));
      terms.put("matched", sparseCe(tf, tf.reshape(y, tf.constant(new int[] {-1})),
          tf.reshape(require(out, OutputNames.CROSS_RELATIONSHIP_SCORE), tf.constant(new int[] {-1, 2})), 2));
    }
    float normalizer = (float) c.visualLossNormalizer();
    Object[][] visual = {
        {"obj", c.visualObjLoss(), c.numObjectLabels()},
        {"attr", c.visualAttrLoss(), c.numAttrLabels()},
        {"feat", c.visualFeatLoss(), c.visualFeatDim()}};
    for (Object[] v : visual) {
      String key = (String) v[0];
      if (!on.contains("visual_" + key) || !(Boolean) v[1] || !c.taskObjPredict()) {
        continue;
      }
      int num = (Integer) v[2];
      Operand<TFloat32> scores = tf.reshape(require(out, "obj_predict_head." + key),
          tf.constant(new int[] {-1, num}));
      Placeholder<TFloat32> conf = lb.withName("obj_labels." + key + "_conf").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, -1)));
      labels.put("obj_labels." + key + "_conf", conf);
      Operand<TFloat32> mean;
      if (key.equals("feat")) {
        Placeholder<TFloat32> y = lb.withName("obj_labels.feat").placeholder(TFloat32.class,
            Placeholder.shape(Shape.of(-1, -1, num)));
        labels.put("obj_labels.feat", y);
        mean = huber(tf, tf.reshape(y, tf.constant(new int[] {-1, num})), scores, 1f);
      } else {
        Placeholder<TInt32> y = intLabel(lb, "obj_labels." + key, Shape.of(-1, -1));
        mean = sparseCe(tf, tf.reshape(y, tf.constant(new int[] {-1})), scores, num);
      }
      Operand<TFloat32> weighted = tf.math.mean(tf.math.mul(mean, tf.reshape(conf, tf.constant(new int[] {-1}))),
          tf.constant(0));
      terms.put("visual_" + key, tf.math.mul(weighted, tf.constant(normalizer)));
    }
    if (on.contains("qa") && c.taskQa()) {
      Placeholder<TInt32> y = intLabel(lb, "ans", Shape.of(-1));
      terms.put("qa", sparseCe(tf, tf.reshape(y, tf.constant(new int[] {-1})),
          tf.reshape(require(out, OutputNames.QUESTION_ANSWERING_SCORE),
              tf.constant(new int[] {-1, c.numQaLabels()})), c.numQaLabels()));
    }
    if (terms.isEmpty()) {
      throw new IllegalArgumentException("no loss term enabled: asked for " + on + ", and the config's task "
          + "flags leave none of them");
    }
    Operand<TFloat32> t = tf.constant(0f);
    for (Operand<TFloat32> term : terms.values()) {
      t = tf.math.add(t, term);
    }
    total = tf.withName("total").identity(t);
  }

  private Placeholder<TInt32> intLabel(Ops lb, String name, Shape shape) {
    Placeholder<TInt32> p = lb.withName(name).placeholder(TInt32.class, Placeholder.shape(shape));
    labels.put(name, p);
    return p;
  }

  private static Operand<TFloat32> require(Map<String, Operand<TFloat32>> out, String name) {
    Operand<TFloat32> o = out.get(name);
    if (o == null) {
      throw new IllegalArgumentException("the model graph has no output " + name + " (build it as PRETRAINING "
          + "with the heads the loss needs)");
    }
    return o;
  }

  /** Per-row {@code -log_softmax(logits)[label]}: labels [R], logits [R,C] → [R]. */
  static Operand<TFloat32> perExampleCe(Ops tf, Operand<TInt32> labels, Operand<TFloat32> logits, int classes) {
    Operand<TFloat32> oneHot = tf.oneHot(labels, tf.constant(classes), tf.constant(1f), tf.constant(0f));
    return tf.math.neg(tf.reduceSum(tf.math.mul(oneHot, tf.nn.logSoftmax(logits)), tf.constant(-1)));
  }

  /** Keras SparseCategoricalCrossentropy(from_logits=True), mean over rows. */
  static Operand<TFloat32> sparseCe(Ops tf, Operand<TInt32> labels, Operand<TFloat32> logits, int classes) {
    return tf.math.mean(perExampleCe(tf, labels, logits, classes), tf.constant(0));
  }

  /** Keras Huber(delta): per row mean over the last axis of the piecewise loss, then mean over rows. */
  static Operand<TFloat32> huber(Ops tf, Operand<TFloat32> y, Operand<TFloat32> pred, float delta) {
    Operand<TFloat32> err = tf.math.sub(pred, y);
    Operand<TFloat32> abs = tf.math.abs(err);
    Operand<TFloat32> quad = tf.math.mul(tf.constant(0.5f), tf.math.mul(err, err));
    Operand<TFloat32> lin = tf.math.sub(tf.math.mul(tf.constant(delta), abs), tf.constant(0.5f * delta * delta));
    Operand<TFloat32> per = tf.select(tf.math.lessEqual(abs, tf.constant(delta)), quad, lin);
    return tf.math.mean(tf.math.mean(per, tf.constant(-1)), tf.constant(0));
  }

  private static Operand<TFloat32> sum(Ops tf, Operand<TFloat32> x) {
    return tf.reduceSum(x, tf.constant(0));
  }

  /** Label placeholders by name ({@code masked_lm_labels}, {@code obj_labels.obj_conf}, ...). */
  public Map<String, Placeholder<?>> labels() {
    return Collections.unmodifiableMap(labels);
  }

  /** The enabled loss terms by name, in HF's order. */
  public Map<String, Operand<TFloat32>> terms() {
    return Collections.unmodifiableMap(terms);
  }

  /** Sum of the enabled terms (scalar). */
  public Operand<TFloat32> total() {
    return total;
  }
}
