package io.github.tflxmert.weights;

/**
 * The one name table between Hugging Face TF variable names (as the graph's variables are named) and PyTorch
 * state-dict keys, following {@code convert_tf_weight_name_to_pt_weight_name}: {@code _._} becomes {@code /}
 * (list index levels), {@code /} becomes {@code .}, and the last component {@code kernel} becomes
 * {@code weight} (transposed: TF [in, out], PyTorch [out, in]), {@code embeddings} and {@code gamma} become
 * {@code weight}, {@code beta} becomes {@code bias}. Stateless; thread-safe.
 */
public final class WeightNames {
  private WeightNames() {}

  /** A PyTorch key and whether the TF tensor is its transpose. */
  public record PtName(String key, boolean transposed) {}

  /**
   * The PyTorch key of a TF name (without model prefix and {@code :0}).
   *
   * @param stripBasePrefix true for a bare {@code LxmertModel} state dict (no key starts with {@code lxmert}):
   *                        then the leading {@code lxmert.} is dropped
   */
  public static PtName toPytorch(String tfName, boolean stripBasePrefix) {
    String[] parts = tfName.replace("_._", "/").split("/+");
    String leaf = parts[parts.length - 1];
    boolean transpose = false;
    switch (leaf) {
      case "kernel" -> {
        parts[parts.length - 1] = "weight";
        transpose = true;
      }
      case "embeddings", "gamma" -> parts[parts.length - 1] = "weight";
      case "beta" -> parts[parts.length - 1] = "bias";
      default -> { }
    }
    String key = String.join(".", parts);
    if (stripBasePrefix && key.startsWith("lxmert.")) {
      key = key.substring("lxmert.".length());
    }
    return new PtName(key, transpose);
  }

  /**
   * The canonical TF name of a stored TF variable name: the first path component (the Keras model name, e.g.
   * {@code tf_lxmert_for_pre_training} or {@code tf_lxmert_model_1}) and a trailing {@code :0} removed.
   */
  public static String stripModelPrefix(String stored) {
    String n = stored.endsWith(":0") ? stored.substring(0, stored.length() - 2) : stored;
    int slash = n.indexOf('/');
    return slash < 0 ? n : n.substring(slash + 1);
  }

  /**
   * For TF-format safetensors keys, which HF writes without the model prefix but with {@code :0}: drops the
   * {@code :0}, and a leading model-name component if one is present (names that start with a known top-level
   * layer are kept whole).
   */
  public static String stripModelPrefixIfPresent(String stored) {
    String n = stored.endsWith(":0") ? stored.substring(0, stored.length() - 2) : stored;
    String first = n.contains("/") ? n.substring(0, n.indexOf('/')) : n;
    return TOP_LEVEL.contains(first) ? n : stripModelPrefix(stored);
  }

  /** Top-level Keras layers of TFLxmertForPreTraining. */
  public static final java.util.Set<String> TOP_LEVEL = java.util.Set.of("lxmert", "cls", "obj_predict_head",
      "answer_head");

  /** Old PyTorch checkpoints name LayerNorm parameters gamma/beta; HF renames them to weight/bias. */
  public static String normalisePytorchKey(String key) {
    if (key.endsWith(".gamma")) {
      return key.substring(0, key.length() - 6) + ".weight";
    }
    if (key.endsWith(".beta")) {
      return key.substring(0, key.length() - 5) + ".bias";
    }
    return key;
  }
}
