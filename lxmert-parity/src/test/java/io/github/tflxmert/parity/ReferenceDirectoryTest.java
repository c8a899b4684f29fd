package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

class ReferenceDirectoryTest {
  @TempDir Path tmp;

  private Path write() throws Exception {
    ObjectNode cfg = ReferenceDirectory.JSON.createObjectNode().put("l_layers", 1).put("r_layers", 1);
    Path dir = tmp.resolve("ref");
    new ReferenceWriter(dir, "unit", cfg)
        .addCase("c0", "first", Map.of("input_ids", IntArray.of(new int[][] {{2, 7, 3}})),
            Map.of("pooled_output", new FloatArray(new long[] {1, 2}, new float[] {0.5f, -1f}),
                "language_hidden_states.0", new FloatArray(new long[] {1, 1}, new float[] {3f})),
            Map.of("pooled_output", 2e-5))
        .finish();
    return dir;
  }

  @Test
  void writerRoundTrip() throws Exception {
    try (ReferenceDirectory ref = ReferenceDirectory.open(write())) {
      assertEquals(ReferenceDirectory.FORMAT, ref.format());
      assertEquals("unit", ref.name());
      ReferenceDirectory.Case c = ref.caseNamed("c0");
      assertEquals(List.of("input_ids"), c.inputNames());
      assertEquals(7, c.inputs().get("input_ids").toIntArray().get(0, 1));
      assertEquals(-1f, c.output("pooled_output").get(0, 1));
      assertEquals(2e-5, c.pythonNoise("pooled_output"));
      assertNull(c.pythonNoise("language_hidden_states.0"));
      ParityReport r = c.compare("x", Map.of("pooled_output", new FloatArray(new long[] {1, 2},
          new float[] {0.5f, -1.00003f})), ParityOptions.defaults(), java.util.Set.of("pooled_output"));
      assertTrue(r.passed(), r.table()); // 3e-5 over the fixed tolerance, within 2x Python's 2e-5
      assertEquals(Verdict.WITHIN_PYTHON_NOISE, r.rows().get(0).verdict());
      assertFalse(c.compare("x", Map.of("pooled_output", new FloatArray(new long[] {1, 2},
          new float[] {0.5f, -1.00003f})), ParityOptions.defaults().withStrict(true), java.util.Set.of("pooled_output"))
          .passed());
    }
  }

  @Test
  void symbolicLinkOutsideTheDirectoryIsRefused() throws Exception {
    Path dir = write();
    Path secret = tmp.resolve("secret.npy");
    Files.writeString(secret, "root:x:0:0:root:/root:/bin/bash\n");
    Path f = dir.resolve("cases/c0/outputs/pooled_output.npy");
    Files.delete(f);
    Files.createSymbolicLink(f, secret);
    try (ReferenceDirectory ref = ReferenceDirectory.open(dir)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ref.caseNamed("c0").output("pooled_output"));
      assertTrue(e.getMessage().contains("expected a file inside") && e.getMessage().contains("a symbolic link"),
          e.getMessage());
      assertFalse(e.getMessage().contains("root:x"), e.getMessage());
    }
  }

  @Test
  void malformedManifestsNameTheField() throws Exception {
    Path dir = write();
    String m = Files.readString(dir.resolve("manifest.json"));
    assertTrue(msg(dir, m.replace(ReferenceDirectory.FORMAT, "other/9")).contains("field format"));
    assertTrue(msg(dir, m.replace("\"cases\"", "\"kases\"")).contains("field cases"));
    assertTrue(msg(dir, "[1]").contains("expected a JSON object"));
    assertTrue(msg(dir, "{").contains("not valid JSON"));
    assertTrue(msg(dir, m.replace("cases/c0/outputs/pooled_output.npy", "../../etc/passwd")) == null);
    try (ReferenceDirectory ref = ReferenceDirectory.open(dir, m.replace("cases/c0/outputs/pooled_output.npy",
        "../../etc/passwd").getBytes(StandardCharsets.UTF_8))) {
      assertTrue(assertThrows(IllegalArgumentException.class, () -> ref.caseNamed("c0").output("pooled_output"))
          .getMessage().contains("expected a file inside"));
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ReferenceDirectory.open(tmp.resolve("none")))
        .getMessage().contains("expected manifest.json"));
  }

  private static String msg(Path dir, String manifest) {
    try (ReferenceDirectory r = ReferenceDirectory.open(dir, manifest.getBytes(StandardCharsets.UTF_8))) {
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  @Test
  void dynamicTestsRunTheModelOncePerCaseAndFailPerTensor() throws Throwable {
    AtomicInteger runs = new AtomicInteger();
    try (ReferenceDirectory ref = ReferenceDirectory.open(write())) {
      List<DynamicNode> nodes = ParityAssertions.referenceTests(ref, c -> {
        runs.incrementAndGet();
        return Map.of("pooled_output", c.output("pooled_output"),
            "language_hidden_states.0", new FloatArray(new long[] {1, 1}, new float[] {4f}));
      }, ParityOptions.defaults()).toList();
      assertEquals(1, nodes.size());
      List<? extends DynamicNode> tests = ((DynamicContainer) nodes.get(0)).getChildren().toList();
      assertEquals(List.of("language_hidden_states.0", "pooled_output"),
          tests.stream().map(DynamicNode::getDisplayName).toList());
      AssertionFailedError e = assertThrows(AssertionFailedError.class,
          () -> ((DynamicTest) tests.get(0)).getExecutable().execute());
      assertTrue(e.getMessage().contains("first divergence language_hidden_states.0"), e.getMessage());
      ((DynamicTest) tests.get(1)).getExecutable().execute();
      assertEquals(1, runs.get());
    }
  }
}
