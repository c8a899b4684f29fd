package io.github.tflxmert.spark;

import java.io.IOException;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * A Hadoop FileSystem for the scheme {@code lxmtest:} (registered with {@code fs.lxmtest.impl}) that serves the
 * local disk ({@code lxmtest:///tmp/x} is {@code /tmp/x}) and counts, per file name, how often a file is opened:
 * a model read through it was localized through the Hadoop API, not read as a {@code file:} path. Thread-safe
 * counters; static so every instance of the JVM (the FileSystem cache is off for this scheme) counts together.
 */
public class LocalSchemeFileSystem extends RawLocalFileSystem {
  static final String SCHEME = "lxmtest";
  private static final URI ROOT = URI.create(SCHEME + ":///");
  static final Map<String, AtomicInteger> OPENS = new ConcurrentHashMap<>();

  @Override
  public URI getUri() {
    return ROOT;
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    OPENS.computeIfAbsent(f.getName(), k -> new AtomicInteger()).incrementAndGet();
    return super.open(f, bufferSize);
  }

  static int opens(String name) {
    AtomicInteger n = OPENS.get(name);
    return n == null ? 0 : n.get();
  }

  /** The lxmtest: URI of a local path. */
  static String uri(java.nio.file.Path local) {
    return SCHEME + "://" + local.toAbsolutePath().toUri().getPath();
  }
}
