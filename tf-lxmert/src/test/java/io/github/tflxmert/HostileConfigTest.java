package io.github.tflxmert;

import io.github.tflxmert.config.LxmertConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile {@code config.json} files: not JSON, not an object, wrong types, negative sizes, an unknown activation,
 * heads that do not divide the hidden size, trailing garbage, a huge file, a directory. Each is an
 * {@link IllegalArgumentException} naming the file, the field, what was expected and what was found.
 */
class HostileConfigTest {
  @TempDir
  Path tmp;

  /** A valid config of the tiny fixture shape, with one field replaced by raw JSON text. */
  static String tinyWith(String field, String rawValue) {
    String base = "{\"vocab_size\": 300, \"hidden_size\": 28, \"num_attention_heads\": 2, \"intermediate_size\": 64,"
        + " \"hidden_act\": \"gelu\", \"l_layers\": 2, \"x_layers\": 1, \"r_layers\": 1, \"visual_feat_dim\": 128,"
        + " \"num_qa_labels\": 30, \"num_object_labels\": 16, \"num_attr_labels\": 4}";
    return base.replaceFirst("\"" + field + "\": [^,}]*", "\"" + field + "\": " + rawValue.replace("\\", "\\\\")
        .replace("$", "\\$"));
  }

  static Stream<Arguments> hostile() {
    return Stream.of(
        Arguments.of("not JSON", "vocab_size = 300", new String[] {"not valid JSON"}),
        Arguments.of("empty file", "", new String[] {"expected a JSON object, found missing"}),
        Arguments.of("JSON array", "[1, 2]", new String[] {"expected a JSON object, found array"}),
        Arguments.of("JSON string", "\"config\"", new String[] {"expected a JSON object, found string"}),
        Arguments.of("trailing garbage", tinyWith("vocab_size", "300") + " {}", new String[] {"not valid JSON",
            "Trailing token"}),
        Arguments.of("truncated", tinyWith("vocab_size", "300").substring(0, 40), new String[] {"not valid JSON"}),
        Arguments.of("string where int", tinyWith("hidden_size", "\"28\""), new String[] {
            "config field hidden_size: expected an integer, found string \"28\""}),
        Arguments.of("float where int", tinyWith("vocab_size", "300.5"), new String[] {
            "config field vocab_size: expected an integer, found number 300.5"}),
        Arguments.of("int beyond int32", tinyWith("vocab_size", "4294967296"), new String[] {
            "config field vocab_size: expected an integer, found number 4294967296"}),
        Arguments.of("array where int", tinyWith("l_layers", "[2]"), new String[] {
            "config field l_layers: expected an integer, found array [2]"}),
        Arguments.of("negative vocab", tinyWith("vocab_size", "-1"), new String[] {
            "config field vocab_size: expected a positive integer, found -1"}),
        Arguments.of("zero hidden size", tinyWith("hidden_size", "0"), new String[] {
            "config field hidden_size: expected a positive integer, found 0"}),
        Arguments.of("negative layers", tinyWith("r_layers", "-2"), new String[] {
            "config field r_layers: expected an integer >= 0, found -2"}),
        Arguments.of("no language layer", tinyWith("l_layers", "0").replace("\"x_layers\": 1", "\"x_layers\": 0"),
            new String[] {"l_layers + x_layers: expected at least one language layer, found 0"}),
        Arguments.of("unknown hidden_act", tinyWith("hidden_act", "\"gelu_fast\""), new String[] {
            "config field hidden_act: expected one of", "found \"gelu_fast\""}),
        Arguments.of("hidden_act not a string", tinyWith("hidden_act", "1"), new String[] {
            "config field hidden_act: expected a string, found number 1"}),
        Arguments.of("heads not dividing hidden", tinyWith("num_attention_heads", "3"), new String[] {
            "config field hidden_size: expected a multiple of num_attention_heads (3), found 28"}),
        Arguments.of("dropout out of range", tinyWith("hidden_act", "\"gelu\", \"hidden_dropout_prob\": 1.5"),
            new String[] {"config field hidden_dropout_prob: expected a value in [0, 1), found 1.5"}),
        Arguments.of("layer_norm_eps zero", tinyWith("hidden_act", "\"gelu\", \"layer_norm_eps\": 0"),
            new String[] {"config field layer_norm_eps: expected a positive number, found 0.0"}),
        Arguments.of("boolean as string", tinyWith("hidden_act", "\"gelu\", \"task_qa\": \"true\""),
            new String[] {"config field task_qa: expected true or false, found string \"true\""}),
        Arguments.of("deeply nested", "{\"a\": " + "[".repeat(5000) + "]".repeat(5000) + "}",
            new String[] {"not valid JSON"}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostile")
  void rejectedNamingFileFieldExpectedFound(String name, String json, String[] fragments) throws IOException {
    Path f = tmp.resolve("config.json");
    Files.writeString(f, json);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LxmertConfig.fromJsonFile(f));
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    for (String frag : fragments) {
      assertTrue(e.getMessage().contains(frag), "lacks \"" + frag + "\": " + e.getMessage());
    }
    IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString(json, "src"));
    assertTrue(s.getMessage().startsWith("src: "), s.getMessage());
    for (String frag : fragments) {
      assertTrue(s.getMessage().contains(frag), "lacks \"" + frag + "\": " + s.getMessage());
    }
  }

  @Test
  void theBaseValueIsValid() {
    assertEquals(28, LxmertConfig.fromJsonString(tinyWith("vocab_size", "300"), "x").hiddenSize());
  }

  @Test
  void hugeOrSpecialFilesAreRefusedBeforeParsing() throws IOException {
    Path big = tmp.resolve("config.json");
    try (RandomAccessFile raf = new RandomAccessFile(big.toFile(), "rw")) {
      raf.setLength(LxmertConfig.MAX_JSON_BYTES + 1); // sparse
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LxmertConfig.fromJsonFile(big));
    assertTrue(e.getMessage().contains("expected a config.json of at most 16777216 bytes, found 16777217 bytes"),
        e.getMessage());
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> LxmertConfig.fromJsonFile(tmp));
    assertTrue(d.getMessage().contains("expected a regular config.json file, found a directory"), d.getMessage());
    Path zero = Path.of("/dev/zero");
    if (Files.exists(zero)) {
      IllegalArgumentException z = assertThrows(IllegalArgumentException.class, () -> LxmertConfig.fromJsonFile(zero));
      assertTrue(z.getMessage().contains("found a special file"), z.getMessage());
    }
  }

