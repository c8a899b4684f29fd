package io.github.tflxmert.spark;

import java.io.Serializable;

/**
 * Everything a task needs to score a partition, fixed on the driver from the transformer's params and the input
 * schema. Immutable; thread-safe; serializable.
 *
 * @param model        which shared model to use
 * @param textIndex    field index of the text column, or -1 when {@code input_ids} is used
 * @param idsIndex     field index of the input_ids column, or -1
 * @param featsIndex   field index of the features column
 * @param featsKind    how the features column stores [N,F] floats
 * @param boxesIndex   field index of the boxes column
 * @param boxesKind    how the boxes column stores [N,4] floats
 * @param rowIdIndex   field index of the column that names rows in errors, or -1 (rows are then named by
 *                     partition and position)
 * @param rowIdName    that column's name
 * @param batchSize    rows per predict call (before splitting by region count)
 * @param topK         answers kept per row
 * @param handleInvalid "error", "keep" (model columns null) or "skip" (row dropped) for null or invalid inputs
 * @param answersOut   whether the answers column is written
 * @param matchOut     whether the match-probability column is written
 * @param pooledOut    whether the pooled_output column is written
 * @param columns      the input column names, by field index (for messages)
 */
record ScoringPlan(ModelSpec model, int textIndex, int idsIndex, int featsIndex, FloatColumn featsKind,
                   int boxesIndex, FloatColumn boxesKind, int rowIdIndex, String rowIdName, int batchSize, int topK,
                   String handleInvalid, boolean answersOut, boolean matchOut, boolean pooledOut,
                   java.util.List<String> columns)
    implements Serializable {

  /** The ways a column can hold a float matrix [N, W]. */
  enum FloatColumn {
    /** array&lt;float&gt; of N*W values, row-major. */
    FLAT_FLOATS,
    /** array&lt;double&gt; of N*W values (narrowed to float32). */
    FLAT_DOUBLES,
    /** array&lt;array&lt;float&gt;&gt;: N rows of W. */
    NESTED_FLOATS,
    /** binary: N*W little-endian float32 values (what numpy's {@code tobytes()} writes on x86 and ARM). */
    BINARY_FLOAT32
  }
}
