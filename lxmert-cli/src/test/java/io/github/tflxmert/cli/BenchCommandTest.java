package io.github.tflxmert.cli;

import static io.github.tflxmert.cli.PrecisionOptionTest.TINY;
import static io.github.tflxmert.cli.PrecisionOptionTest.lxmert;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.Bfloat16Support;
import java.io.IOException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@code lxmert bench} in-process on the tiny fixture model: the JSON line, {@code --profile}, weight packing. */
class BenchCommandTest {
  private static JsonNode json(PrecisionOptionTest.Out o) throws IOException {
    assertEquals(0, o.code(), o.out() + o.err());
    String line = o.out().lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow(() ->
        new AssertionError("no JSON line in: " + o.out()));
    return new ObjectMapper().readTree(line);
  }

  @Test
  void float32BenchPrintsOneJsonLineAndAProfileOfItsOps() throws IOException {
    PrecisionOptionTest.Out o = lxmert("bench", "--model", TINY.resolve("model").toString(), "--variant", "graph",
        "--batch", "2", "--iters", "3", "--warmup", "1", "--profile");
    JsonNode j = json(o);
    assertEquals("fp32", j.get("precision").asText());
    assertEquals(false, j.get("weights_packed").asBoolean());
    assertTrue(j.get("p50_ms").asDouble() > 0 && j.get("min_ms").asDouble() <= j.get("p50_ms").asDouble(),
        j.toString());
    assertTrue(o.err().contains("profile (one traced call"), o.err());
    assertTrue(o.err().contains("_FusedMatMul") || o.err().contains("MatMul"), "no matmul in the profile: " + o.err());
  }

  /** graph-bf16 runs the packed kernels (they show in the profile); graph-bf16-unpacked does not. */
  @Test
  void bf16BenchSaysWhetherItsKernelsArePacked() throws IOException {
    Assumptions.assumeTrue(Bfloat16Support.detect().available(), () -> Bfloat16Support.detect().missing());
    PrecisionOptionTest.Out packed = lxmert("bench", "--model", TINY.resolve("model").toString(), "--variant",
        "graph-bf16", "--iters", "2", "--warmup", "1", "--profile");
    JsonNode p = json(packed);
    assertEquals("bf16", p.get("precision").asText());
    assertEquals(true, p.get("weights_packed").asBoolean(), p.toString());
    assertTrue(packed.err().contains("_MklNativeFusedMatMul"), packed.err());
    PrecisionOptionTest.Out plain = lxmert("bench", "--model", TINY.resolve("model").toString(), "--variant",
        "graph-bf16-unpacked", "--iters", "2", "--warmup", "1", "--profile");
    JsonNode u = json(plain);
    assertEquals(false, u.get("weights_packed").asBoolean(), u.toString());
    assertTrue(!plain.err().contains("_MklNativeFusedMatMul"), plain.err());
  }
}
