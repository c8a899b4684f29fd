package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.graph.KernelFusion;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * {@link LoadOptions#withKernelFusionRequired()} through a real load: with oneDNN the model is built with
 * {@link KernelFusion#ONEDNN}; under {@code TF_ENABLE_ONEDNN_OPTS=0} the load fails naming the reason, while the
 * default options fall back to {@link KernelFusion#BIAS_ADD} and load.
 */
class KernelFusionLoadTest {
  static boolean oneDnnOff() {
    return "0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS"));
  }

  @Test
  void requiredFusionLoadsWithOneDnn() throws IOException {
    String arch = System.getProperty("os.arch");
    assumeTrue(!oneDnnOff() && (arch.equals("amd64") || arch.equals("x86_64")), "oneDNN ops unavailable");
    try (LxmertReference ref = References.open("tiny");
         LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(ref.modelDir(),
             LoadOptions.defaults().withKernelFusionRequired())) {
      assertEquals(KernelFusion.ONEDNN, m.kernelFusion());
    }
  }

  @Test
  void requiredFusionFailsWithoutOneDnnAndTheDefaultFallsBack() throws IOException {
    assumeTrue(oneDnnOff(), "oneDNN ops are on");
    try (LxmertReference ref = References.open("tiny")) {
      UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
          () -> LxmertForPreTraining.fromPretrained(ref.modelDir(), LoadOptions.defaults().withKernelFusionRequired())
              .close());
      assertTrue(e.getMessage().contains("BIAS_ADD"), e.getMessage());
      try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(ref.modelDir())) {
        assertEquals(KernelFusion.BIAS_ADD, m.kernelFusion());
      }
    }
  }

  @Test
  void xlaAndRequiredFusionAreRejectedTogether() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LoadOptions.defaults().withKernelFusionRequired().withXla(true));
    assertTrue(e.getMessage().contains("XLA"), e.getMessage());
  }
}
