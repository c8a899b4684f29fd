package io.github.tflxmert.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.Bfloat16Support;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.export.SavedModelExporter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;

/**
 * A SavedModel that computes in bfloat16 (the Java export of the tiny fixture model with {@code --precision bf16})
 * refuses to open, in one line, where the hardware has no bfloat16: the check {@code --precision bf16} makes, with
 * the CPU flags and environment injected as {@code Bfloat16SupportTest} does (a real {@code ONEDNN_MAX_CPU_ISA=AVX2}
 * run would SIGILL or emulate); a float32 SavedModel opens on the same hardware.
 */
class Bfloat16SavedModelTest {
  private static final Path TINY = Path.of("..", "parity-tests", "fixtures", "tiny", "model");
  private static final Set<String> AVX2_ONLY = Set.of("fpu", "sse4_2", "avx", "avx2", "fma");
  private static final Set<String> AMX = Set.of("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile");

  @TempDir
  static Path tmp;
  static Path bf16;
  static Path fp32;

  @BeforeAll
  static void export() throws Exception {
    LxmertConfig c = LxmertConfig.fromJsonFile(TINY.resolve("config.json"));
    Path ckpt = TINY.resolve("tf_model.h5");
    bf16 = SavedModelExporter.export(c, ckpt, tmp.resolve("bf16"), 1,
        SavedModelExporter.Options.pretraining().withMixedBfloat16(true));
    fp32 = SavedModelExporter.export(c, ckpt, tmp.resolve("fp32"), 1, SavedModelExporter.Options.pretraining());
  }

  private static OpInventory inventory(Path dir) {
    try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve")) {
      return OpInventory.of(b.metaGraphDef());
    }
  }

  @Test
  void findsTheBfloat16OpsOfABf16ExportAndNoneInAFloat32One() {
    OpInventory i = inventory(bf16);
    assertTrue(i.bfloat16Uses().stream().anyMatch(u -> u.opType().contains("MatMul")), "bf16 matmuls found");
    assertTrue(i.bfloat16Uses().stream().noneMatch(OpInventory.OpUse::inSaverSubgraph));
    assertEquals(java.util.List.of(), inventory(fp32).bfloat16Uses());
  }

  @Test
  void refusesABf16SavedModelWithoutBf16HardwareInOneLine() {
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> SavedModelPredictor.builder(bf16).hardware(new Bfloat16Support(AVX2_ONLY, Map.of())).open());
    String m = e.getMessage();
    assertFalse(m.contains("\n"), m);
    assertTrue(m.startsWith(bf16.toString()) && m.contains("computes in bfloat16") && m.contains("MatMul"), m);
    assertTrue(m.endsWith("precision bf16: " + new Bfloat16Support(AVX2_ONLY, Map.of()).missing()), m);

    Bfloat16Support capped = new Bfloat16Support(AMX, Map.of("ONEDNN_MAX_CPU_ISA", "AVX2"));
    String c = assertThrows(UnsupportedOperationException.class,
        () -> SavedModelPredictor.builder(bf16).hardware(capped).open()).getMessage();
    assertTrue(c.contains("ONEDNN_MAX_CPU_ISA=AVX2 caps oneDNN below AVX512_CORE_BF16"), c);
  }

  @Test
  void opensAFloat32SavedModelWithoutBf16HardwareAndABf16OneWithIt() throws Exception {
    try (SavedModelPredictor p = SavedModelPredictor.builder(fp32)
        .hardware(new Bfloat16Support(AVX2_ONLY, Map.of())).open()) {
      assertFalse(p.availableOutputs().isEmpty());
    }
    Assumptions.assumeTrue(Bfloat16Support.detect().available(), () -> Bfloat16Support.detect().missing());
    try (SavedModelPredictor p = SavedModelPredictor.open(bf16)) {
      assertFalse(p.availableOutputs().isEmpty());
    }
  }
}
