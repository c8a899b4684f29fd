package io.github.tflxmert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.Bfloat16Support;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@code --precision} on the commands, in-process: parsing, the bf16 budget in parity, refusals. */
class PrecisionOptionTest {
  static final Path TINY = Path.of("../parity-tests/fixtures/tiny");

  record Out(int code, String out, String err) {}

  static Out lxmert(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Lxmert.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Out(code, out.toString(), err.toString());
  }

  @Test
  void anUnknownPrecisionIsAUsageError() {
    Out o = lxmert("parity", "--reference", TINY.toString(), "--model", TINY.resolve("model").toString(),
        "--precision", "fp16");
    assertEquals(2, o.code(), o.err());
    assertTrue(o.err().contains("expected fp32, bf16 or auto, found 'fp16'"), o.err());
  }

  @Test
  void parityInBf16IsJudgedByTheBudget() {
    Assumptions.assumeTrue(Bfloat16Support.detect().available(), () -> Bfloat16Support.detect().missing());
    Out o = lxmert("parity", "--reference", TINY.toString(), "--model", TINY.resolve("model").toString(),
        "--precision", "bf16");
    assertEquals(0, o.code(), o.out() + o.err());
    assertTrue(o.out().contains("judged by the bfloat16 budget: cosine >= 0.999"), o.out());
    assertTrue(o.out().contains("PARITY PASSED"), o.out());
    Out fp32 = lxmert("parity", "--reference", TINY.toString(), "--model", TINY.resolve("model").toString());
    assertTrue(!fp32.out().contains("budget"), "fp32 parity names no budget: " + fp32.out());
  }

  @Test
  void autoSaysWhatItPicked() {
    Out o = lxmert("parity", "--reference", TINY.toString(), "--model", TINY.resolve("model").toString(),
        "--precision", "auto");
    assertEquals(0, o.code(), o.out() + o.err());
    String picked = Bfloat16Support.detect().autoPicksBfloat16() ? "bf16" : "fp32";
    assertTrue(o.err().contains("precision auto: " + picked + " ("), o.err());
  }

  @Test
  void bf16WithoutHardwareFailsInOneLine() {
    Assumptions.assumeFalse(Bfloat16Support.detect().available(), "this CPU has bfloat16");
    Out o = lxmert("parity", "--reference", TINY.toString(), "--model", TINY.resolve("model").toString(),
        "--precision", "bf16");
    assertEquals(2, o.code());
    assertTrue(o.err().startsWith("lxmert: precision bf16: ") && o.err().strip().lines().count() == 1, o.err());
  }
}
