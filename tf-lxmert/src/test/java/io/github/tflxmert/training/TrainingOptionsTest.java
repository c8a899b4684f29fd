package io.github.tflxmert.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The builder: defaults, every setting kept by {@code toBuilder}, values checked with the field named. */
class TrainingOptionsTest {
  @Test
  void defaultsArePlainAdam() {
    TrainingOptions o = TrainingOptions.plainAdam();
    assertEquals(1e-3f, o.learningRate());
    assertEquals(0.9f, o.beta1());
    assertEquals(0.999f, o.beta2());
    assertEquals(1e-6f, o.epsilon());
    assertEquals(0f, o.weightDecay());
    assertEquals(0f, o.clipNorm());
    assertEquals(TrainingOptions.Trainable.ALL, o.trainable());
    assertEquals(PretrainingLosses.Options.all(), o.losses());
    assertEquals(1e-3f, o.learningRateAt(1));
  }

  @Test
  void toBuilderKeepsEverySetting() {
    TrainingOptions o = TrainingOptions.builder().losses(PretrainingLosses.Options.only("qa"))
        .trainable(TrainingOptions.Trainable.QA_HEAD).learningRate(2e-4f).beta1(0.8f).beta2(0.99f).epsilon(1e-8f)
        .weightDecay(0.01f).clipNorm(1f).schedule(5, 50).dropout(true, 9).threads(3).build();
    TrainingOptions copy = o.toBuilder().build();
    assertEquals(o.toString(), copy.toString());
    TrainingOptions changed = o.toBuilder().beta2(0.95f).build();
    assertEquals(0.95f, changed.beta2());
    assertEquals(0.8f, changed.beta1());
    assertEquals(o.toString().replace("beta2=0.99,", "beta2=0.95,"), changed.toString());
  }

  @Test
  void badValuesNameTheField() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainingOptions.builder().beta1(1f).build());
    assertTrue(e.getMessage().contains("beta1") && e.getMessage().contains("[0, 1)"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> TrainingOptions.builder().epsilon(0f).build());
    assertThrows(IllegalArgumentException.class, () -> TrainingOptions.builder().learningRate(Float.NaN).build());
    assertThrows(IllegalArgumentException.class, () -> TrainingOptions.builder().weightDecay(-1f).build());
  }
}
