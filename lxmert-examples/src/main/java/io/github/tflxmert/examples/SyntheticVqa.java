package io.github.tflxmert.examples;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.LxmertInputs;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A synthetic visual-question-answering task for the demo model. A scene is 2–5 objects, each with a colour
 * (6), a shape (3), a size (2) and a position; each object becomes one region: features [F=16] (one-hot colour,
 * shape, size, then 5 zero dims, all plus Gaussian noise 0.05) and a normalised box [x1,y1,x2,y2] whose extent
 * follows the size. Regions are padded to {@link #REGIONS} with {@code visual_attention_mask} 0.
 *
 * <p>Question templates (answers in {@link #ANSWERS}):
 * <pre>
 * what color is the {shape} ?            (shape unique in the scene)
 * what shape is the {color} object ?     (colour unique)
 * what size is the {color} {shape} ?     (that pair unique)
 * how many {color} objects are there ?   (0–5)
 * how many {shape}s are there ?          (0–5)
 * is there a {size} {color} {shape} ?    (yes/no, balanced)
 * </pre>
 * Tokens are whole words of {@link #VOCAB}, so BERT WordPiece tokenisation of the text gives the same ids.
 * Deterministic for a seed. Not thread-safe.
 */
public final class SyntheticVqa {
  public static final String[] COLORS = {"red", "blue", "green", "yellow", "white", "black"};
  public static final String[] SHAPES = {"cube", "sphere", "cylinder"};
  public static final String[] SIZES = {"small", "large"};
  public static final String[] TYPES = {"color", "shape", "size", "count_color", "count_shape", "exist"};
  public static final int FEATURES = 16;
  public static final int REGIONS = 5;
  public static final int TEXT = 10;
  public static final List<String> ANSWERS;
  public static final List<String> VOCAB;

  static {
    List<String> a = new ArrayList<>(List.of(COLORS));
    a.addAll(List.of(SHAPES));
    a.addAll(List.of(SIZES));
    a.addAll(List.of("0", "1", "2", "3", "4", "5", "yes", "no"));
    ANSWERS = List.copyOf(a);
    List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "color", "is",
        "the", "?", "shape", "size", "object", "how", "many", "objects", "are", "there", "a"));
    v.addAll(List.of(COLORS));
    v.addAll(List.of(SHAPES));
    for (String s : SHAPES) {
      v.add(s + "s");
    }
    v.addAll(List.of(SIZES));
    VOCAB = List.copyOf(v);
  }

  /** One object of a scene. */
  public record Obj(int color, int shape, int size, float[] box) {}

  /** One question about one scene, with its answer index and template type. */
  public record Example(List<Obj> scene, String question, int answer, String type) {}

  private final Random rnd;
  private final Map<String, Integer> ids = new HashMap<>();

  public SyntheticVqa(long seed) {
    rnd = new Random(seed);
    for (int i = 0; i < VOCAB.size(); i++) {
      ids.put(VOCAB.get(i), i);
    }
  }

  List<Obj> scene() {
    int n = 2 + rnd.nextInt(4);
    List<Obj> s = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int size = rnd.nextInt(2);
      float half = size == 0 ? 0.05f : 0.12f;
      float cx = 0.15f + 0.7f * rnd.nextFloat();
      float cy = 0.15f + 0.7f * rnd.nextFloat();
      s.add(new Obj(rnd.nextInt(COLORS.length), rnd.nextInt(SHAPES.length), size,
          new float[] {cx - half, cy - half, cx + half, cy + half}));
    }
    return s;
  }

  /** A random example; question types are drawn uniformly, retrying scenes where a template does not apply. */
  public Example next() {
    String type = TYPES[rnd.nextInt(TYPES.length)];
    while (true) {
      List<Obj> s = scene();
      Example e = ask(s, type);
      if (e != null) {
        return e;
      }
    }
  }

  private Example ask(List<Obj> s, String type) {
    switch (type) {
      case "color": {
        int shape = rnd.nextInt(SHAPES.length);
        List<Obj> m = s.stream().filter(o -> o.shape() == shape).toList();
        return m.size() != 1 ? null : new Example(s, "what color is the " + SHAPES[shape] + " ?",
            ANSWERS.indexOf(COLORS[m.get(0).color()]), type);
      }
      case "shape": {
        int color = rnd.nextInt(COLORS.length);
        List<Obj> m = s.stream().filter(o -> o.color() == color).toList();
        return m.size() != 1 ? null : new Example(s, "what shape is the " + COLORS[color] + " object ?",
            ANSWERS.indexOf(SHAPES[m.get(0).shape()]), type);
      }
      case "size": {
        Obj pick = s.get(rnd.nextInt(s.size()));
        List<Obj> m = s.stream().filter(o -> o.color() == pick.color() && o.shape() == pick.shape()).toList();
        return m.size() != 1 ? null : new Example(s, "what size is the " + COLORS[pick.color()] + " "
            + SHAPES[pick.shape()] + " ?", ANSWERS.indexOf(SIZES[pick.size()]), type);
      }
      case "count_color": {
        // Pick a present colour most of the time so counts above 0 are common.
        int color = rnd.nextInt(4) == 0 ? rnd.nextInt(COLORS.length) : s.get(rnd.nextInt(s.size())).color();
        long c = s.stream().filter(o -> o.color() == color).count();
        return new Example(s, "how many " + COLORS[color] + " objects are there ?", ANSWERS.indexOf("" + c), type);
      }
      case "count_shape": {
        int shape = rnd.nextInt(SHAPES.length);
        long c = s.stream().filter(o -> o.shape() == shape).count();
        return new Example(s, "how many " + SHAPES[shape] + "s are there ?", ANSWERS.indexOf("" + c), type);
      }
      default: {
        int color;
        int shape;
        int size;
        if (rnd.nextBoolean()) {
          Obj o = s.get(rnd.nextInt(s.size()));
          color = o.color();
          shape = o.shape();
          size = o.size();
        } else {
          color = rnd.nextInt(COLORS.length);
          shape = rnd.nextInt(SHAPES.length);
          size = rnd.nextInt(2);
        }
        boolean yes = s.stream().anyMatch(o -> o.color() == color && o.shape() == shape && o.size() == size);
        return new Example(s, "is there a " + SIZES[size] + " " + COLORS[color] + " " + SHAPES[shape] + " ?",
            ANSWERS.indexOf(yes ? "yes" : "no"), type);
      }
    }
  }

  public List<Example> examples(int n) {
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(next());
    }
    return out;
  }

  /** Token ids {@code [CLS] words [SEP]} padded to {@link #TEXT}. */
  public int[] tokens(String question) {
    String[] words = question.split(" ");
    int[] t = new int[TEXT];
    t[0] = ids.get("[CLS]");
    for (int i = 0; i < words.length; i++) {
      t[i + 1] = ids.getOrDefault(words[i], ids.get("[UNK]"));
    }
    t[words.length + 1] = ids.get("[SEP]");
    return t;
  }

  /** A batch of examples as model inputs (regions shuffled, noise drawn from this generator). */
  public LxmertInputs inputs(List<Example> batch) {
    int b = batch.size();
    int[] ids = new int[b * TEXT];
    int[] mask = new int[b * TEXT];
    float[] feats = new float[b * REGIONS * FEATURES];
    float[] boxes = new float[b * REGIONS * 4];
    int[] vmask = new int[b * REGIONS];
    for (int i = 0; i < b; i++) {
      Example e = batch.get(i);
      int[] t = tokens(e.question());
      int len = e.question().split(" ").length + 2;
      for (int j = 0; j < TEXT; j++) {
        ids[i * TEXT + j] = t[j];
        mask[i * TEXT + j] = j < len ? 1 : 0;
      }
      List<Obj> objs = new ArrayList<>(e.scene());
      java.util.Collections.shuffle(objs, rnd);
      for (int r = 0; r < objs.size(); r++) {
        Obj o = objs.get(r);
        int base = (i * REGIONS + r) * FEATURES;
        feats[base + o.color()] = 1f;
        feats[base + COLORS.length + o.shape()] = 1f;
        feats[base + COLORS.length + SHAPES.length + o.size()] = 1f;
        for (int f = 0; f < FEATURES; f++) {
          feats[base + f] += (float) (0.05 * rnd.nextGaussian());
        }
        System.arraycopy(o.box(), 0, boxes, (i * REGIONS + r) * 4, 4);
        vmask[i * REGIONS + r] = 1;
      }
    }
    return LxmertInputs.builder()
        .inputIds(new IntArray(new long[] {b, TEXT}, ids))
        .attentionMask(new IntArray(new long[] {b, TEXT}, mask))
        .tokenTypeIds(new IntArray(new long[] {b, TEXT}, new int[b * TEXT]))
        .visualFeats(new FloatArray(new long[] {b, REGIONS, FEATURES}, feats))
        .visualPos(new FloatArray(new long[] {b, REGIONS, 4}, boxes))
        .visualAttentionMask(new IntArray(new long[] {b, REGIONS}, vmask))
        .build();
  }

  /** A new random scene of 2–5 objects. */
  public List<Obj> randomScene() {
    return scene();
  }

  /**
   * One scene's region features [n, FEATURES] (colour, shape and size one-hot plus the same noise as
   * {@link #inputs}) and boxes [n, 4], in scene order, for feature files.
   */
  public FloatArray[] sceneArrays(List<Obj> scene) {
    int n = scene.size();
    float[] feats = new float[n * FEATURES];
    float[] boxes = new float[n * 4];
    for (int r = 0; r < n; r++) {
      Obj o = scene.get(r);
      int base = r * FEATURES;
      feats[base + o.color()] = 1f;
      feats[base + COLORS.length + o.shape()] = 1f;
      feats[base + COLORS.length + SHAPES.length + o.size()] = 1f;
      for (int f = 0; f < FEATURES; f++) {
        feats[base + f] += (float) (0.05 * rnd.nextGaussian());
      }
      System.arraycopy(o.box(), 0, boxes, r * 4, 4);
    }
    return new FloatArray[] {new FloatArray(new long[] {n, FEATURES}, feats), new FloatArray(new long[] {n, 4}, boxes)};
  }

  /** The scene in words, e.g. "a large red cube at (0.31, 0.62)". */
  public static String describe(List<Obj> scene) {
    StringBuilder sb = new StringBuilder();
    for (Obj o : scene) {
      sb.append(sb.length() == 0 ? "" : "; ").append(String.format(java.util.Locale.ROOT, "a %s %s %s at (%.2f, %.2f)",
          SIZES[o.size()], COLORS[o.color()], SHAPES[o.shape()], (o.box()[0] + o.box()[2]) / 2,
          (o.box()[1] + o.box()[3]) / 2));
    }
    return sb.toString();
  }

  public static IntArray answers(List<Example> batch) {
    return new IntArray(new long[] {batch.size()}, batch.stream().mapToInt(Example::answer).toArray());
  }
}
