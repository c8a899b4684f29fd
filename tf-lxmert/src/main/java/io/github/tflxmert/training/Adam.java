package io.github.tflxmert.training;

import io.github.tflxmert.graph.ModelScope;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Adam through TensorFlow's raw {@code ApplyAdam} op (TF Java's framework Adam rejects variable names with '/'), or
 * AdamW when {@link TrainingOptions#weightDecay()} is above 0: decoupled decay {@code w -= lr × weightDecay × w}
 * before the Adam update, skipping biases and LayerNorm gammas/betas as BERT-style AdamW does. Variables are named
 * as Keras names them, under the optimizer's name ({@code Adam} or {@code AdamW}): the slots
 * {@code Adam/m/<weight>} and {@code Adam/v/<weight>} (first and second moment, zeros at the start) and the step
 * counter {@code Adam/iteration}. The learning rate and the beta powers {@code beta^t} are computed in Java from the
 * step and fed, so a checkpoint of every variable resumes exactly.
 *
 * <p>Builds into the trainer's graph while it is built; not thread-safe.
 */
final class Adam {
  private final TrainingOptions options;
  private final ModelScope ms;
  private final String name;
  private final Placeholder<TFloat32> learningRate;
  private final Placeholder<TFloat32> beta1Power;
  private final Placeholder<TFloat32> beta2Power;
  private final Variable<TInt64> iteration;

  Adam(ModelScope ms, TrainingOptions options) {
    this.ms = ms;
    this.options = options;
    name = options.weightDecay() > 0 ? "AdamW" : "Adam";
    Ops tf = ms.scope(name);
    learningRate = tf.withName("learning_rate").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
    beta1Power = tf.withName("beta1_power").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
    beta2Power = tf.withName("beta2_power").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
    iteration = tf.withName("iteration").variable(tf.constant(0L));
  }

  /**
   * The op that updates every weight from its gradient once every op of {@code waitFor} has run (the
   * forward/backward pass reads the variables that ApplyAdam changes in place), then adds 1 to the iteration.
   *
   * @param grads one gradient per weight, in the same order
   */
  Op update(List<ModelScope.Weight> weights, List<Operand<TFloat32>> grads, List<Op> waitFor) {
    List<Op> updates = new ArrayList<>();
    for (int i = 0; i < weights.size(); i++) {
      ModelScope.Weight w = weights.get(i);
      Variable<TFloat32> m = slot("m", w);
      Variable<TFloat32> v = slot("v", w);
      Ops upd = afterWeightDecay(ms.scope(name + "/update/" + w.name()).withControlDependencies(waitFor), w);
      updates.add(upd.withName("apply_adam").train.applyAdam(w.variable(), m, v, beta1Power, beta2Power,
          learningRate, upd.constant(options.beta1()), upd.constant(options.beta2()), upd.constant(options.epsilon()),
          grads.get(i)));
    }
    Ops tf = ms.scope(name);
    Op bump = tf.withControlDependencies(updates).withName("next_iteration").assignAdd(iteration, tf.constant(1L));
    return tf.withControlDependencies(List.of(bump)).withName("step").noOp();
  }

  /**
   * AdamW's decoupled decay {@code w -= lr × weightDecay × w} for a weight that {@link #decays}, and {@code upd}
   * waiting for it; {@code upd} itself for plain Adam or a weight that does not decay.
   */
  private Ops afterWeightDecay(Ops upd, ModelScope.Weight w) {
    if (options.weightDecay() <= 0 || !decays(w.name())) {
      return upd;
    }
    Op decay = upd.withName("decay").assignSub(w.variable(),
        upd.math.mul(upd.math.mul(learningRate, upd.constant(options.weightDecay())), w.value()));
    return upd.withControlDependencies(List.of(decay));
  }

  /** The slot {@code <name>/<slot>/<weight>}: zeros of the weight's shape. */
  private Variable<TFloat32> slot(String slot, ModelScope.Weight w) {
    int leaf = w.name().lastIndexOf('/');
    Ops s = ms.scope(name + "/" + slot + "/" + w.name().substring(0, leaf));
    return s.withName(w.name().substring(leaf + 1)).variable(s.zeros(s.constant(w.shape()), TFloat32.class));
  }

  /**
   * Feeds the learning rate and beta powers of (1-based) step {@code t}, as new tensors added to {@code created}.
   *
   * @return the learning rate fed
   */
  float feed(Session.Runner r, long t, List<Tensor> created) {
    float rate = options.learningRateAt(t);
    r.feed(learningRate, track(created, TFloat32.scalarOf(rate)));
    r.feed(beta1Power, track(created, TFloat32.scalarOf((float) Math.pow(options.beta1(), t))));
    r.feed(beta2Power, track(created, TFloat32.scalarOf((float) Math.pow(options.beta2(), t))));
    return rate;
  }

  /** Steps taken, restored with every other variable from a checkpoint. */
  Variable<TInt64> iteration() {
    return iteration;
  }

  /** Weight decay skips biases and LayerNorm parameters, as BERT-style AdamW does. */
  static boolean decays(String weightName) {
    String leaf = weightName.substring(weightName.lastIndexOf('/') + 1);
    return leaf.equals("kernel") || leaf.equals("weight") || leaf.equals("embeddings");
  }

  private static <T extends Tensor> T track(List<Tensor> l, T t) {
    l.add(t);
    return t;
  }
}
