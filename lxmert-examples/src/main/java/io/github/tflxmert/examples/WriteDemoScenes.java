package io.github.tflxmert.examples;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes sample scenes of the synthetic VQA task as feature files the {@code lxmert} command reads:
 * {@code scene-<i>-features.npy} [n, 16], {@code scene-<i>-boxes.npy} [n, 4] and {@code scenes.txt} (one line per
 * scene, in words). Deterministic for a seed. Usage: {@code WriteDemoScenes OUT [count] [seed]}.
 */
public final class WriteDemoScenes {
  private WriteDemoScenes() {}

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "demo-model");
    int count = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    long seed = args.length > 2 ? Long.parseLong(args[2]) : 2024;
    Files.createDirectories(out);
    SyntheticVqa gen = new SyntheticVqa(seed);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      List<SyntheticVqa.Obj> scene = gen.randomScene();
      FloatArray[] a = gen.sceneArrays(scene);
      Npy.write(out.resolve("scene-" + i + "-features.npy"), a[0]);
      Npy.write(out.resolve("scene-" + i + "-boxes.npy"), a[1]);
      lines.add("scene " + i + ": " + SyntheticVqa.describe(scene));
    }
    Files.write(out.resolve("scenes.txt"), lines);
    lines.forEach(System.out::println);
  }
}
