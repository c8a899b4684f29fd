package io.github.tflxmert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hardware bfloat16 from injected CPU flags and environments, and how each precision resolves against it. */
class Bfloat16SupportTest {
  private static final Set<String> AVX512_BF16 = Set.of("fpu", "avx2", "avx512f", "avx512_bf16");
  private static final Set<String> AMX = Set.of("avx512f", "avx512_bf16", "amx_bf16", "amx_tile");
  private static final Set<String> AVX2_ONLY = Set.of("fpu", "avx2", "fma");

  @Test
  void avx512Bf16OrAmxIsHardwareBfloat16() {
    Bfloat16Support s = new Bfloat16Support(AVX512_BF16, Map.of());
    assertTrue(s.available());
    assertNull(s.missing());
    assertEquals("avx512_bf16 (no AMX)", s.describe());
    assertEquals("amx_bf16, avx512_bf16", new Bfloat16Support(AMX, Map.of()).describe());
    assertEquals(Precision.BFLOAT16, Precision.BFLOAT16.resolve(s));
    assertEquals(Precision.FLOAT32, Precision.FLOAT32.resolve(s));
  }

  @Test
  void autoPicksBf16OnlyWhereItWasMeasuredFaster() {
    Bfloat16Support amx = new Bfloat16Support(AMX, Map.of(), "GenuineIntel");
    assertTrue(amx.autoPicksBfloat16());
    assertEquals(Precision.BFLOAT16, Precision.AUTO.resolve(amx));
    assertEquals("amx_bf16, avx512_bf16", amx.autoReason());
    Bfloat16Support amd = new Bfloat16Support(AVX512_BF16, Map.of(), "AuthenticAMD");
    assertEquals(Precision.BFLOAT16, Precision.AUTO.resolve(amd));
    assertEquals("avx512_bf16 (no AMX) on AuthenticAMD, where bf16 measured faster than fp32", amd.autoReason());
    for (String vendor : new String[] {"GenuineIntel", ""}) {
      Bfloat16Support intel = new Bfloat16Support(AVX512_BF16, Map.of(), vendor);
      assertTrue(intel.available(), "bf16 runs when asked for");
      assertEquals(Precision.BFLOAT16, Precision.BFLOAT16.resolve(intel));
      assertFalse(intel.autoPicksBfloat16(), vendor);
      assertEquals(Precision.FLOAT32, Precision.AUTO.resolve(intel), vendor);
      assertTrue(intel.autoReason().contains("bf16 measured slower than fp32 on an Intel core without AMX; "
          + "--precision bf16 runs it anyway"), intel.autoReason());
    }
    Bfloat16Support capped = new Bfloat16Support(AMX, Map.of("ONEDNN_MAX_CPU_ISA", "AVX2"), "GenuineIntel");
    assertEquals(Precision.FLOAT32, Precision.AUTO.resolve(capped));
    assertTrue(capped.autoReason().contains("caps oneDNN below AVX512_CORE_BF16"), capped.autoReason());
  }

  @Test
  void aCpuWithoutBf16FailsInOneLineAndAutoFallsBack() {
    Bfloat16Support s = new Bfloat16Support(AVX2_ONLY, Map.of());
    assertFalse(s.available());
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> Precision.BFLOAT16.resolve(s));
    assertEquals("precision bf16: this CPU has no bfloat16 instructions (neither avx512_bf16 nor amx_bf16 in "
        + "/proc/cpuinfo flags); use fp32", e.getMessage());
    assertEquals(Precision.FLOAT32, Precision.AUTO.resolve(s));
  }

  @Test
  void oneDnnCappedBelowBf16OrSwitchedOffRefuses() {
    for (String cap : new String[] {"AVX2", "avx512_core", "AVX512_CORE_VNNI", "SSE41"}) {
      Bfloat16Support s = new Bfloat16Support(AVX512_BF16, Map.of("ONEDNN_MAX_CPU_ISA", cap));
      assertFalse(s.available(), cap);
      assertTrue(s.missing().startsWith("ONEDNN_MAX_CPU_ISA=" + cap + " caps oneDNN below AVX512_CORE_BF16"),
          s.missing());
    }
    assertFalse(new Bfloat16Support(AVX512_BF16, Map.of("DNNL_MAX_CPU_ISA", "AVX2")).available());
    assertTrue(new Bfloat16Support(AVX512_BF16, Map.of("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")).available());
    assertTrue(new Bfloat16Support(AMX, Map.of("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")).available());
    assertTrue(new Bfloat16Support(AVX512_BF16, Map.of("ONEDNN_MAX_CPU_ISA", "ALL")).available());
    Bfloat16Support off = new Bfloat16Support(AVX512_BF16, Map.of("TF_ENABLE_ONEDNN_OPTS", "0"));
    assertTrue(off.missing().startsWith("TF_ENABLE_ONEDNN_OPTS=0 switches off oneDNN"), off.missing());
    assertFalse(new Bfloat16Support(Set.of(), Map.of()).available(), "no flags read: no bf16 claimed");
  }

  @Test
  void flagsAreReadFromACpuinfoFile(@TempDir Path tmp) throws IOException {
    Path f = Files.writeString(tmp.resolve("cpuinfo"), "processor\t: 0\nmodel name\t: AMD EPYC\n"
        + "flags\t\t: fpu avx2 avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n");
    assertEquals(Set.of("fpu", "avx2", "avx512f", "avx512_bf16"), Bfloat16Support.cpuFlags(f));
    assertEquals(Set.of(), Bfloat16Support.cpuFlags(tmp.resolve("missing")));
    assertEquals("", Bfloat16Support.cpuVendor(f), "no vendor_id line");
    Path g = Files.writeString(tmp.resolve("cpuinfo2"), "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
        + "flags\t\t: fpu avx512_bf16\n");
    assertEquals("AuthenticAMD", Bfloat16Support.cpuVendor(g));
    assertEquals(Set.of("fpu", "avx512_bf16"), Bfloat16Support.cpuFlags(g));
  }

  @Test
  void precisionNamesParse() {
    assertEquals(Precision.FLOAT32, Precision.parse("fp32"));
    assertEquals(Precision.BFLOAT16, Precision.parse("BF16"));
    assertEquals(Precision.AUTO, Precision.parse("auto"));
    assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
    assertEquals(Precision.FLOAT32, LoadOptions.defaults().precision(), "float32 stays the default");
    assertThrows(IllegalArgumentException.class, () -> LoadOptions.builder().precision(Precision.BFLOAT16)
        .onednnBfloat16Rewrite(true).build());
    assertEquals(Precision.BFLOAT16, LoadOptions.defaults().withPrecision(Precision.BFLOAT16).toBuilder().build()
        .precision());
  }
}
