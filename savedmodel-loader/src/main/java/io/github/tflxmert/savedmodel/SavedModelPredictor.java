package io.github.tflxmert.savedmodel;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.Bfloat16Support;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.savedmodel.LxmertSignature.OutputSource;
import io.github.tflxmert.savedmodel.SavedModelInfo.SignatureInfo;
import io.github.tflxmert.savedmodel.SavedModelInfo.TensorSpecInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.FloatNdArray;
import org.tensorflow.ndarray.DoubleNdArray;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Runs a Python-exported {@code TFLxmertForPreTraining} (or {@code TFLxmertModel}) SavedModel behind
 * {@link LxmertPredictor}: HF's {@code save_pretrained(dir, saved_model=True)} writes {@code
 * dir/saved_model/1/} with signatures {@code serving_default} (int32 ids) and {@code int64_serving} (int64 ids).
 *
 * <ul>
 *   <li><b>Signature</b>: the one given to {@link Builder#signature}, else {@code serving_default}, else
 *       {@code int64_serving}, else the only one. Integer inputs are converted to the dtype it declares (int32
 *       or int64), float inputs to its float type. Every input it declares is fed; a visual mask is fed as all
 *       ones when {@link LxmertInputs} has none (numerically the same as HF's "no mask": the added term is 0).</li>
 *   <li><b>Outputs</b>: only the selected outputs are fetched, through the session runner with the signature's
 *       tensor names. Stacked tuples ({@code language_hidden_states} [l+x,B,S,H], {@code cross_encoder_attentions}
 *       [x,B,h,S,N], ..., present when the model was exported with {@code output_hidden_states} /
 *       {@code output_attentions} on) are split into {@code <tuple>.<i>}. {@link #availableOutputs()} says
 *       what this signature offers.</li>
 *   <li><b>Config</b>: the one given to {@link Builder#config}, else {@code config.json} found next to the
 *       SavedModel ({@link SavedModelLocation#configJson()}), else derived from the shapes of the SavedModel's
 *       variables and signature (fields no shape shows, such as {@code layer_norm_eps}, take HF's defaults; a
 *       warning lists them; the SavedModel path does not use them). Checked against the signature's
 *       static shapes; inputs are validated against it before anything reaches TensorFlow.</li>
 *   <li><b>Safety</b>: loaded through {@link SavedModelLoader}: ops on the {@link OpPolicy} deny-list refuse the
 *       model unless allowed with {@link Builder#allowOps}.</li>
 * </ul>
 *
 * <p>Thread-safe: one TensorFlow {@link Session} serves concurrent {@link #predict} calls; {@link #close()}
 * waits for calls in flight, frees the SavedModel, and makes later calls fail with
 * {@link IllegalStateException}. The caller that opened the predictor closes it. Returned outputs are plain Java
 * arrays; every tensor is closed before {@code predict} returns.
 */
public final class SavedModelPredictor implements LxmertPredictor {
  private static final Logger LOG = LoggerFactory.getLogger(SavedModelPredictor.class);

  private final SavedModelLoader.Loaded loaded;
  private final Session session;
  private final LxmertSignature binding;
  private final LxmertConfig config;
  private final String configSource;
  private final Set<String> available;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock(true);
  private boolean closed; // guarded by lock

  private SavedModelPredictor(SavedModelLoader.Loaded loaded, LxmertSignature binding, LxmertConfig config,
                              String configSource) {
    this.loaded = loaded;
    this.session = loaded.bundle().session();
    this.binding = binding;
    this.config = config;
    this.configSource = configSource;
    this.available = Collections.unmodifiableSet(new LinkedHashSet<>(binding.outputs.keySet()));
  }

  /** Opens a SavedModel directory, TF Serving base directory or HF model directory with default options. */
  public static SavedModelPredictor open(Path path) throws IOException {
    return builder(path).open();
  }

  public static Builder builder(Path path) {
    return new Builder(path);
  }

  @Override
  public LxmertConfig config() {
    return config;
  }

  /** Where the config came from: {@code given}, a {@code config.json} path, or {@code derived from ...}. */
  public String configSource() {
    return configSource;
  }

  /** Output names this signature offers, heads first, then base outputs, hidden states, attentions. */
  @Override
  public Set<String> availableOutputs() {
    return available;
  }

  /** The signature this predictor runs. */
  public SignatureInfo signature() {
    return binding.signature;
  }

  public String signatureKey() {
    return binding.signature.key();
  }

  /** {@code DT_INT32} or {@code DT_INT64}: what the signature takes for ids, masks and token types. */
  public String idDtype() {
    return binding.idDtype();
  }

  /** The SavedModel directory that was loaded (and its version, when picked from a base directory). */
  public SavedModelLocation location() {
    return loaded.location();
  }

  /** The heads of this config that the signature offers (HF's default outputs). */
  @Override
  public LxmertOutputs predict(LxmertInputs inputs) {
    List<String> heads = OutputNames.heads(config).stream().filter(available::contains).toList();
    if (heads.isEmpty()) {
      heads = OutputNames.base().stream().filter(available::contains).toList();
    }
    if (heads.isEmpty()) {
      throw new IllegalArgumentException(where() + " offers neither head nor base outputs; available: " + available);
    }
    return predict(inputs, OutputSelection.of(heads));
  }

  @Override
  public LxmertOutputs predict(LxmertInputs inputs, OutputSelection wanted) {
    lock.readLock().lock();
    try {
      if (closed) {
        throw new IllegalStateException(where() + ": predictor is closed");
      }
      inputs.validate(config);
      checkDroppable(inputs);
      List<String> missing = wanted.names().stream().filter(n -> !available.contains(n)).toList();
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException(where() + ": output(s) " + missing + " not available; available: "
            + available);
      }
      // signature output key -> tensor name, each stacked tuple once
      Map<String, String> fetch = new LinkedHashMap<>();
      for (String n : wanted.names()) {
        OutputSource src = binding.outputs.get(n);
        fetch.putIfAbsent(src.key(), src.spec().name());
      }
      Map<String, FloatArray> fetched = run(inputs, fetch);
      Map<String, FloatArray> out = new LinkedHashMap<>();
      for (String n : wanted.names()) {
        OutputSource src = binding.outputs.get(n);
        FloatArray t = fetched.get(src.key());
        out.put(n, src.layer() < 0 ? t : layer(t, src));
      }
      return new LxmertOutputs(out);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * An input the signature does not take may only hold the value that means "absent" (all-ones masks, zero
   * token types); anything else would be silently ignored.
   */
  private void checkDroppable(LxmertInputs in) {
    check(in.attentionMask(), LxmertSignature.ATTENTION_MASK, 1, "text padding");
    check(in.tokenTypeIds(), LxmertSignature.TOKEN_TYPE_IDS, 0, "token types");
    if (in.visualAttentionMask() != null) {
      check(in.visualAttentionMask(), LxmertSignature.VISUAL_ATTENTION_MASK, 1, "masked regions");
    }
  }

  private void check(IntArray a, String key, int neutral, String what) {
    if (binding.inputs.containsKey(key)) {
      return;
    }
    for (int v : a.data()) {
      if (v != neutral) {
        throw new IllegalArgumentException(key + ": signature '" + signatureKey() + "' has no such input, so only "
            + "all " + neutral + "s can be accepted, found " + v + " (these inputs have " + what + "); the signature's "
            + "inputs are " + binding.inputs.keySet());
      }
    }
  }

  private Map<String, FloatArray> run(LxmertInputs inputs, Map<String, String> fetch) {
    List<Tensor> fed = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      for (Map.Entry<String, TensorSpecInfo> e : binding.inputs.entrySet()) {
        Tensor t = tensor(e.getKey(), e.getValue(), inputs);
        fed.add(t);
        runner.feed(e.getValue().name(), t);
      }
      fetch.values().forEach(runner::fetch);
      Map<String, FloatArray> out = new LinkedHashMap<>();
      try (Result r = runner.run()) {
        int i = 0;
        for (String key : fetch.keySet()) {
          out.put(key, toFloatArray(key, r.get(i++)));
        }
      }
      return out;
    } finally {
      fed.forEach(Tensor::close);
    }
  }

  /** Builds the tensor for one signature input in the dtype the signature declares. */
  private Tensor tensor(String key, TensorSpecInfo spec, LxmertInputs in) {
    if (LxmertSignature.FLOAT_INPUTS.contains(key)) {
      FloatArray a = key.equals(LxmertSignature.VISUAL_FEATS) ? in.visualFeats() : in.visualPos();
      checkShape(key, spec, a.shape());
      Shape shape = Shape.of(a.shape());
      return switch (spec.dtype()) {
        case "DT_FLOAT" -> TFloat32.tensorOf(shape, t -> t.copyFrom(DataBuffers.of(a.data(), true, false)));
        case "DT_HALF" -> TFloat16.tensorOf(shape, t -> t.copyFrom(DataBuffers.of(a.data(), true, false)));
        case "DT_BFLOAT16" -> TBfloat16.tensorOf(shape, t -> t.copyFrom(DataBuffers.of(a.data(), true, false)));
        default -> {
          double[] d = new double[a.data().length];
          for (int i = 0; i < d.length; i++) {
            d[i] = a.data()[i];
          }
          yield TFloat64.tensorOf(shape, t -> t.copyFrom(DataBuffers.of(d, true, false)));
        }
      };
    }
    IntArray a = switch (key) {
      case LxmertSignature.INPUT_IDS -> in.inputIds();
      case LxmertSignature.ATTENTION_MASK -> in.attentionMask();
      case LxmertSignature.TOKEN_TYPE_IDS -> in.tokenTypeIds();
      default -> in.visualAttentionMaskOrOnes();
    };
    checkShape(key, spec, a.shape());
    Shape shape = Shape.of(a.shape());
    if (spec.dtype().equals("DT_INT64")) {
      long[] l = new long[a.data().length];
      for (int i = 0; i < l.length; i++) {
        l[i] = a.data()[i];
      }
      return TInt64.tensorOf(shape, t -> t.copyFrom(DataBuffers.of(l, true, false)));
    }
    return TInt32.tensorOf(shape, t -> t.copyFrom(DataBuffers.of(a.data(), true, false)));
  }

  private void checkShape(String key, TensorSpecInfo spec, long[] shape) {
    boolean ok = spec.dims() == null || spec.dims().size() == shape.length;
    for (int i = 0; ok && spec.dims() != null && i < shape.length; i++) {
      long d = spec.dims().get(i);
      ok = d < 0 || d == shape[i];
    }
    if (!ok) {
      throw new IllegalArgumentException(key + ": signature '" + signatureKey() + "' expects shape "
          + spec.shapeText() + ", found " + Arrays.toString(shape));
    }
  }

  private FloatArray toFloatArray(String key, Tensor t) {
    long[] shape = t.shape().asArray();
    float[] data = new float[Math.toIntExact(t.shape().size())];
    if (t instanceof FloatNdArray f) {
      f.copyTo(DataBuffers.of(data, false, false));
    } else if (t instanceof DoubleNdArray d) {
      double[] tmp = new double[data.length];
      d.copyTo(DataBuffers.of(tmp, false, false));
      for (int i = 0; i < data.length; i++) {
        data[i] = (float) tmp[i];
      }
    } else {
      throw new IllegalStateException(where() + " output '" + key + "': expected a float tensor, found "
          + t.dataType());
    }
    return new FloatArray(shape, data);
  }

  /** Entry {@code i} of a stacked [L, ...] tensor: a contiguous block in C order. */
  private FloatArray layer(FloatArray stacked, OutputSource src) {
    if (stacked.rank() < 1 || src.layer() >= stacked.dim(0)) {
      throw new IllegalStateException(where() + " output '" + src.key() + "': expected at least " + (src.layer() + 1)
          + " stacked entries, found shape " + Arrays.toString(stacked.shape()));
    }
    long[] shape = Arrays.copyOfRange(stacked.shape(), 1, stacked.rank());
    int block = stacked.data().length / (int) stacked.dim(0);
    float[] d = Arrays.copyOfRange(stacked.data(), src.layer() * block, (src.layer() + 1) * block);
    return new FloatArray(shape, d);
  }

  private String where() {
    return loaded.location().dir() + " signature '" + signatureKey() + "'";
  }

  /** Waits for calls in flight, then frees the SavedModel. Idempotent. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (!closed) {
        closed = true;
        loaded.close();
        LOG.debug("{}: closed", loaded.location());
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "SavedModelPredictor[" + loaded.location() + ", signature " + signatureKey() + ", ids " + idDtype() + "]";
  }

  /**
   * Options; defaults: tag {@code serve}, signature chosen as described on {@link SavedModelPredictor}, config
   * from {@code config.json} or the signature, TensorFlow's default threads, the full deny-list.
   */
  public static final class Builder {
    private final Path path;
    private String signature;
    private String[] tags = {"serve"};
    private LxmertConfig config;
    private ConfigProto configProto;
    private Integer intraOpThreads;
    private Integer interOpThreads;
    private Collection<String> allowedOps = List.of();
    private Bfloat16Support hardware;

    private Builder(Path path) {
      this.path = path;
    }

    /** The signature to run, e.g. {@code int64_serving}. */
    public Builder signature(String key) {
      this.signature = key;
      return this;
    }

    /** The MetaGraph's exact tag set (default {@code serve}). */
    public Builder tags(String... tags) {
      this.tags = tags.clone();
      return this;
    }

    /** The model's config, instead of {@code config.json} or one derived from the signature. */
    public Builder config(LxmertConfig config) {
      this.config = config;
      return this;
    }

    /** Session options; the thread settings below are applied on top of it. */
    public Builder configProto(ConfigProto configProto) {
      this.configProto = configProto;
      return this;
    }

    /**
     * Intra-op thread pool size. TensorFlow's pools are process-wide: the first session or SavedModel created
     * in the JVM fixes them.
     */
    public Builder intraOpThreads(int n) {
      this.intraOpThreads = n;
      return this;
    }

    /** Inter-op thread pool size (process-wide, like {@link #intraOpThreads}). */
    public Builder interOpThreads(int n) {
      this.interOpThreads = n;
      return this;
    }

    /** Op types on the {@link OpPolicy} deny-list to let through for this model. */
    public Builder allowOps(Collection<String> opTypes) {
      this.allowedOps = List.copyOf(opTypes);
      return this;
    }

    public Builder allowOps(String... opTypes) {
      return allowOps(List.of(opTypes));
    }

    /**
     * The bfloat16 hardware to check a SavedModel that computes in bfloat16 against (default
     * {@link Bfloat16Support#detect()}, this machine); tests pass one with other CPU flags or environment.
     */
    public Builder hardware(Bfloat16Support support) {
      this.hardware = support;
      return this;
    }

    /**
     * Checks and loads the SavedModel.
     *
     * @throws IllegalArgumentException if the directory, signature, inputs or config do not fit (naming what
     *     the SavedModel has), or TensorFlow cannot load it
     * @throws UnsafeSavedModelException if it holds ops on the deny-list that were not allowed
     * @throws UnsupportedOperationException if it computes in bfloat16 (e.g. {@code lxmert export --precision
     *     bf16}) and this CPU cannot run bfloat16 in hardware, with one line naming the SavedModel, a bfloat16 op
     *     and what is missing (as {@code --precision bf16} says it): TensorFlow would otherwise emulate bfloat16
     *     or, with oneDNN capped below it, die with SIGILL on the first call
     */
    public SavedModelPredictor open() throws IOException {
      ConfigProto cp = configProto;
      if (intraOpThreads != null || interOpThreads != null) {
        ConfigProto.Builder b = cp == null ? ConfigProto.newBuilder() : cp.toBuilder();
        if (intraOpThreads != null) {
          b.setIntraOpParallelismThreads(intraOpThreads);
        }
        if (interOpThreads != null) {
          b.setInterOpParallelismThreads(interOpThreads);
        }
        cp = b.build();
      }
      SavedModelLoader loader = SavedModelLoader.builder().tags(tags).configProto(cp).allowOps(allowedOps).build();
      SavedModelLocation loc = SavedModelLocation.resolve(path);
      MetaGraphDef mg = loader.check(loc);
      checkBfloat16(loc, mg);
      Map<String, SignatureInfo> sigs = new TreeMap<>();
      mg.getSignatureDefMap().forEach((k, v) -> sigs.put(k, SignatureInfo.of(k, v)));
      SignatureInfo sig = LxmertSignature.choose(sigs, signature, loc.dir());

      LxmertConfig cfg = config;
      String source = "given";
      if (cfg == null) {
        Optional<Path> json = loc.configJson();
        if (json.isPresent()) {
          cfg = LxmertConfig.fromJsonFile(json.get());
          source = json.get().toString();
        } else {
          LxmertSignature.Derived d = LxmertSignature.deriveConfig(sig, mg);
          cfg = d.config();
          source = "derived from the SavedModel's variable and signature shapes";
          LOG.warn("{}: no config.json found and none given; derived {} from the variable and signature '{}' shapes; "
              + "HF's defaults for {}{}", loc.dir(), d.derived(), sig.key(), d.defaulted(),
              d.defaulted().contains("max_position_embeddings") || d.defaulted().contains("type_vocab_size")
                  ? " (input validation uses max_position_embeddings and type_vocab_size: pass config(...) if they "
                  + "differ)" : "");
        }
      }
      LxmertSignature binding = LxmertSignature.bind(sig, cfg, loc.dir());
      binding.checkConfig(cfg, source, loc.dir());
      if (!binding.ignoredOutputs.isEmpty()) {
        LOG.debug("{}: signature '{}' outputs not mapped to LXMERT output names: {}", loc.dir(), sig.key(),
            binding.ignoredOutputs);
      }
      SavedModelLoader.Loaded loaded = loader.loadChecked(loc, mg);
      SavedModelPredictor p = new SavedModelPredictor(loaded, binding, cfg, source);
      LOG.info("{}: opened signature '{}' (ids {}), config {}, {} outputs available", loc, sig.key(), p.idDtype(),
          source, p.available.size());
      return p;
    }

    private void checkBfloat16(SavedModelLocation loc, MetaGraphDef mg) {
      List<OpInventory.OpUse> bf16 = OpInventory.of(mg).bfloat16Uses();
      if (bf16.isEmpty()) {
        return;
      }
      Bfloat16Support hw = hardware != null ? hardware : Bfloat16Support.detect();
      if (!hw.available()) {
        OpInventory.OpUse first = bf16.stream().filter(u -> u.opType().contains("MatMul")).findFirst()
            .orElse(bf16.get(0));
        throw new UnsupportedOperationException(loc.dir() + ": the SavedModel computes in bfloat16 (" + bf16.size()
            + " bfloat16 ops, e.g. " + first.opType() + " at " + first.where() + "); precision bf16: "
            + hw.missing());
      }
    }
  }
}
