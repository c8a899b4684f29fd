package io.github.tflxmert.savedmodel;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;

/**
 * Where a SavedModel lives on disk, resolved from what a user passed:
 * <ul>
 *   <li>a SavedModel directory (holds {@code saved_model.pb} or {@code saved_model.pbtxt});</li>
 *   <li>a TF Serving base directory whose numbered subdirectories are versions: the highest number that holds
 *       a SavedModel wins, other entries are ignored;</li>
 *   <li>a Hugging Face {@code save_pretrained(..., saved_model=True)} directory ({@code config.json} next to
 *       {@code saved_model/<version>/}): its {@code saved_model/} is treated as the base directory.</li>
 * </ul>
 * Immutable; thread-safe.
 *
 * @param requested the path the user gave
 * @param dir       the SavedModel directory (holding {@code saved_model.pb[txt]} and {@code variables/})
 * @param version   the version number when {@code dir} was picked from a base directory
 */
public record SavedModelLocation(Path requested, Path dir, OptionalLong version) {

  private static final Pattern VERSION = Pattern.compile("\\d{1,18}");

  /** Largest {@code saved_model.pb} read: protobuf messages cannot exceed 2 GiB. */
  static final long MAX_PB_BYTES = Integer.MAX_VALUE - 8;

  /**
   * Resolves a path as described above.
   *
   * @throws IllegalArgumentException if the path does not exist, is not a directory, or is neither layout
   *     (the message lists what the directory holds)
   */
  public static SavedModelLocation resolve(Path path) {
    if (!Files.exists(path)) {
      throw new IllegalArgumentException(path + ": no such file or directory (expected a SavedModel directory or a "
          + "TF Serving base directory)");
    }
    if (!Files.isDirectory(path)) {
      throw new IllegalArgumentException(path + ": expected a directory (a SavedModel directory or a TF Serving base "
          + "directory), found a file");
    }
    if (isSavedModelDir(path)) {
      return new SavedModelLocation(path, path, OptionalLong.empty());
    }
    Optional<SavedModelLocation> v = highestVersion(path, path);
    if (v.isPresent()) {
      return v.get();
    }
    Path hf = path.resolve("saved_model");
    if (Files.isDirectory(hf)) {
      if (isSavedModelDir(hf)) {
        return new SavedModelLocation(path, hf, OptionalLong.empty());
      }
      v = highestVersion(path, hf);
      if (v.isPresent()) {
        return v.get();
      }
    }
    List<String> numbered = entries(path).stream().map(e -> e.endsWith("/") ? e.substring(0, e.length() - 1) : e)
        .filter(e -> VERSION.matcher(e).matches()).toList();
    throw new IllegalArgumentException(path + ": neither a SavedModel directory (no saved_model.pb or "
        + "saved_model.pbtxt) nor a TF Serving base directory (no numbered version subdirectory holding one)"
        + (numbered.isEmpty() ? "" : "; numbered subdirectories without a SavedModel: " + numbered)
        + "; found " + describe(entries(path)));
  }

  /** Whether a directory holds {@code saved_model.pb} or {@code saved_model.pbtxt}. */
  public static boolean isSavedModelDir(Path dir) {
    return Files.isRegularFile(dir.resolve("saved_model.pb")) || Files.isRegularFile(dir.resolve("saved_model.pbtxt"));
  }

