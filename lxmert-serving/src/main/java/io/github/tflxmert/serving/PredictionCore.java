package io.github.tflxmert.serving;

import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * What the gRPC and REST front ends share: find the model and version, check request tensors against the
 * signature (names, dtypes, ranks), run through the servable's batcher, and assemble outputs by signature key
 * (per-layer tuples stacked on axis 0). Every error a client can cause is a {@link ServingException} naming the
 * field, the expected and the found. Thread-safe; holds no native memory (servables are retained and released
 * around each call).
 */
public final class PredictionCore {
  private final ModelRegistry models;

  public PredictionCore(ModelRegistry models) {
    this.models = models;
  }

  public ModelRegistry models() {
    return models;
  }

  /**
   * One request, decoded. {@code version} empty = latest (or the version {@code versionLabel} names, when not
   * empty); {@code signature} empty = serving_default.
   */
  public record Request(String model, OptionalLong version, String versionLabel, String signature,
                        Map<String, NdValue> inputs, Collection<String> outputFilter) {}

  /** The answer: which version and signature ran, and the outputs by signature output key. */
  public record Response(String model, long version, String signature, Map<String, FloatArray> outputs) {}

  public Response predict(Request r) {
    ServedModel m = models.get(r.model());
    OptionalLong version = r.versionLabel() != null && !r.versionLabel().isEmpty()
        ? OptionalLong.of(m.versionForLabel(r.versionLabel())) : r.version();
    Servable s = m.acquire(version);
    try {
      ServingSignature sig = s.signature(r.signature());
      LxmertInputs in = toInputs(sig, r.inputs());
      List<String> keys = new ArrayList<>(r.outputFilter());
      List<String> names = sig.outputNames(keys);
      LxmertOutputs out = await(s.predict(in, OutputSelection.of(names)));
      Map<String, FloatArray> byKey = new LinkedHashMap<>();
      for (String k : keys.isEmpty() ? sig.defaultKeys() : keys) {
        List<String> entries = sig.outputs().get(k);
        byKey.put(k, sig.isTuple(k) ? stack(entries.stream().map(out::get).toList()) : out.get(entries.get(0)));
      }
      return new Response(m.name(), s.version(), sig.key(), byKey);
    } finally {
      s.release();
    }
  }

  static LxmertOutputs await(java.util.concurrent.CompletableFuture<LxmertOutputs> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServingException(ServingException.Code.UNAVAILABLE, "interrupted while waiting for the model");
    } catch (ExecutionException e) {
      Throwable c = e.getCause() instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : e.getCause();
      if (c instanceof ServingException se) {
        throw se;
      }
      if (c instanceof IllegalArgumentException) {
        throw ServingException.invalid(c.getMessage());
      }
      throw new ServingException(ServingException.Code.INTERNAL, "model run failed: " + c, c);
    }
  }

  /** Checks the request tensors against the signature and builds the model inputs. */
  public static LxmertInputs toInputs(ServingSignature sig, Map<String, NdValue> given) {
    for (String k : given.keySet()) {
      if (!sig.inputs().containsKey(k)) {
        throw ServingException.invalid("input '" + k + "': expected one of the inputs of signature " + sig.key()
            + " " + sig.inputs().keySet());
      }
    }
    for (String k : ServingSignature.REQUIRED_INPUTS) {
      if (!given.containsKey(k)) {
        throw ServingException.invalid("input '" + k + "': required by signature " + sig.key() + ", found nothing"
            + " (given: " + given.keySet() + ")");
      }
    }
    LxmertInputs.Builder b = LxmertInputs.builder();
    for (Map.Entry<String, NdValue> e : given.entrySet()) {
      String k = e.getKey();
      NdValue v = e.getValue();
      ServingSignature.Spec spec = sig.inputs().get(k);
      if (!spec.dtype().equals(v.dtype())) {
        throw ServingException.invalid("input '" + k + "': expected dtype " + spec.dtype() + " (signature "
            + sig.key() + "), found " + v.dtype());
      }
      if (spec.dims() != null && spec.dims().size() != v.rank()) {
        throw ServingException.invalid("input '" + k + "': expected rank " + spec.dims().size() + " (shape "
            + spec.dims() + "), found rank " + v.rank() + " (shape " + v.shapeText() + ")");
      }
      if (spec.dims() != null) {
        for (int i = 0; i < v.rank(); i++) {
          long d = spec.dims().get(i);
          if (d >= 0 && d != v.shape()[i]) {
            throw ServingException.invalid("input '" + k + "': expected dimension " + i + " to be " + d + " (shape "
                + spec.dims() + "), found shape " + v.shapeText());
          }
        }
      }
      switch (k) {
        case "input_ids" -> b.inputIds(ints(k, v));
        case "attention_mask" -> b.attentionMask(ints(k, v));
        case "token_type_ids" -> b.tokenTypeIds(ints(k, v));
        case "visual_attention_mask" -> b.visualAttentionMask(ints(k, v));
        case "visual_feats" -> b.visualFeats(floats(k, v));
        case "visual_pos" -> b.visualPos(floats(k, v));
        default -> throw ServingException.invalid("input '" + k + "': not an LXMERT input");
      }
    }
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      throw ServingException.invalid(e.getMessage());
    }
  }

  private static IntArray ints(String k, NdValue v) {
    if (!v.isInteger()) {
      throw ServingException.invalid("input '" + k + "': expected integers, found " + v.dtype());
    }
    int[] d = new int[v.ints().length];
    for (int i = 0; i < d.length; i++) {
      long x = v.ints()[i];
      if (x < Integer.MIN_VALUE || x > Integer.MAX_VALUE) {
        throw ServingException.invalid("input '" + k + "'[" + i + "]: expected a value within int32, found " + x);
      }
      d[i] = (int) x;
    }
    return new IntArray(v.shape(), d);
  }

  private static FloatArray floats(String k, NdValue v) {
    if (v.isInteger()) {
      throw ServingException.invalid("input '" + k + "': expected floats, found " + v.dtype());
    }
    return new FloatArray(v.shape(), v.floats());
  }

  /** [L] x [B,...] → [L,B,...], as the Python export stacks hidden states and attentions. */
  static FloatArray stack(List<FloatArray> parts) {
    long[] s0 = parts.get(0).shape();
    long[] shape = new long[s0.length + 1];
    shape[0] = parts.size();
    System.arraycopy(s0, 0, shape, 1, s0.length);
    int n = parts.get(0).data().length;
    float[] d = new float[n * parts.size()];
    for (int i = 0; i < parts.size(); i++) {
      System.arraycopy(parts.get(i).data(), 0, d, i * n, n);
    }
    return new FloatArray(shape, d);
  }
}
