package io.github.tflxmert.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of this JVM, one per {@link ModelSpec}: the first task of an executor that needs a model loads it,
 * the other tasks (concurrent or later) wait for that load and share the instance. Models stay loaded for the
 * JVM's life and are closed by a shutdown hook. A load that fails is not cached, so a later task retries it.
 *
 * <p>Thread-safe. Owns every model it returns: callers never close them.
 */
public final class SharedModels {
  private static final Logger LOG = LoggerFactory.getLogger(SharedModels.class);
  private static final ConcurrentHashMap<ModelSpec, Holder> MODELS = new ConcurrentHashMap<>();
  private static final AtomicInteger LOADS = new AtomicInteger();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(SharedModels::closeAll, "lxmert-spark-models-close"));
  }

  private SharedModels() {}

  /** One lazily loaded model; the lock makes concurrent first callers wait for one load. */
  private static final class Holder {
    private LoadedModel model;

    synchronized LoadedModel get(ModelSpec spec, Supplier<Configuration> hadoopConf) {
      if (model == null) {
        model = LoadedModel.load(spec, hadoopConf.get());
        LOADS.incrementAndGet();
        LOG.info("lxmert-spark: loaded model {} in {} ms ({} threads)", spec.modelPath(), model.loadMillis,
            spec.intraOpThreads() == 0 ? "TensorFlow's default" : spec.intraOpThreads());
      }
      return model;
    }

    synchronized void close() {
      if (model != null) {
        model.close();
        model = null;
      }
    }
  }

  /**
   * The shared model for a spec, loading it on first use; {@code hadoopConf} (asked only for a load) resolves a
   * remote modelPath's file system.
   */
  static LoadedModel get(ModelSpec spec, Supplier<Configuration> hadoopConf) {
    return MODELS.computeIfAbsent(spec, s -> new Holder()).get(spec, hadoopConf);
  }

  /** How many models this JVM has loaded (for tests and job metrics). */
  public static int loadCount() {
    return LOADS.get();
  }

  /** Closes every model of this JVM; later {@code get} calls load again. For shutdown and tests. */
  public static void closeAll() {
    List<Holder> hs = new ArrayList<>(MODELS.values());
    MODELS.clear();
    for (Holder h : hs) {
      try {
        h.close();
      } catch (RuntimeException e) {
        LOG.warn("lxmert-spark: closing a model failed: {}", e.toString());
      }
    }
  }
}
