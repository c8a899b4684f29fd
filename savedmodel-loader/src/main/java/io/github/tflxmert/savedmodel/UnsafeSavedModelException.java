package io.github.tflxmert.savedmodel;

import java.nio.file.Path;
import java.util.List;

/**
 * A SavedModel was refused before loading because its graph or function library contains ops on
 * {@link OpPolicy}'s deny-list that the caller did not allow. The message names every such op and where it
 * is; {@link #findings()} has them as data.
 */
public final class UnsafeSavedModelException extends IllegalArgumentException {
  private final transient List<OpInventory.Finding> findings;

  public UnsafeSavedModelException(Path dir, List<OpInventory.Finding> findings) {
    super(message(dir, findings));
    this.findings = List.copyOf(findings);
  }

  public List<OpInventory.Finding> findings() {
    return findings;
  }

  /** The refused op types, without repetition, in order of first appearance. */
  public List<String> opTypes() {
    return findings.stream().map(OpInventory.Finding::opType).distinct().toList();
  }

  private static String message(Path dir, List<OpInventory.Finding> findings) {
    StringBuilder sb = new StringBuilder(dir + ": refusing to load a SavedModel with " + findings.size()
        + " unsafe op(s) " + findings.stream().map(OpInventory.Finding::opType).distinct().toList()
        + " (they touch files, processes or the network; allow an op type explicitly only if you trust this model):");
    for (OpInventory.Finding f : findings) {
      sb.append("\n  ").append(f.describe());
    }
    return sb.toString();
  }
}
