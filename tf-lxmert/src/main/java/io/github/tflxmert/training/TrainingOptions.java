package io.github.tflxmert.training;

/**
 * Optimizer and schedule of {@link LxmertTrainer}: Adam (TF's {@code ApplyAdam}) with decoupled weight decay
 * (AdamW: {@code w -= lr × weightDecay × w} before the Adam update, on every weight except biases and
 * LayerNorm gammas/betas), optional global-norm gradient clipping, and a linear schedule: warm-up from 0 to
 * {@code learningRate} over {@code warmupSteps}, then linear decay to 0 at {@code totalSteps}
 * ({@code totalSteps <= 0}: constant after warm-up).
 *
 * @param trainable   which weights get gradients: {@link Trainable#ALL} or {@link Trainable#QA_HEAD}
 *                    ({@code answer_head/} only)
 * @param clipNorm    global-norm clip; {@code <= 0} disables clipping
 * @param dropout     whether dropout is active in the training graph (rates from the config)
 * @param threads     intra-op threads; {@code <= 0} uses TensorFlow's default
 */
public record TrainingOptions(PretrainingLosses.Options losses, Trainable trainable, float learningRate,
                              float beta1, float beta2, float epsilon, float weightDecay, float clipNorm,
                              int warmupSteps, int totalSteps, boolean dropout, long seed, int threads) {
  /** Which weights are trained. */
  public enum Trainable { ALL, QA_HEAD }

  /** Plain Adam (lr 1e-3, betas 0.9/0.999, eps 1e-6), all weights, all loss terms, no decay/clip/schedule. */
  public static TrainingOptions plainAdam() {
    return new TrainingOptions(PretrainingLosses.Options.all(), Trainable.ALL, 1e-3f, 0.9f, 0.999f, 1e-6f, 0f, 0f,
        0, 0, false, 0L, 0);
  }

  public TrainingOptions withLosses(PretrainingLosses.Options l) {
    return new TrainingOptions(l, trainable, learningRate, beta1, beta2, epsilon, weightDecay, clipNorm,
        warmupSteps, totalSteps, dropout, seed, threads);
  }

  public TrainingOptions withTrainable(Trainable t) {
    return new TrainingOptions(losses, t, learningRate, beta1, beta2, epsilon, weightDecay, clipNorm,
        warmupSteps, totalSteps, dropout, seed, threads);
  }

  public TrainingOptions withLearningRate(float lr) {
    return new TrainingOptions(losses, trainable, lr, beta1, beta2, epsilon, weightDecay, clipNorm,
        warmupSteps, totalSteps, dropout, seed, threads);
  }

  public TrainingOptions withWeightDecay(float wd) {
    return new TrainingOptions(losses, trainable, learningRate, beta1, beta2, epsilon, wd, clipNorm,
        warmupSteps, totalSteps, dropout, seed, threads);
  }

  public TrainingOptions withClipNorm(float c) {
    return new TrainingOptions(losses, trainable, learningRate, beta1, beta2, epsilon, weightDecay, c,
        warmupSteps, totalSteps, dropout, seed, threads);
  }

  public TrainingOptions withSchedule(int warmup, int total) {
    return new TrainingOptions(losses, trainable, learningRate, beta1, beta2, epsilon, weightDecay, clipNorm,
        warmup, total, dropout, seed, threads);
  }

  public TrainingOptions withDropout(boolean on, long seed) {
    return new TrainingOptions(losses, trainable, learningRate, beta1, beta2, epsilon, weightDecay, clipNorm,
        warmupSteps, totalSteps, on, seed, threads);
  }

  public TrainingOptions withThreads(int n) {
    return new TrainingOptions(losses, trainable, learningRate, beta1, beta2, epsilon, weightDecay, clipNorm,
        warmupSteps, totalSteps, dropout, seed, n);
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
}
