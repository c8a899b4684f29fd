package io.github.tflxmert.training;

import java.util.Objects;

/**
 * Optimizer and schedule of {@link LxmertTrainer}: Adam (TF's {@code ApplyAdam}) or, with a weight decay, AdamW
 * (decoupled: {@code w -= lr × weightDecay × w} before the Adam update, on every weight except biases and
 * LayerNorm gammas/betas); optional global-norm gradient clipping; a linear schedule: warm-up from 0 to
 * {@code learningRate} over {@code warmupSteps}, then linear decay to 0 at {@code totalSteps}
 * ({@code totalSteps <= 0}: constant after warm-up). Built with {@link #builder()} (defaults: {@link #plainAdam()}),
 * changed with {@link #toBuilder()}:
 *
 * <pre>{@code
 * TrainingOptions o = TrainingOptions.builder().learningRate(1e-4f).weightDecay(0.01f).clipNorm(1f)
 *     .schedule(100, 10_000).build();
 * }</pre>
 * Immutable; thread-safe.
 */
public final class TrainingOptions {
  /** Which weights are trained: all, or {@code answer_head/} only. */
  public enum Trainable { ALL, QA_HEAD }

  private final PretrainingLosses.Options losses;
  private final Trainable trainable;
  private final float learningRate;
  private final float beta1;
  private final float beta2;
  private final float epsilon;
  private final float weightDecay;
  private final float clipNorm;
  private final int warmupSteps;
  private final int totalSteps;
  private final boolean dropout;
  private final long seed;
  private final int threads;

  private TrainingOptions(Builder b) {
    losses = Objects.requireNonNull(b.losses, "losses");
    trainable = Objects.requireNonNull(b.trainable, "trainable");
    learningRate = b.learningRate;
    beta1 = b.beta1;
    beta2 = b.beta2;
    epsilon = b.epsilon;
    weightDecay = b.weightDecay;
    clipNorm = b.clipNorm;
    warmupSteps = b.warmupSteps;
    totalSteps = b.totalSteps;
    dropout = b.dropout;
    seed = b.seed;
    threads = b.threads;
    check(learningRate > 0 && Float.isFinite(learningRate), "learningRate", "> 0", learningRate);
    check(beta1 >= 0 && beta1 < 1, "beta1", "in [0, 1)", beta1);
    check(beta2 >= 0 && beta2 < 1, "beta2", "in [0, 1)", beta2);
    check(epsilon > 0 && Float.isFinite(epsilon), "epsilon", "> 0", epsilon);
    check(weightDecay >= 0 && Float.isFinite(weightDecay), "weightDecay", ">= 0", weightDecay);
    check(warmupSteps >= 0, "warmupSteps", ">= 0", warmupSteps);
  }

  private static void check(boolean ok, String field, String expected, Object found) {
    if (!ok) {
      throw new IllegalArgumentException("TrainingOptions." + field + ": expected " + expected + ", found " + found);
    }
  }

  /** Plain Adam (lr 1e-3, betas 0.9/0.999, eps 1e-6), all weights, all loss terms, no decay/clip/schedule/dropout. */
  public static TrainingOptions plainAdam() {
    return builder().build();
  }

  /** A builder starting from {@link #plainAdam()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these options. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.losses = losses;
    b.trainable = trainable;
    b.learningRate = learningRate;
    b.beta1 = beta1;
    b.beta2 = beta2;
    b.epsilon = epsilon;
    b.weightDecay = weightDecay;
    b.clipNorm = clipNorm;
    b.warmupSteps = warmupSteps;
    b.totalSteps = totalSteps;
    b.dropout = dropout;
    b.seed = seed;
    b.threads = threads;
    return b;
  }

  /** The loss terms trained on. */
  public PretrainingLosses.Options losses() {
    return losses;
  }

  public Trainable trainable() {
    return trainable;
  }

  /** Peak learning rate (after warm-up). */
  public float learningRate() {
    return learningRate;
  }

  public float beta1() {
    return beta1;
  }

  public float beta2() {
    return beta2;
  }