  @Test
  void allowedActivationsAreListedInAFixedOrder() {
    // Set.of iterates in an order that changes from one JVM run to the next; the message must not.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString(tinyWith("hidden_act", "\"gelu_fast\""), "src"));
    assertTrue(e.getMessage().contains("expected one of [gelu, gelu_new, relu, tanh, sigmoid, silu, swish], found "
        + "\"gelu_fast\""), e.getMessage());
  }

  @Test
  void aConfigJsonThatIsALinkLoopOrADanglingLinkSaysSo() throws IOException {
    Path loop = tmp.resolve("loop");
    Files.createDirectories(loop);
    Files.createSymbolicLink(loop.resolve("config.json"), Path.of("config.json")); // points at itself
    IllegalArgumentException l = assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonFile(loop.resolve("config.json")));
    assertTrue(l.getMessage().startsWith(loop.resolve("config.json") + ": expected a regular config.json file, found "
        + "a symbolic link that cannot be resolved, e.g. a loop"), l.getMessage());
    Path dangling = tmp.resolve("dangling");
    Files.createDirectories(dangling);
    Files.createSymbolicLink(dangling.resolve("config.json"), tmp.resolve("no-such-file.json"));
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonFile(dangling.resolve("config.json")));
    assertTrue(d.getMessage().endsWith("found a dangling symbolic link (its target does not exist)"), d.getMessage());
  }
}
