package io.github.tflxmert.savedmodel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;

/**
 * Loads any SavedModel into TensorFlow after checking it: resolves the directory ({@link SavedModelLocation}),
 * parses {@code saved_model.pb}, picks the MetaGraph with the requested tags, and refuses it with an
 * {@link UnsafeSavedModelException} if its graph or function library holds ops the {@link OpPolicy} deny-list
 * names and the caller did not allow. Only then does TensorFlow load it (which runs its restore and init ops).
 *
 * <p>The check reads the same files TensorFlow then loads; whoever can rewrite the directory between the two
 * can defeat it, so load from a directory only trusted parties can write. Immutable once built; thread-safe.
 */
public final class SavedModelLoader {
  private static final Logger LOG = LoggerFactory.getLogger(SavedModelLoader.class);

  private final Set<String> tags;
  private final ConfigProto configProto;
  private final OpPolicy policy;

  private SavedModelLoader(Builder b) {
    this.tags = Set.copyOf(b.tags);
    this.configProto = b.configProto;
    this.policy = b.policy;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A loaded SavedModel with what the checks found. The caller closes it (which closes the bundle). */
  public record Loaded(SavedModelLocation location, MetaGraphDef metaGraph, SavedModelBundle bundle,
                       List<OpInventory.Finding> allowedFindings) implements AutoCloseable {
    @Override
    public void close() {
      bundle.close();
    }
  }

  /** Resolves, parses and checks without loading; returns the MetaGraph that {@link #load} would load. */
  public MetaGraphDef check(SavedModelLocation loc) throws IOException {
    SavedModel sm = loc.readProto();
    MetaGraphDef mg = SavedModelLocation.metaGraph(sm, loc.dir(), tags);
    checkOps(mg, loc.dir());
    return mg;
  }

  /**
   * The op check of {@link #check} on an already parsed MetaGraph ({@code source} names it in the message).
   *
   * @throws UnsafeSavedModelException if ops on the deny-list are present and not allowed
   */
  public void checkOps(MetaGraphDef mg, Path source) {
    List<OpInventory.Finding> refused = OpInventory.of(mg).refused(policy);
    if (!refused.isEmpty()) {
      throw new UnsafeSavedModelException(source, refused);
    }
  }

  /**
   * Checks and loads a SavedModel directory or TF Serving base directory.
   *
   * @throws IllegalArgumentException naming the directory if it is neither layout, the protobuf is corrupt, no
   *     MetaGraph has the tags, or TensorFlow cannot load it (a malformed graph, a signature that does not fit it)
   * @throws UnsafeSavedModelException if ops on the deny-list are present and not allowed
   */
  public Loaded load(Path path) throws IOException {
    SavedModelLocation loc = SavedModelLocation.resolve(path);
    return loadChecked(loc, check(loc));
  }

  /** Loads a SavedModel whose MetaGraph {@link #check} returned. */
  Loaded loadChecked(SavedModelLocation loc, MetaGraphDef mg) {
    List<OpInventory.Finding> allowed = OpInventory.of(mg).findings();
    if (!allowed.isEmpty()) {
      LOG.warn("{}: loading with {} op(s) on the deny-list that the caller allowed: {}", loc.dir(), allowed.size(),
          allowed.stream().map(OpInventory.Finding::describe).toList());
    }
    SavedModelBundle.Loader l = SavedModelBundle.loader(loc.dir().toString()).withTags(tags.toArray(String[]::new));
    if (configProto != null) {
      l = l.withConfigProto(configProto);
    }
    SavedModelBundle bundle;
    try {
      bundle = l.load();
    } catch (RuntimeException e) {
      // Not only TensorFlowException: TF Java maps INVALID_ARGUMENT (a malformed graph: unknown input node, bad node
      // name) to an IllegalArgumentException and UNIMPLEMENTED to an UnsupportedOperationException, and after the
      // native load it builds a function per SignatureDef, throwing IllegalArgumentException or
      // IndexOutOfBoundsException when a signature names a missing tensor, an output index past the op's outputs or
      // the wrong dtype. None of them names the directory (found by the savedmodel fuzz target).
      throw new IllegalArgumentException(loc.dir() + ": TensorFlow could not load the SavedModel (tags " + tags + "): "
          + e.getMessage(), e);
    }
    LOG.debug("{}: loaded (tags {})", loc, tags);
    return new Loaded(loc, mg, bundle, allowed);
  }

  public Set<String> tags() {
    return tags;
  }

  public OpPolicy policy() {
    return policy;
  }

  /** Options of {@link SavedModelLoader}; defaults: tag {@code serve}, TensorFlow's session config, deny-list. */
  public static final class Builder {
    private Set<String> tags = Set.of("serve");
    private ConfigProto configProto;
    private OpPolicy policy = OpPolicy.defaults();

    /** The MetaGraph's exact tag set (default {@code serve}). */
    public Builder tags(String... tags) {
      if (tags.length == 0) {
        throw new IllegalArgumentException("tags: expected at least one tag, found none");
      }
      this.tags = new LinkedHashSet<>(Arrays.asList(tags));
      return this;
    }

    /** Session options (thread pools, GPU options, ...); {@code null} keeps TensorFlow's defaults. */
    public Builder configProto(ConfigProto configProto) {
      this.configProto = configProto;
      return this;
    }

    /** Op types on the deny-list to let through for this model (replaces earlier calls). */
    public Builder allowOps(Collection<String> opTypes) {
      this.policy = OpPolicy.allowing(opTypes);
      return this;
    }

    public Builder allowOps(String... opTypes) {
      return allowOps(List.of(opTypes));
    }

    public SavedModelLoader build() {
      return new SavedModelLoader(this);
    }
  }
}
