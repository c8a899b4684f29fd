package io.github.tflxmert.training;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Labels for one batch, by the placeholder names of {@link PretrainingLosses}: {@code masked_lm_labels} int
 * [B,S], {@code matched_label} int [B], {@code ans} int [B], {@code obj_labels.obj} / {@code obj_labels.attr}
 * int [B,N], {@code obj_labels.feat} float [B,N,F], {@code obj_labels.<key>_conf} float [B,N]. Values are
 * {@link IntArray} or {@link FloatArray}. Immutable; thread-safe.
 */
public final class PretrainingLabels {
  private final Map<String, Object> values;

  private PretrainingLabels(Map<String, Object> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Labels for the QA term only: answers [B]. */
  public static PretrainingLabels answers(int... ans) {
    return builder().ans(new IntArray(new long[] {ans.length}, ans.clone())).build();
  }

  public Map<String, Object> values() {
    return values;
  }

  public Object get(String name) {
    return values.get(name);
  }

  /** Builder; {@link #put} takes any label by name. */
  public static final class Builder {
    private final Map<String, Object> values = new LinkedHashMap<>();

    public Builder put(String name, Object value) {
      if (!(value instanceof IntArray) && !(value instanceof FloatArray)) {
        throw new IllegalArgumentException("label " + name + ": expected IntArray or FloatArray, found "
            + (value == null ? "null" : value.getClass().getSimpleName()));
      }
      values.put(name, value);
      return this;
    }

    public Builder maskedLmLabels(IntArray v) {
      return put("masked_lm_labels", v);
    }

    public Builder matchedLabel(IntArray v) {
      return put("matched_label", v);
    }

    public Builder ans(IntArray v) {
      return put("ans", v);
    }

    /** {@code key} is obj, attr (labels IntArray [B,N]) or feat (FloatArray [B,N,F]); conf [B,N]. */
    public Builder objLabels(String key, Object labels, FloatArray conf) {
      put("obj_labels." + key, labels);
      return put("obj_labels." + key + "_conf", conf);
    }

    public PretrainingLabels build() {
      return new PretrainingLabels(values);
    }
  }
}
