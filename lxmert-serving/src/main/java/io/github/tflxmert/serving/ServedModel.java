package io.github.tflxmert.serving;

import io.github.tflxmert.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.OptionalLong;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model name and its versions, with TF Serving's version policies: for a base path, {@link #poll()} looks for
 * numbered directories {@code BASE/N/} and serves those the {@link VersionPolicy} picks (by default the latest
 * one); a picked version not yet served is loaded (op policy included) and, once loaded, takes requests
 * atomically; a served version the policy no longer picks is unloaded after its in-flight requests finish (see
 * {@link Servable}), but only once a picked version is served, so a version that fails to load leaves the served
 * ones in place (and shows in {@link #statuses()} with its error). Version labels ({@code version_labels} of the
 * model config) name served versions. An HF model directory is served as version 1.
 *
 * <p>Thread-safe: requests call {@link #acquire} concurrently with a poller thread calling {@link #poll}.
 * Owns its servables; {@link #close()} retires them.
 */
public final class ServedModel implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServedModel.class);

  /** TF Serving's {@code ModelVersionStatus.State}. */
  public enum State { START, LOADING, AVAILABLE, UNLOADING, END }

  /** One version's state and, for a failed load, its error (else empty). */
  public record VersionStatus(long version, State state, String error) {}

  /**
   * TF Serving's {@code model_version_policy}: {@code latest { num_versions: N }} (the default, N = 1),
   * {@code all {}}, or {@code specific { versions: ... }}.
   *
   * @param numVersions for {@link Kind#LATEST}: how many of the newest versions are served
   * @param versions    for {@link Kind#SPECIFIC}: the versions served (those present on disk)
   */
  public record VersionPolicy(Kind kind, int numVersions, SortedSet<Long> versions) {
    public enum Kind { LATEST, ALL, SPECIFIC }

    public VersionPolicy {
      versions = Collections.unmodifiableSortedSet(new TreeSet<>(versions));
      if (kind == Kind.LATEST && numVersions < 1) {
        throw new IllegalArgumentException("model_version_policy.latest.num_versions: expected >= 1, found " + numVersions);
      }
      if (kind == Kind.SPECIFIC && versions.isEmpty()) {
        throw new IllegalArgumentException("model_version_policy.specific.versions: expected at least one version, found none");
      }
    }

    public static VersionPolicy latest(int n) {
      return new VersionPolicy(Kind.LATEST, n, new TreeSet<>());
    }

    public static VersionPolicy all() {
      return new VersionPolicy(Kind.ALL, 0, new TreeSet<>());
    }

    public static VersionPolicy specific(Collection<Long> versions) {
      return new VersionPolicy(Kind.SPECIFIC, 0, new TreeSet<>(versions));
    }

    /** The versions to serve out of those on disk. */
    NavigableSet<Long> pick(NavigableSet<Long> onDisk) {
      TreeSet<Long> out = new TreeSet<>();
      switch (kind) {
        case ALL -> out.addAll(onDisk);
        case SPECIFIC -> {
          out.addAll(onDisk);
          out.retainAll(versions);
        }
        case LATEST -> onDisk.descendingSet().stream().limit(numVersions).forEach(out::add);
      }
      return out;
    }

    @Override
    public String toString() {
      return switch (kind) {
        case LATEST -> "latest { num_versions: " + numVersions + " }";
        case ALL -> "all {}";
        case SPECIFIC -> "specific { versions: " + versions + " }";
      };
    }
  }

  /**
   * Where versions come from: a TF Serving base path (with its version policy and labels) or one HF model
   * directory (run by the Java graph in {@code precision}; a SavedModel runs as it was exported).
   *
   * @param labels version label → version number (TF Serving's {@code version_labels})
   */
  public record Source(Path basePath, Path hfModelDir, Precision precision, VersionPolicy policy,
                       Map<String, Long> labels) {
    public Source {
      if ((basePath == null) == (hfModelDir == null)) {
        throw new IllegalArgumentException("model source: expected a base path or an HF model directory, found "
            + (basePath == null ? "neither" : "both"));
      }
      precision = precision == null ? Precision.FLOAT32 : precision;
      policy = policy == null ? VersionPolicy.latest(1) : policy;
      labels = Collections.unmodifiableMap(new TreeMap<>(labels == null ? Map.of() : labels));
      if (hfModelDir != null && !labels.isEmpty()) {
        throw new IllegalArgumentException("version_labels: an HF model directory is served as version 1 only, found labels " + labels);
      }
    }

    public static Source basePath(Path p) {
      return new Source(p, null, null, null, null);
    }

    public static Source basePath(Path p, VersionPolicy policy, Map<String, Long> labels) {
      return new Source(p, null, null, policy, labels);
    }

    public static Source hfModel(Path p) {
      return new Source(null, p, null, null, null);
    }

    /** An HF model directory run by the Java graph in {@code precision} (fp32, bf16 or auto). */
    public static Source hfModel(Path p, Precision precision) {
      return new Source(null, p, precision, null, null);
    }
  }

  private final String name;
  private final Source source;
  private final Batcher.Options batching;
  private final Batcher.Listener listener;
  private final ConcurrentSkipListMap<Long, VersionStatus> statuses = new ConcurrentSkipListMap<>();
  /** TF Serving's --max_num_load_retries default: a failing version is tried this many more times, one per poll. */
  static final int MAX_LOAD_RETRIES = 5;

  private final ConcurrentSkipListMap<Long, Servable> served = new ConcurrentSkipListMap<>();
  private boolean closed; // guarded by this
  private final Object pollLock = new Object(); // one load at a time; requests never wait on it
  private final Map<Long, Integer> failures = new java.util.HashMap<>(); // guarded by pollLock

  public ServedModel(String name, Source source, Batcher.Options batching, Batcher.Listener listener) {
    this.name = name;
    this.source = source;
    this.batching = batching;
    this.listener = listener;
  }

  public String name() {
    return name;
  }

  public Source source() {
    return source;
  }

  /**
   * Loads what is there now (the versions the policy picks, or the HF model), then checks that every version
   * label names a served version (as TF Serving does at start).
   *
   * @throws IOException if nothing could be loaded (the error names the path) or a label names a version not served
   */
  public void load() throws IOException {
    if (source.hfModelDir() != null) {
      statuses.put(1L, new VersionStatus(1, State.LOADING, ""));
      try {
        install(Servable.openHfModel(name, source.hfModelDir(), source.precision(), batching, listener));
      } catch (IOException | RuntimeException e) {
        statuses.put(1L, new VersionStatus(1, State.END, e.getMessage()));
        throw e;
      }
      return;
    }
    if (!poll()) {
      VersionStatus last = statuses.isEmpty() ? null : statuses.lastEntry().getValue();
      throw new IOException("--model_base_path " + source.basePath() + ": expected a loadable version directory "
          + "BASE/N/ (N a positive integer) holding saved_model.pb" + (source.policy().kind() == VersionPolicy.Kind.LATEST
              && source.policy().numVersions() == 1 ? "" : " picked by model_version_policy " + source.policy())
          + ", found " + (last == null ? "none (on disk: " + versionsOnDisk(source.basePath()) + ")"
              : "version " + last.version() + " failing: " + last.error()));
    }
    for (Map.Entry<String, Long> l : source.labels().entrySet()) {
      if (!served.containsKey(l.getValue())) {
        throw new IOException("model " + name + ": version_labels: expected label '" + l.getKey() + "' to name a "
            + "served version " + served.keySet() + ", found version " + l.getValue());
      }
    }
  }

  /**
   * Loads the versions the policy picks that are not served yet (and have not failed too often), then unloads the
   * served versions it no longer picks, provided a picked one is served.
   *
   * @return whether a version is being served after the call
   */
  public boolean poll() {
    synchronized (pollLock) {
      return pollLocked();
    }
  }

  private boolean pollLocked() {
    if (source.basePath() == null) {
      return !served.isEmpty();
    }
    NavigableSet<Long> wanted = source.policy().pick(versionsOnDisk(source.basePath()));
    for (long v : wanted.descendingSet()) { // newest first: it takes the unlabelled traffic
      if (served.containsKey(v) || failures.getOrDefault(v, 0) > MAX_LOAD_RETRIES) {
        continue; // served, or given up on (a new version number is needed)
      }
      statuses.put(v, new VersionStatus(v, State.LOADING, ""));
      LOG.info("loading model {} version {} from {}", name, v, source.basePath().resolve(Long.toString(v)));
      try {
        install(Servable.openSavedModel(name, v, source.basePath().resolve(Long.toString(v)), batching, listener));
      } catch (IOException | RuntimeException e) {
        LOG.warn("model {} version {} failed to load; still serving {}: {}", name, v, served.keySet(), e.getMessage());
        int n = failures.merge(v, 1, Integer::sum);
        statuses.put(v, new VersionStatus(v, State.END, String.valueOf(e.getMessage())
            + (n > MAX_LOAD_RETRIES ? " (gave up after " + n + " attempts)" : " (attempt " + n + ", retried on the next poll)")));
      }
    }
    if (served.keySet().stream().anyMatch(wanted::contains)) { // availability first: never unload the last good one
      for (long v : new ArrayList<>(served.keySet())) {
        if (!wanted.contains(v)) {
          unload(v);
        }
      }
    }
    return !served.isEmpty();
  }

  private void install(Servable s) {
    synchronized (this) {
      if (closed) {
        s.retire();
        return;
      }
      served.put(s.version(), s);
    }
    statuses.put(s.version(), new VersionStatus(s.version(), State.AVAILABLE, ""));
    LOG.info("serving model {} version {}", name, s.version());
  }

  private void unload(long v) {
    Servable old;
    synchronized (this) {
      old = served.remove(v);
    }
    if (old != null) {
      LOG.info("model {}: version {} no longer picked by {}; unloading it once its requests finish", name, v,
          source.policy());
      statuses.put(v, new VersionStatus(v, State.END, ""));
      old.retire();
    }
  }

  /**
   * The servable for a request, with a reference the caller releases ({@link Servable#release()}).
   *
   * @param version the requested version, or empty for the latest served
   * @throws ServingException NOT_FOUND for a version not served, UNAVAILABLE while nothing is loaded
   */
  public Servable acquire(OptionalLong version) {
    for (int attempt = 0; attempt < 100; attempt++) {
      Map.Entry<Long, Servable> latest = served.lastEntry();
      if (latest == null) {
        throw new ServingException(ServingException.Code.UNAVAILABLE, "model " + name + ": no version is loaded yet");
      }
      Servable s = version.isPresent() ? served.get(version.getAsLong()) : latest.getValue();
      if (s == null) {
        throw ServingException.notFound("model " + name + ": expected a served version " + served.keySet()
            + ", found request for version " + version.getAsLong());
      }
      if (s.retain()) {
        return s;
      }
      // it was retired between the read and retain: the next read sees its successor
    }
    throw new ServingException(ServingException.Code.UNAVAILABLE, "model " + name + " is shutting down");
  }

  /**
   * The version a label names ({@code version_labels} of the model config).
   *
   * @throws ServingException NOT_FOUND for a label that is not configured
   */
  public long versionForLabel(String label) {
    Long v = source.labels().get(label);
    if (v == null) {
      throw ServingException.notFound("model " + name + ": version_label: expected one of the labels "
          + source.labels().keySet() + ", found '" + label + "'");
    }
    return v;
  }

  /** Every version seen, oldest first. */
  public List<VersionStatus> statuses() {
    return new ArrayList<>(statuses.values());
  }

  public Map<Long, VersionStatus> statusMap() {
    return statuses;
  }

  /** The newest version served, or empty. */
  public OptionalLong servedVersion() {
    Map.Entry<Long, Servable> s = served.lastEntry();
    return s == null ? OptionalLong.empty() : OptionalLong.of(s.getKey());
  }

  /** Every version served, oldest first. */
  public SortedSet<Long> servedVersions() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(served.keySet()));
  }

  static OptionalLong newestVersion(Path base) {
    NavigableSet<Long> v = versionsOnDisk(base);
    return v.isEmpty() ? OptionalLong.empty() : OptionalLong.of(v.last());
  }

  /** The version directories {@code BASE/N/} holding a saved_model.pb. */
  static NavigableSet<Long> versionsOnDisk(Path base) {
    TreeSet<Long> out = new TreeSet<>();
    if (!Files.isDirectory(base)) {
      return out;
    }
    try (Stream<Path> s = Files.list(base)) {
      s.filter(p -> p.getFileName().toString().matches("[0-9]{1,18}") && Files.isRegularFile(p.resolve("saved_model.pb")))
          .mapToLong(p -> Long.parseLong(p.getFileName().toString())).filter(v -> v > 0).forEach(out::add);
    } catch (IOException e) {
      LOG.warn("cannot list {}: {}", base, e.getMessage());
    }
    return out;
  }

  @Override
  public void close() {
    List<Servable> all;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      all = new ArrayList<>(served.values());
      served.clear();
    }
    for (Servable s : all) {
      statuses.put(s.version(), new VersionStatus(s.version(), State.END, ""));
      s.retire();
    }
  }
}