  private static Optional<SavedModelLocation> highestVersion(Path requested, Path base) {
    try (Stream<Path> s = Files.list(base)) {
      return s.filter(p -> VERSION.matcher(p.getFileName().toString()).matches())
          .filter(Files::isDirectory)
          .filter(SavedModelLocation::isSavedModelDir)
          .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString())))
          .map(p -> new SavedModelLocation(requested, p, OptionalLong.of(Long.parseLong(p.getFileName().toString()))));
    } catch (IOException e) {
      throw new IllegalArgumentException(base + ": cannot list the directory: " + e.getMessage(), e);
    }
  }

  private static List<String> entries(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "/" : "")).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static String describe(List<String> entries) {
    if (entries.isEmpty()) {
      return "an empty directory";
    }
    List<String> shown = entries.size() > 20 ? new ArrayList<>(entries.subList(0, 20)) : entries;
    return shown + (entries.size() > 20 ? " and " + (entries.size() - 20) + " more" : "");
  }

  /**
   * The Hugging Face {@code config.json} that belongs to this SavedModel, if there is one: in the SavedModel
   * directory, else in its base directory (when a version was picked), else next to the {@code saved_model/}
   * directory that {@code save_pretrained} writes.
   */
  public Optional<Path> configJson() {
    List<Path> candidates = new ArrayList<>();
    candidates.add(dir.resolve("config.json"));
    Path parent = dir.getParent();
    if (parent != null) {
      if (version.isPresent()) {
        candidates.add(parent.resolve("config.json"));                       // base/config.json
      }
      if (named(parent, "saved_model") && parent.getParent() != null) {
        candidates.add(parent.getParent().resolve("config.json"));          // hf/saved_model/1
      }
      if (named(dir, "saved_model")) {
        candidates.add(parent.resolve("config.json"));                       // hf/saved_model
      }
    }
    return candidates.stream().filter(Files::isRegularFile).findFirst();
  }

  private static boolean named(Path p, String name) {
    return p.getFileName() != null && p.getFileName().toString().equals(name);
  }

  /**
   * Parses {@code saved_model.pb} (binary) or, if absent, {@code saved_model.pbtxt} (text format).
   *
   * @throws IllegalArgumentException if the file cannot be parsed, naming it
   */
  public SavedModel readProto() throws IOException {
    Path pb = dir.resolve("saved_model.pb");
    if (Files.isRegularFile(pb)) {
      long size = Files.size(pb);
      if (size > MAX_PB_BYTES) {
        throw new IllegalArgumentException(pb + ": expected a SavedModel protobuf of at most " + MAX_PB_BYTES
            + " bytes (protobuf's 2 GiB limit), found " + size + " bytes");
      }
      // Parsed from an array, not a stream: protobuf-java 3.21's stream decoder throws IllegalStateException
      // ("refillBuffer() called when -N bytes were already available") on a negative string length, where the
      // array decoder reports InvalidProtocolBufferException (found by the savedmodel fuzz target).
      byte[] bytes = Files.readAllBytes(pb);
      try {
        com.google.protobuf.CodedInputStream cin = com.google.protobuf.CodedInputStream.newInstance(bytes);
        cin.setRecursionLimit(1000);
        return withMetaGraphs(SavedModel.parseFrom(cin), pb, bytes.length);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(pb + ": not a SavedModel protobuf: " + e.getMessage(), e);
      }
    }
    Path txt = dir.resolve("saved_model.pbtxt");
    try (Reader r = Files.newBufferedReader(txt, StandardCharsets.UTF_8)) {
      SavedModel.Builder b = SavedModel.newBuilder();
      com.google.protobuf.TextFormat.merge(r, b);
      return withMetaGraphs(b.build(), txt, Files.size(txt));
    } catch (com.google.protobuf.TextFormat.ParseException e) {
      throw new IllegalArgumentException(txt + ": not a SavedModel in protobuf text format: " + e.getMessage(), e);
    }
  }

  /**
   * Protobuf's decoder accepts most byte strings (unknown fields are skipped, an empty file is an empty
   * message), so random bytes or plain text often parse; a SavedModel has at least one MetaGraph (TensorFlow's
   * loader needs one to pick by tags), so none means the file is not one.
   */
  private static SavedModel withMetaGraphs(SavedModel sm, Path file, long size) {
    if (sm.getMetaGraphsCount() == 0) {
      throw new IllegalArgumentException(file + ": not a SavedModel: expected at least one MetaGraphDef, found none "
          + "(its " + size + " bytes parse as an empty message; random bytes or text?)");
    }
    return sm;
  }

  /** The MetaGraphDef whose tag set equals {@code tags}, as TensorFlow's loader picks it. */
  public static MetaGraphDef metaGraph(SavedModel sm, Path source, Set<String> tags) {
    List<Set<String>> found = new ArrayList<>();
    for (MetaGraphDef mg : sm.getMetaGraphsList()) {
      Set<String> t = new TreeSet<>(mg.getMetaInfoDef().getTagsList());
      if (t.equals(new TreeSet<>(tags))) {
        return mg;
      }
      found.add(t);
    }
    throw new IllegalArgumentException(source + ": no MetaGraph with tag set " + new TreeSet<>(tags)
        + "; the SavedModel has " + (found.isEmpty() ? "no MetaGraph at all" : "tag sets " + found));
  }

  @Override
  public String toString() {
    return dir + (version.isPresent() ? " (version " + version.getAsLong() + ")" : "");
  }
}
