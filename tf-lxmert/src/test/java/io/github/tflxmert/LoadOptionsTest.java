package io.github.tflxmert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.graph.GraphDefect;
import io.github.tflxmert.graph.KernelFusion;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Defaults, each {@code with} method changing one setting only, and the test-only defects kept out of the way. */
class LoadOptionsTest {
  @Test
  void defaults() {
    LoadOptions o = LoadOptions.defaults();
    assertEquals(KernelFusion.ONEDNN, o.kernelFusion());
    assertFalse(o.kernelFusionRequired());
    assertEquals(Set.of(), o.defects());
    assertFalse(o.xla());
    assertFalse(o.graphOptimizer());
  }

  @Test
  void eachWithChangesOneSetting() {
    LoadOptions o = LoadOptions.defaults().withWeightFile(Path.of("w.h5")).withThreads(2, 1).withXla(false)
        .withGraphOptimizer(true).withKernelFusion(KernelFusion.BIAS_ADD).withKernelFusionRequired();
    assertEquals(Path.of("w.h5"), o.weightFile());
    assertEquals(2, o.intraOpThreads());
    assertEquals(1, o.interOpThreads());
    assertTrue(o.graphOptimizer());
    assertEquals(KernelFusion.BIAS_ADD, o.kernelFusion());
    assertTrue(o.kernelFusionRequired());
    assertEquals(o, o.toBuilder().build());
    assertEquals(o.withGraphOptimizer(false), LoadOptions.builder().weightFile(Path.of("w.h5")).threads(2, 1)
        .kernelFusion(KernelFusion.BIAS_ADD).kernelFusionRequired(true).build());
  }

  @Test
  void defectsAreCopiedAndKept() {
    EnumSet<GraphDefect> d = EnumSet.of(GraphDefect.DROPPED_ATTENTION_MASK);
    LoadOptions o = LoadOptions.defaults().withDefectsForTesting(d);
    d.add(GraphDefect.SWAPPED_CROSS_ATTENTION);
    assertEquals(Set.of(GraphDefect.DROPPED_ATTENTION_MASK), o.defects());
    assertEquals(o.defects(), o.withThreads(1, 1).defects());
    assertThrows(UnsupportedOperationException.class, () -> o.defects().add(GraphDefect.TRANSPOSED_HEAD_SPLIT));
  }
}
