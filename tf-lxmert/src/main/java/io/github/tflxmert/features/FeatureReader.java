package io.github.tflxmert.features;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import io.github.tflxmert.array.NpyArray;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads region features in the formats LXMERT users have:
 * <ul>
 *   <li>{@code .npy}: features [N, F] or [1, N, F], float32/float64, C order; boxes from a second {@code .npy}
 *       [N, 4] or [1, N, 4] (x1, y1, x2, y2);</li>
 *   <li>{@code .npz}: arrays {@code features} (or {@code x}, {@code feats}) and {@code boxes} (or
 *       {@code bbox}, {@code pos}), optional {@code image_h}/{@code image_w} (or {@code img_h}/{@code img_w});</li>
 *   <li>LXMERT / bottom-up-attention {@code .tsv}: columns {@code img_id, img_h, img_w, objects_id,
 *       objects_conf, attrs_id, attrs_conf, num_boxes, boxes, features} with base64 float32 {@code boxes} and
 *       {@code features} (the first row, or the row whose img_id is asked for).</li>
 * </ul>
 * Raw pixel boxes are normalised by the image size (given, or from the file); boxes must end in [0, 1] with
 * x1 &le; x2 and y1 &le; y2. Every problem is an {@link IllegalArgumentException} naming the file, the field,
 * what was expected and what was found. Stateless; thread-safe.
 */
public final class FeatureReader {
  private FeatureReader() {}

  /** Largest .npz entry read. */
  private static final long MAX_ENTRY = 1L << 30;
  /** Tolerance for boxes that round slightly outside [0, 1]. */
  private static final float BOX_SLACK = 1e-4f;

  /**
   * Reads features (and boxes) from a file.
   *
   * @param features  .npy, .npz or .tsv
   * @param boxes     .npy with boxes when {@code features} is a .npy, else null
   * @param imageSize {width, height} to normalise pixel boxes by, or null when boxes are already normalised
   *                  (or the file carries the image size)
   * @param imageId   for .tsv: the row's img_id, or null for the first row
   */
  public static VisualFeatures read(Path features, Path boxes, int[] imageSize, String imageId) throws IOException {
    if (!Files.isRegularFile(features)) {
      throw new IllegalArgumentException(features + ": no such features file");
    }
    String n = features.getFileName().toString().toLowerCase();
    if (n.endsWith(".npy")) {
      if (boxes == null) {
        throw new IllegalArgumentException(features + ": a .npy features file needs a boxes file (--boxes) with [N, 4]");
      }
      FloatArray f = squeeze(Npy.read(features).toFloatArray(), 2, features + " features");
      FloatArray b = squeeze(Npy.read(boxes).toFloatArray(), 2, boxes + " boxes");
      return normalise(f, b, imageSize, boxes.toString());
    }
    if (n.endsWith(".npz")) {
      return readNpz(features, imageSize);
    }
    if (n.endsWith(".tsv") || n.endsWith(".csv")) {
      return readTsv(features, imageId, imageSize);
    }
    throw new IllegalArgumentException(features + ": expected a .npy, .npz or .tsv features file");
  }

