package io.github.tflxmert.serving;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model name and its versions, with TF Serving's default version policy (serve the latest): for a base path,
 * {@link #poll()} looks for numbered directories {@code BASE/N/}; a version newer than the one served is loaded
 * (op policy included) and, once loaded, takes over new requests atomically; the replaced one is unloaded after
 * its in-flight requests finish (see {@link Servable}). A version that fails to load leaves the served one in
 * place and shows in {@link #statuses()} with its error. An HF model directory is served as version 1.
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

  /** Where versions come from: a TF Serving base path or one HF model directory. */
  public record Source(Path basePath, Path hfModelDir) {
    public static Source basePath(Path p) {
      return new Source(p, null);
    }

    public static Source hfModel(Path p) {
      return new Source(null, p);
    }
  }

  private final String name;
  private final Source source;
  private final Batcher.Options batching;
  private final Batcher.Listener listener;
  private final ConcurrentSkipListMap<Long, VersionStatus> statuses = new ConcurrentSkipListMap<>();
  /** TF Serving's --max_num_load_retries default: a failing version is tried this many more times, one per poll. */
  static final int MAX_LOAD_RETRIES = 5;

  private volatile Servable current;
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
   * Loads what is there now (the latest version, or the HF model).
   *
   * @throws IOException if nothing could be loaded (the error names the path)
   */
  public void load() throws IOException {
    if (source.hfModelDir() != null) {
      statuses.put(1L, new VersionStatus(1, State.LOADING, ""));
      try {
        install(Servable.openHfModel(name, source.hfModelDir(), batching, listener));
      } catch (IOException | RuntimeException e) {
        statuses.put(1L, new VersionStatus(1, State.END, e.getMessage()));
        throw e;
      }
      return;
    }
    if (!poll()) {
      VersionStatus last = statuses.isEmpty() ? null : statuses.lastEntry().getValue();
      throw new IOException("--model_base_path " + source.basePath() + ": expected a loadable version directory "
          + "BASE/N/ (N a positive integer) holding saved_model.pb, found "
          + (last == null ? "none" : "version " + last.version() + " failing: " + last.error()));
    }
  }

  /**
   * Loads the newest version directory if it is newer than the one served and has not failed before.
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
      return current != null;
    }
    OptionalLong newest = newestVersion(source.basePath());
    Servable cur = current;
    if (newest.isEmpty() || (cur != null && newest.getAsLong() <= cur.version())) {
      return cur != null;
    }
    long v = newest.getAsLong();
    if (failures.getOrDefault(v, 0) > MAX_LOAD_RETRIES) {
      return cur != null; // given up on; a new version number is needed
    }
    statuses.put(v, new VersionStatus(v, State.LOADING, ""));
    LOG.info("loading model {} version {} from {}", name, v, source.basePath().resolve(Long.toString(v)));
    try {
      install(Servable.openSavedModel(name, v, source.basePath().resolve(Long.toString(v)), batching, listener));
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warn("model {} version {} failed to load; still serving {}: {}", name, v,
          cur == null ? "nothing" : "version " + cur.version(), e.getMessage());
      int n = failures.merge(v, 1, Integer::sum);
      statuses.put(v, new VersionStatus(v, State.END, String.valueOf(e.getMessage())
          + (n > MAX_LOAD_RETRIES ? " (gave up after " + n + " attempts)" : " (attempt " + n + ", retried on the next poll)")));
      return cur != null;
    }
  }

  private void install(Servable s) {
    Servable old;
    synchronized (this) {
      if (closed) {
        s.retire();
        return;
      }
      old = current;
      current = s;
    }
    statuses.put(s.version(), new VersionStatus(s.version(), State.AVAILABLE, ""));
    LOG.info("serving model {} version {}", name, s.version());
    if (old != null) {
      statuses.put(old.version(), new VersionStatus(old.version(), State.END, ""));
      old.retire();
    }
  }

  /**
   * The servable for a request, with a reference the caller releases ({@link Servable#release()}).
   *
   * @param version the requested version, or empty for the latest
   * @throws ServingException NOT_FOUND for a version not served, UNAVAILABLE while nothing is loaded
   */
  public Servable acquire(OptionalLong version) {
    for (int attempt = 0; attempt < 100; attempt++) {
      Servable s = current;
      if (s == null) {
        throw new ServingException(ServingException.Code.UNAVAILABLE, "model " + name + ": no version is loaded yet");
      }
      if (version.isPresent() && version.getAsLong() != s.version()) {
        throw ServingException.notFound("model " + name + ": expected a served version " + s.version()
            + ", found request for version " + version.getAsLong());
      }
      if (s.retain()) {
        return s;
      }
      // it was retired between the read and retain: the next read sees its successor
    }
    throw new ServingException(ServingException.Code.UNAVAILABLE, "model " + name + " is shutting down");
  }

  /** Every version seen, oldest first. */
  public List<VersionStatus> statuses() {
    return new ArrayList<>(statuses.values());
  }

  public Map<Long, VersionStatus> statusMap() {
    return statuses;
  }

  /** The version now served, or empty. */
  public OptionalLong servedVersion() {
    Servable s = current;
    return s == null ? OptionalLong.empty() : OptionalLong.of(s.version());
  }

  static OptionalLong newestVersion(Path base) {
    if (!Files.isDirectory(base)) {
      return OptionalLong.empty();
    }
    try (Stream<Path> s = Files.list(base)) {
      return s.filter(p -> p.getFileName().toString().matches("[0-9]{1,18}") && Files.isRegularFile(p.resolve("saved_model.pb")))
          .mapToLong(p -> Long.parseLong(p.getFileName().toString())).filter(v -> v > 0).max();
    } catch (IOException e) {
      LOG.warn("cannot list {}: {}", base, e.getMessage());
      return OptionalLong.empty();
    }
  }

  @Override
  public void close() {
    Servable s;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      s = current;
      current = null;
    }
    if (s != null) {
      statuses.put(s.version(), new VersionStatus(s.version(), State.END, ""));
      s.retire();
    }
  }
}