  public float epsilon() {
    return epsilon;
  }

  /** Decoupled weight decay (AdamW); 0 = plain Adam. */
  public float weightDecay() {
    return weightDecay;
  }

  /** Global-norm clip; {@code <= 0} disables clipping. */
  public float clipNorm() {
    return clipNorm;
  }

  public int warmupSteps() {
    return warmupSteps;
  }

  /** Step at which the learning rate reaches 0; {@code <= 0}: no decay. */
  public int totalSteps() {
    return totalSteps;
  }

  /** Whether dropout is active in the training graph (rates from the config). */
  public boolean dropout() {
    return dropout;
  }

  /** Graph-level seed of the dropout masks. */
  public long seed() {
    return seed;
  }

  /** Intra-op threads; {@code <= 0} uses TensorFlow's default. */
  public int threads() {
    return threads;
  }

  /** Learning rate at (1-based) step {@code t}. */
  public float learningRateAt(long t) {
    if (warmupSteps > 0 && t <= warmupSteps) {
      return learningRate * t / warmupSteps;
    }
    if (totalSteps > 0) {
      long rest = Math.max(1, totalSteps - warmupSteps);
      return learningRate * Math.max(0f, (float) (totalSteps - t) / rest);
    }
    return learningRate;
  }

  @Override
  public String toString() {
    return "TrainingOptions[losses=" + losses + ", trainable=" + trainable + ", learningRate=" + learningRate
        + ", beta1=" + beta1 + ", beta2=" + beta2 + ", epsilon=" + epsilon + ", weightDecay=" + weightDecay
        + ", clipNorm=" + clipNorm + ", warmupSteps=" + warmupSteps + ", totalSteps=" + totalSteps + ", dropout="
        + dropout + ", seed=" + seed + ", threads=" + threads + "]";
  }

  /** Builds {@link TrainingOptions}; {@link #build} checks the values. Not thread-safe. */
  public static final class Builder {
    private PretrainingLosses.Options losses = PretrainingLosses.Options.all();
    private Trainable trainable = Trainable.ALL;
    private float learningRate = 1e-3f;
    private float beta1 = 0.9f;
    private float beta2 = 0.999f;
    private float epsilon = 1e-6f;
    private float weightDecay;
    private float clipNorm;
    private int warmupSteps;
    private int totalSteps;
    private boolean dropout;
    private long seed;
    private int threads;

    private Builder() {}

    public Builder losses(PretrainingLosses.Options l) {
      losses = l;
      return this;
    }

    public Builder trainable(Trainable t) {
      trainable = t;
      return this;
    }

    public Builder learningRate(float lr) {
      learningRate = lr;
      return this;
    }

    /** Adam's decay rate of the first moment estimate (Keras' {@code beta_1}). */
    public Builder beta1(float b) {
      beta1 = b;
      return this;
    }

    /** Adam's decay rate of the second moment estimate (Keras' {@code beta_2}). */
    public Builder beta2(float b) {
      beta2 = b;
      return this;
    }

    public Builder epsilon(float eps) {
      epsilon = eps;
      return this;
    }

    /** Decoupled weight decay; {@code > 0} makes the optimizer AdamW. */
    public Builder weightDecay(float wd) {
      weightDecay = wd;
      return this;
    }

    /** Global-norm gradient clip; {@code <= 0} disables clipping. */
    public Builder clipNorm(float c) {
      clipNorm = c;
      return this;
    }

    /** Linear warm-up over {@code warmup} steps, then linear decay to 0 at {@code total} ({@code <= 0}: none). */
    public Builder schedule(int warmup, int total) {
      warmupSteps = warmup;
      totalSteps = total;
      return this;
    }

    /** Dropout on (rates from the config) with graph seed {@code seed}, or off. */
    public Builder dropout(boolean on, long seed) {
      dropout = on;
      this.seed = seed;
      return this;
    }

    public Builder threads(int n) {
      threads = n;
      return this;
    }

    public TrainingOptions build() {
      return new TrainingOptions(this);
    }
  }
}