  private static VisualFeatures readNpz(Path file, int[] imageSize) throws IOException {
    Map<String, NpyArray> arrays = new LinkedHashMap<>();
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(file))) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        String key = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
        arrays.put(key, Npy.read(in, file + "[" + e.getName() + "]", MAX_ENTRY));
      }
    } catch (java.util.zip.ZipException ex) {
      throw new IllegalArgumentException(file + ": not a valid .npz (zip) file: " + ex.getMessage(), ex);
    }
    NpyArray f = first(arrays, file, "features", List.of("features", "x", "feats", "visual_feats"));
    NpyArray b = first(arrays, file, "boxes", List.of("boxes", "bbox", "pos", "visual_pos"));
    int[] size = imageSize;
    NpyArray h = arrays.getOrDefault("image_h", arrays.get("img_h"));
    NpyArray w = arrays.getOrDefault("image_w", arrays.get("img_w"));
    if (size == null && h != null && w != null) {
      size = new int[] {(int) scalar(w, file), (int) scalar(h, file)};
    }
    return normalise(squeeze(f.toFloatArray(), 2, file + " features"), squeeze(b.toFloatArray(), 2, file + " boxes"),
        size, file + " boxes");
  }

  private static double scalar(NpyArray a, Path file) {
    if (a.isFloat()) {
      return a.floats()[0];
    }
    if (a.longs().length != 1) {
      throw new IllegalArgumentException(file + ": " + a.source() + ": expected a scalar image size");
    }
    return a.longs()[0];
  }

  private static NpyArray first(Map<String, NpyArray> arrays, Path file, String what, List<String> keys) {
    for (String k : keys) {
      if (arrays.containsKey(k)) {
        return arrays.get(k);
      }
    }
    throw new IllegalArgumentException(file + ": expected an array named one of " + keys + " for " + what
        + ", found " + arrays.keySet());
  }

  private static final List<String> TSV_FIELDS = List.of("img_id", "img_h", "img_w", "objects_id", "objects_conf",
      "attrs_id", "attrs_conf", "num_boxes", "boxes", "features");

  private static VisualFeatures readTsv(Path file, String imageId, int[] imageSize) throws IOException {
    try (BufferedReader r = Files.newBufferedReader(file)) {
      String line;
      int row = 0;
      while ((line = r.readLine()) != null) {
        row++;
        if (line.isBlank()) {
          continue;
        }
        String[] cols = line.split("\t", -1);
        if (cols.length != TSV_FIELDS.size()) {
          throw new IllegalArgumentException(file + " row " + row + ": expected " + TSV_FIELDS.size()
              + " tab-separated fields " + TSV_FIELDS + ", found " + cols.length);
        }
        if (imageId != null && !cols[0].equals(imageId)) {
          continue;
        }
        String where = file + " row " + row + " (img_id " + cols[0] + ")";
        int h = parseInt(cols[1], where, "img_h");
        int w = parseInt(cols[2], where, "img_w");
        int n = parseInt(cols[7], where, "num_boxes");
        if (n <= 0 || n > 10_000) {
          throw new IllegalArgumentException(where + ": num_boxes: expected 1..10000, found " + n);
        }
        float[] boxes = base64Floats(cols[8], where, "boxes");
        float[] feats = base64Floats(cols[9], where, "features");
        if (boxes.length != n * 4) {
          throw new IllegalArgumentException(where + ": boxes: expected " + n * 4 + " float32 values (num_boxes × 4), "
              + "found " + boxes.length);
        }
        if (feats.length == 0 || feats.length % n != 0) {
          throw new IllegalArgumentException(where + ": features: expected a multiple of num_boxes (" + n
              + ") float32 values, found " + feats.length);
        }
        FloatArray f = new FloatArray(new long[] {n, feats.length / n}, feats);
        FloatArray b = new FloatArray(new long[] {n, 4}, boxes);
        return normalise(f, b, imageSize != null ? imageSize : new int[] {w, h}, where + " boxes");
      }
    }
    throw new IllegalArgumentException(file + ": " + (imageId == null ? "no rows" : "no row with img_id " + imageId));
  }

  private static int parseInt(String s, String where, String field) {
    try {
      return (int) Math.round(Double.parseDouble(s.strip()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": " + field + ": expected a number, found \"" + s + "\"");
    }
  }

  private static float[] base64Floats(String s, String where, String field) {
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(s.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + field + ": expected base64-encoded float32 data, found "
          + "invalid base64 (" + e.getMessage() + ")");
    }
    if (bytes.length % 4 != 0) {
      throw new IllegalArgumentException(where + ": " + field + ": expected a multiple of 4 bytes (float32), found "
          + bytes.length);
    }
    float[] out = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static FloatArray squeeze(FloatArray a, int rank, String what) {
    if (a.rank() == rank + 1 && a.dim(0) == 1) {
      return new FloatArray(Arrays.copyOfRange(a.shape(), 1, a.rank()), a.data());
    }
    if (a.rank() != rank) {
      throw new IllegalArgumentException(what + ": expected rank " + rank + " (or " + (rank + 1)
          + " with batch 1), found shape " + Arrays.toString(a.shape()));
    }
    return a;
  }

  /** Divides pixel boxes by the image size (when given) and checks they lie in [0, 1]. */
  static VisualFeatures normalise(FloatArray f, FloatArray b, int[] imageSize, String where) {
    if (b.rank() != 2 || b.dim(1) != 4) {
      throw new IllegalArgumentException(where + ": expected boxes of shape [N, 4], found " + Arrays.toString(b.shape()));
    }
    if (b.dim(0) != f.dim(0)) {
      throw new IllegalArgumentException(where + ": expected " + f.dim(0) + " boxes (one per feature row), found "
          + b.dim(0));
    }
    float[] out = b.data().clone();
    if (imageSize != null) {
      if (imageSize.length != 2 || imageSize[0] <= 0 || imageSize[1] <= 0) {
        throw new IllegalArgumentException(where + ": image size: expected positive width and height, found "
            + Arrays.toString(imageSize));
      }
      for (int i = 0; i < out.length; i++) {
        out[i] /= (i % 2 == 0) ? imageSize[0] : imageSize[1];
      }
    }
    for (int i = 0; i < out.length; i += 4) {
      for (int k = 0; k < 4; k++) {
        float v = out[i + k];
        if (!Float.isFinite(v) || v < -BOX_SLACK || v > 1 + BOX_SLACK) {
          throw new IllegalArgumentException(where + "[" + i / 4 + "]: expected normalised (x1, y1, x2, y2) in [0, 1]"
              + (imageSize == null ? " (pixel boxes need --image-size W H)" : "") + ", found "
              + Arrays.toString(Arrays.copyOfRange(out, i, i + 4)));
        }
        out[i + k] = Math.min(1f, Math.max(0f, v));
      }
      if (out[i] > out[i + 2] || out[i + 1] > out[i + 3]) {
        throw new IllegalArgumentException(where + "[" + i / 4 + "]: expected x1 <= x2 and y1 <= y2, found "
            + Arrays.toString(Arrays.copyOfRange(out, i, i + 4)));
      }
    }
    return new VisualFeatures(f, new FloatArray(b.shape(), out), where);
  }
}
