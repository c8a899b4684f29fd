package io.github.tflxmert.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Label lists for answers, objects and attributes: a JSON list, a JSON object label→index, or lines. */
final class Labels {
  private Labels() {}

  static List<String> read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": label file not found");
    }
    String text = Files.readString(file);
    String t = text.strip();
    if (t.startsWith("[") || t.startsWith("{")) {
      JsonNode n;
      try {
        n = new ObjectMapper().readTree(t);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage());
      }
      if (n.isArray()) {
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return out;
      }
      String[] arr = new String[n.size()];
      var it = n.fields();
      while (it.hasNext()) {
        var e = it.next();
        int i = e.getValue().asInt(-1);
        if (i < 0 || i >= arr.length) {
          throw new IllegalArgumentException(file + ": label " + e.getKey() + ": expected an index in [0, "
              + arr.length + "), found " + e.getValue());
        }
        arr[i] = e.getKey();
      }
      return Arrays.asList(arr);
    }
    return t.lines().map(String::strip).toList();
  }
}
