package io.github.tflxmert.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Label lists for answers, objects and attributes ({@code answers.json} and the like): a JSON list, a JSON object
 * label → index, or one label per line. Stateless; thread-safe. The lists returned are unmodifiable; an index an
 * object leaves out is a {@code null} entry.
 */
public final class LabelFile {
  private static final ObjectMapper JSON = new ObjectMapper();

  private LabelFile() {}

  /** Reads {@code file}; messages name it. */
  public static List<String> read(Path file) throws IOException {
    return parse(Files.readString(file), file.toString());
  }

  /**
   * Parses a label list's text.
   *
   * @param source what messages name first (a path, or a parameter and its path)
   * @throws IllegalArgumentException on invalid JSON or an index outside the list
   */
  public static List<String> parse(String text, String source) {
    String t = text.strip();
    if (!t.startsWith("[") && !t.startsWith("{")) {
      return t.lines().map(String::strip).toList();
    }
    JsonNode n;
    try {
      n = JSON.readTree(t);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(source + ": expected valid JSON, found: " + e.getOriginalMessage());
    }
    if (n.isArray()) {
      List<String> out = new ArrayList<>();
      n.forEach(x -> out.add(x.asText()));
      return Collections.unmodifiableList(out);
    }
    String[] arr = new String[n.size()];
    var it = n.fields();
    while (it.hasNext()) {
      var e = it.next();
      int i = e.getValue().asInt(-1);
      if (i < 0 || i >= arr.length) {
        throw new IllegalArgumentException(source + ": label " + e.getKey() + ": expected an index in [0, "
            + arr.length + "), found " + e.getValue());
      }
      arr[i] = e.getKey();
    }
    return Collections.unmodifiableList(Arrays.asList(arr));
  }
}
