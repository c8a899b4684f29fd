package io.github.tflxmert.serving;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.Precision;
import io.github.tflxmert.savedmodel.SavedModelInfo;
import io.github.tflxmert.savedmodel.SavedModelInfo.SignatureInfo;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded model version: its predictor (a {@link SavedModelPredictor} for {@code BASE/N/}, the Java graph
 * {@link LxmertForPreTraining} for an HF model directory), the signatures it offers, and its {@link Batcher}
 * (absent when batching is off).
 *
 * <p>Thread-safe. Owns the predictor and the batcher. Lifetime is reference counted so a version swap loses no
 * request: a request {@link #retain()}s the servable before it runs and {@link #release()}s it when its result
 * is out; {@link #retire()} (the version was replaced or the server stops) closes batcher and predictor once the
 * last request has released it.
 */
public final class Servable {
  private static final Logger LOG = LoggerFactory.getLogger(Servable.class);

  private final String name;
  private final long version;
  private final Path source;
  private final LxmertPredictor predictor;
  private final Map<String, ServingSignature> signatures;
  private final Batcher batcher; // null when batching is off
  private final AtomicInteger refs = new AtomicInteger(1); // 1 = the manager's own reference until retire()

  private Servable(String name, long version, Path source, LxmertPredictor predictor,
                   Map<String, ServingSignature> signatures, Batcher.Options batching, Batcher.Listener listener,
                   boolean textMask, boolean regionMask) {
    this.name = name;
    this.version = version;
    this.source = source;
    this.predictor = predictor;
    this.signatures = signatures;
    this.batcher = batching == null ? null
        : new Batcher(predictor, batching, textMask, regionMask, name + "-v" + version, listener);
  }

  /**
   * Loads {@code dir} (a SavedModel version directory {@code BASE/N}) through savedmodel-loader, op policy
   * included; the config is {@code BASE/N/config.json}, else {@code BASE/config.json} (what {@code lxmert export}
   * writes), else derived from the SavedModel.
   */
  public static Servable openSavedModel(String name, long version, Path dir, Batcher.Options batching,
                                        Batcher.Listener listener) throws IOException {
    SavedModelPredictor.Builder b = SavedModelPredictor.builder(dir);
    Path baseConfig = dir.toAbsolutePath().getParent() == null ? null : dir.toAbsolutePath().getParent().resolve("config.json");
    if (!Files.isRegularFile(dir.resolve("config.json")) && baseConfig != null && Files.isRegularFile(baseConfig)) {
      b.config(LxmertConfig.fromJsonFile(baseConfig));
    }
    SavedModelPredictor p = b.open();
    try {
      SavedModelInfo info = SavedModelInfo.inspect(dir);
      Map<String, ServingSignature> sigs = new LinkedHashMap<>();
      for (SignatureInfo s : info.metaGraph("serve").signatures().values()) {
        if (s.inputs().containsKey("input_ids")) {
          sigs.put(s.key(), ServingSignature.forSavedModel(s, p.availableOutputs()));
        }
      }
      var in = p.signature().inputs();
      return new Servable(name, version, dir, p, sigs, batching, listener, in.containsKey("attention_mask"),
          in.containsKey("visual_attention_mask"));
    } catch (RuntimeException | IOException e) {
      p.close();
      throw e;
    }
  }

  /** Builds the float32 Java graph from an HF model directory (config.json + weights); served as version 1. */
  public static Servable openHfModel(String name, Path dir, Batcher.Options batching, Batcher.Listener listener)
      throws IOException {
    return openHfModel(name, dir, Precision.FLOAT32, batching, listener);
  }

  /**
   * Builds the Java graph from an HF model directory in {@code precision} ({@link Precision#AUTO} resolved by the
   * CPU); served as version 1.
   *
   * @throws UnsupportedOperationException for {@link Precision#BFLOAT16} on a CPU without bfloat16 instructions,
   *                                       one line naming what is missing
   */
  public static Servable openHfModel(String name, Path dir, Precision precision, Batcher.Options batching,
                                     Batcher.Listener listener) throws IOException {
    LxmertForPreTraining p = LxmertForPreTraining.fromPretrained(dir, LoadOptions.defaults().withPrecision(precision));
    try {
      LxmertConfig c = p.config();
      Map<String, ServingSignature> sigs = new LinkedHashMap<>();
      for (String k : new String[] {ServingSignature.SERVING_DEFAULT, ServingSignature.INT64_SERVING}) {
        sigs.put(k, ServingSignature.forGraph(k, c, p.availableOutputs()));
      }
      return new Servable(name, 1, dir, p, sigs, batching, listener, true, true);
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
  }

  public String name() {
    return name;
  }

  public long version() {
    return version;
  }

  public Path source() {
    return source;
  }

  /**
   * What the model computes in: {@code fp32} or {@code bf16} for the Java graph (AUTO resolved), or
   * {@code as exported} for a SavedModel (it runs the graph that was exported).
   */
  public String precision() {
    return predictor instanceof io.github.tflxmert.GraphPredictor g ? g.precision().shortName() : "as exported";
  }

  public LxmertConfig config() {
    return predictor.config();
  }

  public Map<String, ServingSignature> signatures() {
    return signatures;
  }

  /** The named signature ({@code serving_default} when empty). @throws ServingException INVALID_ARGUMENT */
  public ServingSignature signature(String key) {
    String k = key == null || key.isEmpty() ? ServingSignature.SERVING_DEFAULT : key;
    ServingSignature s = signatures.get(k);
    if (s == null) {
      throw ServingException.invalid("model_spec.signature_name: expected one of " + signatures.keySet()
          + " for model " + name + " version " + version + ", found '" + k + "'");
    }
    return s;
  }

  /**
   * Validates and runs inputs (through the batcher when batching is on). The caller holds a reference.
   *
   * @throws ServingException INVALID_ARGUMENT for inputs that do not fit the model
   */
  public CompletableFuture<LxmertOutputs> predict(LxmertInputs inputs, OutputSelection wanted) {
    try {
      inputs.validate(predictor.config());
    } catch (IllegalArgumentException e) {
      throw ServingException.invalid(e.getMessage());
    }
    if (batcher != null) {
      return batcher.submit(inputs, wanted);
    }
    try {
      return CompletableFuture.completedFuture(predictor.predict(inputs, wanted));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Takes a reference for one request; false when the servable is already closed. */
  public boolean retain() {
    while (true) {
      int r = refs.get();
      if (r <= 0) {
        return false;
      }
      if (refs.compareAndSet(r, r + 1)) {
        return true;
      }
    }
  }

  public void release() {
    if (refs.decrementAndGet() == 0) {
      closeNow();
    }
  }

  /** Drops the manager's reference: closes once no request holds one. Call once. */
  public void retire() {
    release();
  }

  private void closeNow() {
    LOG.info("unloading model {} version {}", name, version);
    if (batcher != null) {
      batcher.close();
    }
    predictor.close();
  }

  @Override
  public String toString() {
    return "Servable[" + name + " v" + version + " " + source + "]";
  }
}
