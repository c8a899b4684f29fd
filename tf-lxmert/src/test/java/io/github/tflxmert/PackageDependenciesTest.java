package io.github.tflxmert;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's packages depend on each other one way only: no cycle among them (foundation types such as
 * {@code config} below the graph and weights, the models in the root package above them). Dependencies are read
 * from this module's sources: imports and qualified names of this project's classes outside comments.
 */
class PackageDependenciesTest {
  private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
  private static final Pattern REFERENCE = Pattern.compile("\\bio\\.github\\.tflxmert((?:\\.[a-z]\\w*)*)\\.[A-Z]");
  private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

  static Map<String, Set<String>> dependencies(Path sources) throws IOException {
    Map<String, Set<String>> deps = new TreeMap<>();
    try (Stream<Path> files = Files.walk(sources)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String src = Files.readString(f);
        Matcher pm = PACKAGE.matcher(src);
        assertTrue(pm.find(), f + ": no package declaration");
        String pkg = pm.group(1);
        Set<String> out = deps.computeIfAbsent(pkg, k -> new TreeSet<>());
        Matcher m = REFERENCE.matcher(COMMENT.matcher(src).replaceAll(""));
        while (m.find()) {
          String used = "io.github.tflxmert" + m.group(1);
          if (!used.equals(pkg)) {
            out.add(used);
          }
        }
      }
    }
    return deps;
  }

  /** A cycle through {@code from}, as a path from {@code from} back to it, or null. */
  static List<String> cycleThrough(String from, Map<String, Set<String>> deps) {
    List<String> path = new ArrayList<>(List.of(from));
    return search(from, from, deps, path, new TreeSet<>()) ? path : null;
  }

  private static boolean search(String start, String at, Map<String, Set<String>> deps, List<String> path,
                                Set<String> seen) {
    for (String next : deps.getOrDefault(at, Set.of())) {
      if (next.equals(start)) {
        path.add(next);
        return true;
      }
      if (seen.add(next)) {
        path.add(next);
        if (search(start, next, deps, path, seen)) {
          return true;
        }
        path.remove(path.size() - 1);
      }
    }
    return false;
  }

  @Test
  void noPackageCycles() throws IOException {
    Map<String, Set<String>> deps = dependencies(Path.of("src/main/java"));
    assertFalse(deps.isEmpty(), "no sources found under src/main/java");
    List<String> cycles = new ArrayList<>();
    for (String p : deps.keySet()) {
      List<String> c = cycleThrough(p, deps);
      if (c != null) {
        cycles.add(String.join(" -> ", c));
      }
    }
    assertTrue(cycles.isEmpty(), "package cycles:\n" + String.join("\n", cycles) + "\nall dependencies: " + deps);
  }

  @Test
  void theCheckSeesACycle() {
    Map<String, Set<String>> deps = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
    assertTrue(List.of("a", "b", "c", "a").equals(cycleThrough("a", deps)), String.valueOf(cycleThrough("a", deps)));
    assertTrue(cycleThrough("d", deps) == null);
  }
}
