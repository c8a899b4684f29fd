package io.github.tflxmert.graph;

/**
 * Deliberate defects the graph can be built with, for parity mutation tests only: each is a bug a port of LXMERT
 * could plausibly have, and a parity suite that cannot tell it from the real model is not testing anything. Never
 * set by the library itself; reachable from {@code LoadOptions.withDefectsForTesting}.
 */
public enum GraphDefect {
  /**
   * Every attention splits its heads the wrong way round: [B,L,H] is reshaped to [B,L,d,h] instead of [B,L,h,d]
   * before the transpose, so "heads" mix slices of every real head (probabilities then come out [B,d,Q,K]).
   */
  TRANSPOSED_HEAD_SPLIT,
  /** The extended attention mask {@code (1 - m) * -10000} is not added to the scores: padding is attended to. */
  DROPPED_ATTENTION_MASK,
  /**
   * In every cross-modality layer the language stream continues with the cross-attention result of the visual
   * queries and the visual stream with that of the language queries (each stream then has the other's length;
   * the masks follow the streams so the graph still runs).
   */
  SWAPPED_CROSS_ATTENTION
}
