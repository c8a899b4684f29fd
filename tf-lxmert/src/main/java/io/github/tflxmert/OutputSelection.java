package io.github.tflxmert;

import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.config.LxmertConfig;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which outputs a {@code predict} call should compute and return. Only the selected tensors are fetched, and
 * TensorFlow runs only the part of the graph they need (e.g. no LM head when {@code prediction_logits} is not
 * selected). Immutable; thread-safe.
 */
public final class OutputSelection {
  private final Set<String> names;

  private OutputSelection(Collection<String> names) {
    if (names.isEmpty()) {
      throw new IllegalArgumentException("output selection: expected at least one output name, found none");
    }
    this.names = Collections.unmodifiableSet(new LinkedHashSet<>(names));
  }

  public static OutputSelection of(String... names) {
    return new OutputSelection(List.of(names));
  }

  public static OutputSelection of(Collection<String> names) {
    return new OutputSelection(names);
  }

  /** What HF's {@code TFLxmertForPreTraining} returns by default: the three head outputs. */
  public static OutputSelection heads(LxmertConfig c) {
    return new OutputSelection(OutputNames.heads(c));
  }

  /** Everything the model can produce: heads, base outputs, every hidden state and attention, obj head. */
  public static OutputSelection all(LxmertConfig c) {
    return new OutputSelection(OutputNames.all(c));
  }

  public OutputSelection plus(Collection<String> more) {
    Set<String> s = new LinkedHashSet<>(names);
    s.addAll(more);
    return new OutputSelection(s);
  }

  public Set<String> names() {
    return names;
  }

  public boolean contains(String name) {
    return names.contains(name);
  }

  @Override
  public String toString() {
    return "OutputSelection" + names;
  }
}
