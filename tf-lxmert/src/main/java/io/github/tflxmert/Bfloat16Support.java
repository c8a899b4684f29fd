package io.github.tflxmert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether this CPU runs bfloat16 matmuls in hardware, as TensorFlow's oneDNN kernels would use them: the CPU must
 * report {@code avx512_bf16} or {@code amx_bf16} (x86 flags, {@code /proc/cpuinfo}), oneDNN must be on
 * ({@code TF_ENABLE_ONEDNN_OPTS} not 0) and not capped below its first bfloat16 ISA ({@code ONEDNN_MAX_CPU_ISA} or
 * {@code DNNL_MAX_CPU_ISA} at {@code AVX512_CORE_BF16} or above; e.g. {@code AVX2} or {@code AVX512_CORE} refuses).
 * Without these TensorFlow would still run bfloat16 ops, emulated, slower than float32 and with the bfloat16
 * rounding: nobody should pay that by accident, hence {@link Precision#BFLOAT16} fails to load instead.
 *
 * <p>{@link Precision#AUTO} asks more than "does it run": it picks bfloat16 only where it was measured faster
 * than float32 ({@link #autoPicksBfloat16}): with AMX-BF16, or with AVX512-BF16 on an AMD core. On an Intel core
 * with AVX512-BF16 but no AMX (a Sapphire Rapids virtual machine that hides AMX, or Cooper Lake) oneDNN's
 * AVX512-BF16 inner products were slower than its float32 ones (README, "On an Intel CPU with AVX512-BF16 but no
 * AMX": the LXMERT-base call 0.58x against 0.95x Python float32 at batch 8), so auto keeps float32 there, and
 * {@link Precision#BFLOAT16} still runs bfloat16 when asked for. Immutable; thread-safe.
 *
 * @param flags       the CPU flags read ({@code flags} line of /proc/cpuinfo), empty where none could be read
 * @param environment the environment the oneDNN settings are read from
 * @param vendor      the CPU vendor ({@code vendor_id} of /proc/cpuinfo, e.g. {@code GenuineIntel},
 *                    {@code AuthenticAMD}), empty where it could not be read
 */
public record Bfloat16Support(Set<String> flags, Map<String, String> environment, String vendor) {
  /** oneDNN's CPU ISA names, lowest first, for {@code ONEDNN_MAX_CPU_ISA}; bfloat16 matmuls from AVX512_CORE_BF16. */
  private static final List<String> ISAS = List.of("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2",
      "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX10_1_512_AMX",
      "AVX512_CORE_AMX", "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16", "ALL", "DEFAULT");
  private static final Set<String> BF16_FLAGS = Set.of("avx512_bf16", "amx_bf16");

  public Bfloat16Support {
    flags = Set.copyOf(flags);
    environment = Map.copyOf(environment);
    vendor = vendor == null ? "" : vendor.trim();
  }

  /** Flags and environment with the vendor unknown. */
  public Bfloat16Support(Set<String> flags, Map<String, String> environment) {
    this(flags, environment, "");
  }

  /** This machine: the flags and vendor in /proc/cpuinfo and the process environment. */
  public static Bfloat16Support detect() {
    List<String> cpuinfo = lines(Path.of("/proc/cpuinfo"));   // read once for both fields
    return new Bfloat16Support(flagsOf(firstField(cpuinfo, "flags")), System.getenv(),
        firstField(cpuinfo, "vendor_id"));
  }

  /** The flags of the first {@code flags} line of a /proc/cpuinfo-format file; empty if unreadable or absent. */
  public static Set<String> cpuFlags(Path cpuinfo) {
    return flagsOf(firstField(lines(cpuinfo), "flags"));
  }

  /** The first {@code vendor_id} of a /proc/cpuinfo-format file; empty if unreadable or absent. */
  public static String cpuVendor(Path cpuinfo) {
    return firstField(lines(cpuinfo), "vendor_id");
  }

  private static Set<String> flagsOf(String v) {
    return v.isEmpty() ? Set.of() : new TreeSet<>(List.of(v.split("\\s+")));
  }

  private static List<String> lines(Path cpuinfo) {
    try {
      return Files.readAllLines(cpuinfo);
    } catch (IOException | RuntimeException e) {
      return List.of();   // not Linux, or no access: nothing read
    }
  }

  private static String firstField(List<String> lines, String name) {
    for (String line : lines) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return "";
  }

  /** The bfloat16 instruction sets the CPU reports (avx512_bf16, amx_bf16), sorted. */
  public Set<String> bfloat16Flags() {
    Set<String> s = new TreeSet<>(flags);
    s.retainAll(BF16_FLAGS);
    return s;
  }

  public boolean available() {
    return missing() == null;
  }

  /** One line naming what is missing for hardware bfloat16, or null when nothing is. */
  public String missing() {
    if (flags.isEmpty()) {
      return "no bfloat16 instructions found: could not read the CPU flags (/proc/cpuinfo); use fp32";
    }
    if (bfloat16Flags().isEmpty()) {
      return "this CPU has no bfloat16 instructions (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo flags); "
          + "use fp32";
    }
    if ("0".equals(environment.get("TF_ENABLE_ONEDNN_OPTS"))) {
      return "TF_ENABLE_ONEDNN_OPTS=0 switches off oneDNN, the only TensorFlow CPU kernels that use the CPU's "
          + String.join("/", bfloat16Flags()) + "; use fp32 or unset it";
    }
    for (String var : List.of("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")) {
      String cap = environment.get(var);
      if (cap != null && !cap.isBlank()) {
        int i = ISAS.indexOf(cap.trim().toUpperCase(Locale.ROOT));
        if (i >= 0 && i < ISAS.indexOf("AVX512_CORE_BF16")) {
          return var + "=" + cap + " caps oneDNN below AVX512_CORE_BF16, so it cannot use the CPU's "
              + String.join("/", bfloat16Flags()) + "; use fp32 or raise the cap";
        }
      }
    }
    return null;
  }

  /**
   * Whether {@link Precision#AUTO} picks bfloat16 here: bfloat16 must be {@link #available()}, and the CPU must
   * have AMX-BF16 or be an AMD core (AVX512-BF16 measured faster than float32 there; on an Intel core without AMX
   * it was slower, see the type's comment).
   */
  public boolean autoPicksBfloat16() {
    return available() && (flags.contains("amx_bf16") || "AuthenticAMD".equals(vendor));
  }

  /**
   * Why {@link Precision#AUTO} picks what it picks, for its one line: e.g. {@code amx_bf16, avx512_bf16}, or
   * {@code avx512_bf16 (no AMX) on GenuineIntel: bf16 measured slower than fp32 on an Intel core without AMX;
   * --precision bf16 runs it anyway}.
   */
  public String autoReason() {
    if (!available() || flags.contains("amx_bf16")) {
      return describe();
    }
    String on = vendor.isEmpty() ? "an unknown CPU vendor" : vendor;
    return autoPicksBfloat16()
        ? describe() + " on " + on + ", where bf16 measured faster than fp32"
        : describe() + " on " + on + ": bf16 measured slower than fp32 on an Intel core without AMX; "
            + "--precision bf16 runs it anyway";
  }

  /** What was found, for a log line: e.g. {@code avx512_bf16 (no amx_bf16)}. */
  public String describe() {
    Set<String> have = bfloat16Flags();
    String s = have.isEmpty() ? "no bfloat16 instructions" : String.join(", ", have);
    if (!have.contains("amx_bf16") && !have.isEmpty()) {
      s += " (no AMX)";
    }
    String m = missing();
    return m == null ? s : s + "; " + m;
  }
}
