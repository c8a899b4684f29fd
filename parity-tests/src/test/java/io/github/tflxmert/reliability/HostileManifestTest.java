package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.parity.LxmertReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile reference manifests (the parity harness reads them): a missing or malformed config, a wrong format,
 * no cases, tensor files outside the reference directory (including /dev/zero, which would be read until the
 * heap runs out), shapes that are not integer arrays. Each is an {@link IllegalArgumentException} naming the
 * manifest or the file, what was expected and what was found.
 */
class HostileManifestTest {
  static ObjectNode manifest() throws IOException {
    return (ObjectNode) Fixtures.JSON.readTree(Fixtures.tiny().resolve("manifest.json").toFile());
  }

  static IllegalArgumentException rejects(Consumer<ObjectNode> edit, boolean loadInputs, String... fragments)
      throws IOException {
    ObjectNode m = manifest();
    edit.accept(m);
    byte[] bytes = m.toString().getBytes(StandardCharsets.UTF_8);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
      try (LxmertReference ref = LxmertReference.open(Fixtures.tiny(), bytes)) {
        if (loadInputs) {
          ref.cases().get(0).inputs();
        }
      }
    });
    assertTrue(e.getMessage().contains(Fixtures.tiny().toString()), "names the directory: " + e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "lacks \"" + f + "\": " + e.getMessage());
    }
    return e;
  }

  static ObjectNode firstInput(ObjectNode m, String name) {
    return (ObjectNode) m.get("cases").get(0).get("inputs").get(name);
  }

  @Test
  void malformedManifests() throws IOException {
    rejects(m -> m.remove("config"), false, "field config: expected an object with the fields of config.json",
        "found nothing");
    rejects(m -> m.put("config", "tiny"), false, "field config", "found string");
    rejects(m -> ((ObjectNode) m.get("config")).put("hidden_size", 27), false, "manifest.json config",
        "config field hidden_size: expected a multiple of num_attention_heads (2), found 27");
    rejects(m -> m.put("format", "tf-lxmert-reference/9"), false, "field format: expected one of "
        + "[tf-lxmert-reference/1, tf-lxmert-reference/2]", "found \"tf-lxmert-reference/9\"");
    rejects(m -> m.set("cases", Fixtures.JSON.createArrayNode()), false, "field cases: expected a list with at least one case",
        "found an empty list");
  }

  @Test
  void tensorFilesMustStayInsideTheDirectory() throws IOException {
    rejects(m -> firstInput(m, "input_ids").put("file", "/dev/zero"), true, "expected a file inside",
        "found \"/dev/zero\"");
    rejects(m -> firstInput(m, "input_ids").put("file", "../../pom.xml"), true, "expected a file inside",
        "found \"../../pom.xml\"");
    rejects(m -> firstInput(m, "input_ids").put("file", ""), true, "expected a file inside");
    rejects(m -> firstInput(m, "input_ids").put("file", "cases"), true, "expected a regular .npy file",
        "found a directory");
  }

  /**
   * A tensor file whose name is inside the directory but which is a symbolic link to a file outside it is
   * refused before it is read, and the message shows nothing of what the file holds.
   */
  @Test
  void aSymbolicLinkToAFileOutsideTheDirectoryIsRefused(@TempDir Path tmp) throws IOException {
    Path secret = tmp.resolve("secret.txt");
    Files.writeString(secret, "root:x:0:0:root:/root:/bin/bash\n");
    Path ref = tmp.resolve("ref");
    Path inputs = Files.createDirectories(ref.resolve("cases/b1_equal/inputs"));
    try (var files = Files.list(Fixtures.tiny().resolve("cases/b1_equal/inputs"))) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, inputs.resolve(f.getFileName().toString()));
      }
    }
    byte[] manifest = manifest().toString().getBytes(StandardCharsets.UTF_8);
    Path ids = inputs.resolve("input_ids.npy");
    Files.move(ids, ref.resolve("real_input_ids.npy"));
    Files.createSymbolicLink(ids, secret); // the manifest's path text is inside ref/; the file is not
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
      try (LxmertReference r = LxmertReference.open(ref, manifest)) {
        r.cases().get(0).inputs();
      }
    });
    assertTrue(e.getMessage().contains(ref.resolve("manifest.json") + ": case b1_equal tensor input_ids file: "
        + "expected a file inside " + ref + ", found \"cases/b1_equal/inputs/input_ids.npy\", a symbolic link to a "
        + "file outside it (" + secret.toRealPath() + ")"), e.getMessage());
    assertFalse(e.getMessage().contains("root"), "the message shows the file's contents: " + e.getMessage());
    // A link that stays inside the directory is read.
    Files.delete(ids);
    Files.createSymbolicLink(ids, ref.resolve("real_input_ids.npy"));
    try (LxmertReference r = LxmertReference.open(ref, manifest)) {
      assertEquals(10, r.cases().get(0).inputs().inputIds().dim(1));
    }
  }

  @Test
  void shapesAndFilesThatDisagree() throws IOException {
    rejects(m -> firstInput(m, "input_ids").put("shape", "ten"), true, "tensor input_ids shape: expected an array of"
        + " integers", "found \"ten\"");
    rejects(m -> ((ArrayNode) firstInput(m, "input_ids").get("shape")).set(1, 11), true, "manifest says shape [1, 11]",
        "file has [1, 10]");
    // A file of another input, with its shape declared to match: the inputs then disagree with each other.
    rejects(m -> {
      ObjectNode ids = firstInput(m, "attention_mask");
      ids.put("file", "cases/b3_padded/inputs/attention_mask.npy");
      ((ArrayNode) ids.get("shape")).removeAll().add(3).add(14);
    }, true, "case b1_equal: attention_mask: expected shape [1, 10]", "found [3, 14]");
  }
}
