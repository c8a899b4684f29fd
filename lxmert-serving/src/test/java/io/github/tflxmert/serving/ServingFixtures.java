package io.github.tflxmert.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.array.FloatArray;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/** The committed tiny fixtures, unpacked for the server tests, and the parity tolerance. */
final class ServingFixtures {
  static final Path TINY = Path.of("..", "parity-tests", "fixtures", "tiny").toAbsolutePath().normalize();
  static final Path HF_MODEL = TINY.resolve("model");
  static final double ATOL = 1e-5;
  static final double RTOL = 1.3e-6;

  private ServingFixtures() {}

  /** BASE/1/ = the Python-exported SavedModel of saved_model.zip, BASE/config.json = the model's config. */
  static Path pythonBase(Path base) throws IOException {
    unzip(TINY.resolve("saved_model.zip"), base);
    Files.copy(HF_MODEL.resolve("config.json"), base.resolve("config.json"));
    return base;
  }

  static void unzip(Path zip, Path into) throws IOException {
    try (InputStream in = Files.newInputStream(zip); ZipInputStream z = new ZipInputStream(in)) {
      for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
        Path p = into.resolve(e.getName()).normalize();
        if (!p.startsWith(into)) {
          throw new IOException("zip entry outside the target: " + e.getName());
        }
        if (e.isDirectory()) {
          Files.createDirectories(p);
        } else {
          Files.createDirectories(p.getParent());
          Files.copy(z, p);
        }
      }
    }
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path q = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(q);
        } else {
          Files.copy(p, q);
        }
      }
    }
  }

  /** Deterministic inputs of B rows, S tokens, N regions for the tiny config (vocab 300, F 128). */
  static LxmertInputs inputs(long seed, int b, int s, int n) {
    Random r = new Random(seed);
    int[][] ids = new int[b][s];
    for (int[] row : ids) {
      for (int i = 0; i < s; i++) {
        row[i] = i == 0 ? 101 % 300 : 1 + r.nextInt(299);
      }
    }
    float[] feats = new float[b * n * 128];
    for (int i = 0; i < feats.length; i++) {
      feats[i] = r.nextFloat();
    }
    float[] pos = new float[b * n * 4];
    for (int i = 0; i < pos.length; i += 4) {
      float x = r.nextFloat() * 0.5f;
      float y = r.nextFloat() * 0.5f;
      pos[i] = x;
      pos[i + 1] = y;
      pos[i + 2] = x + 0.4f;
      pos[i + 3] = y + 0.4f;
    }
    return LxmertInputs.builder().inputIds(ids)
        .visualFeats(new FloatArray(new long[] {b, n, 128}, feats))
        .visualPos(new FloatArray(new long[] {b, n, 4}, pos)).build();
  }

  static void assertClose(String what, FloatArray expected, FloatArray actual) {
    assertEquals(Arrays.toString(expected.shape()), Arrays.toString(actual.shape()), what + ": shape");
    float[] e = expected.data();
    float[] a = actual.data();
    for (int i = 0; i < e.length; i++) {
      double d = Math.abs((double) a[i] - e[i]);
      if (!(d <= ATOL + RTOL * Math.abs(e[i]))) {
        fail(what + "[" + i + "]: expected " + e[i] + ", found " + a[i] + " (|a-e| = " + d + ")");
      }
    }
  }
}
