package io.github.tflxmert.spark;

import io.github.tflxmert.array.Scores;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.OutputNames;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Scores one partition: pulls {@code batchSize} rows at a time, tokenizes and validates each (so an error names
 * its row), groups the batch by region count (rows with equal N run as one [B,S,N] call, text padded to the
 * longest with attention_mask 0), and emits the input row followed by the model columns, in input order.
 * An empty partition never touches the model. Stateless apart from its plan; serializable; each task gets its
 * own copy, and every copy in a JVM shares that JVM's model ({@link SharedModels}).
 */
final class PartitionScorer implements MapPartitionsFunction<Row, Row> {
  private final ScoringPlan plan;
  /** The driver's Hadoop configuration (spark.hadoop.* and runtime settings: fs.*.impl, credentials), for a
   *  remote modelPath; read only by the task that loads the model. */
  private final Broadcast<SerializableConfiguration> hadoopConf;

  PartitionScorer(ScoringPlan plan, Broadcast<SerializableConfiguration> hadoopConf) {
    this.plan = plan;
    this.hadoopConf = hadoopConf;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    if (!input.hasNext()) {
      return input; // empty partition: no model load
    }
    LoadedModel model = SharedModels.get(plan.model(), () -> hadoopConf.value().value());
    TaskContext tc = TaskContext.get();
    int partition = tc == null ? 0 : tc.partitionId();
    return new Iterator<>() {
      private final ArrayDeque<Row> ready = new ArrayDeque<>();
      private long position;

      @Override
      public boolean hasNext() {
        while (ready.isEmpty() && input.hasNext()) {
          List<Row> batch = new ArrayList<>(plan.batchSize());
          while (batch.size() < plan.batchSize() && input.hasNext()) {
            batch.add(input.next());
          }
          ready.addAll(scoreBatch(model, batch, partition, position));
          position += batch.size();
        }
        return !ready.isEmpty();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return ready.poll();
      }
    };
  }

  /** One row's model inputs, or the reason it has none. */
  private record Prepared(int[] ids, float[] feats, float[] boxes, int regions, String problem) {}

  List<Row> scoreBatch(LoadedModel model, List<Row> rows, int partition, long firstPosition) {
    LxmertConfig cfg = model.config();
    Prepared[] prepared = new Prepared[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      String name = rowName(rows.get(i), partition, firstPosition + i);
      prepared[i] = prepare(model, rows.get(i), name);
      if (prepared[i].problem != null && plan.handleInvalid().equals("error")) {
        throw new IllegalArgumentException(prepared[i].problem + " (set handleInvalid to keep or skip to pass such "
            + "rows)");
      }
    }
    // Rows with equal region counts run together; the map keeps first-seen order.
    Map<Integer, List<Integer>> byRegions = new LinkedHashMap<>();
    for (int i = 0; i < prepared.length; i++) {
      if (prepared[i].problem == null) {
        byRegions.computeIfAbsent(prepared[i].regions, k -> new ArrayList<>()).add(i);
      }
    }
    Object[][] modelCols = new Object[rows.size()][];
    boolean qa = model.predictor.availableOutputs().contains(OutputNames.QUESTION_ANSWERING_SCORE);
    List<String> wanted = new ArrayList<>(List.of(OutputNames.CROSS_RELATIONSHIP_SCORE));
    if (qa && plan.answersOut()) {
      wanted.add(OutputNames.QUESTION_ANSWERING_SCORE);
    }
    if (plan.pooledOut()) {
      wanted.add(OutputNames.POOLED_OUTPUT);
    }
    OutputSelection selection = OutputSelection.of(wanted);
    for (List<Integer> group : byRegions.values()) {
      LxmertInputs in = batchInputs(cfg, prepared, group);
      LxmertOutputs out = model.predictor.predict(in, selection);
      for (int b = 0; b < group.size(); b++) {
        modelCols[group.get(b)] = modelColumns(model, out, b, qa);
      }
    }
    List<Row> result = new ArrayList<>(rows.size());
    int extra = (plan.answersOut() ? 1 : 0) + (plan.matchOut() ? 1 : 0) + (plan.pooledOut() ? 1 : 0);
    for (int i = 0; i < rows.size(); i++) {
      if (modelCols[i] == null && plan.handleInvalid().equals("skip")) {
        continue;
      }
      Row r = rows.get(i);
      Object[] values = new Object[r.length() + extra];
      for (int c = 0; c < r.length(); c++) {
        values[c] = r.get(c);
      }
      if (modelCols[i] != null) {
        System.arraycopy(modelCols[i], 0, values, r.length(), extra);
      }
      result.add(RowFactory.create(values));
    }
    return result;
  }

  private Object[] modelColumns(LoadedModel model, LxmertOutputs out, int b, boolean qa) {
    List<Object> cols = new ArrayList<>(3);
    if (plan.answersOut()) {
      if (qa) {
        float[] p = Scores.softmax(out.questionAnsweringScore().row(b));
        List<Row> top = new ArrayList<>();
        for (int idx : Scores.topK(p, plan.topK())) {
          top.add(RowFactory.create(model.answer(idx), idx, p[idx]));
        }
        cols.add(seq(top));
      } else {
        cols.add(null); // the model has no question-answering head
      }
    }
    if (plan.matchOut()) {
      cols.add(Scores.softmax(out.crossRelationshipScore().row(b))[1]);
    }
    if (plan.pooledOut()) {
      float[] v = out.pooledOutput().row(b);
      List<Float> boxed = new ArrayList<>(v.length);
      for (float x : v) {
        boxed.add(x);
      }
      cols.add(seq(boxed));
    }
    return cols.toArray();
  }

  private static <T> Seq<T> seq(List<T> list) {
    return CollectionConverters.asScala(list).toSeq();
  }

  /** [B,S] ids padded to the longest text with attention_mask 0; [B,N,F] features; [B,N,4] boxes. */
  private static LxmertInputs batchInputs(LxmertConfig cfg, Prepared[] prepared, List<Integer> group) {
    int b = group.size();
    int s = group.stream().mapToInt(i -> prepared[i].ids.length).max().orElseThrow();
    int n = prepared[group.get(0)].regions;
    int f = cfg.visualFeatDim();
    int[][] ids = new int[b][s];
    int[][] mask = new int[b][s];
    float[] feats = new float[b * n * f];
    float[] boxes = new float[b * n * 4];
    for (int k = 0; k < b; k++) {
      Prepared p = prepared[group.get(k)];
      Arrays.fill(ids[k], cfg.padTokenId());
      System.arraycopy(p.ids, 0, ids[k], 0, p.ids.length);
      Arrays.fill(mask[k], 0, p.ids.length, 1);
      System.arraycopy(p.feats, 0, feats, k * n * f, n * f);
      System.arraycopy(p.boxes, 0, boxes, k * n * 4, n * 4);
    }
    return LxmertInputs.builder().inputIds(ids).attentionMask(mask).tokenTypeIds(new int[b][s])
        .visualFeats(new FloatArray(new long[] {b, n, f}, feats))
        .visualPos(new FloatArray(new long[] {b, n, 4}, boxes)).build();
  }

  private Prepared prepare(LoadedModel model, Row row, String name) {
    LxmertConfig cfg = model.config();
    int[] ids;
    if (plan.textIndex() >= 0) {
      if (row.isNullAt(plan.textIndex())) {
        return invalid(name + ": text column " + plan.columns().get(plan.textIndex())
            + ": expected a string, found null");
      }
      ids = model.tokenizer.encode(row.getString(plan.textIndex())).inputIds();
    } else {
      if (row.isNullAt(plan.idsIndex())) {
        return invalid(name + ": input_ids column: expected an array of token ids, found null");
      }
      ids = intArray(row.getList(plan.idsIndex()));
      if (ids == null) {
        return invalid(name + ": input_ids column: expected token ids, found a null element");
      }
    }
    String featsName = plan.columns().get(plan.featsIndex());
    String boxesName = plan.columns().get(plan.boxesIndex());
    float[] feats;
    float[] boxes;
    try {
      feats = floats(row, plan.featsIndex(), plan.featsKind(), cfg.visualFeatDim(), name, featsName,
          "visual_feat_dim = " + cfg.visualFeatDim());
      boxes = floats(row, plan.boxesIndex(), plan.boxesKind(), 4, name, boxesName, "4 (x1, y1, x2, y2)");
    } catch (IllegalArgumentException e) {
      return invalid(e.getMessage());
    }
    if (feats == null || boxes == null) {
      return invalid(name + ": " + (feats == null ? featsName : boxesName) + ": expected region data, found null");
    }
    int n = feats.length / cfg.visualFeatDim();
    if (boxes.length != n * 4) {
      return invalid(name + ": " + boxesName + ": expected " + n + " boxes (" + n * 4 + " floats, one box per region of "
          + featsName + "), found " + boxes.length + " floats");
    }
    if (n == 0) {
      return invalid(name + ": " + featsName + ": expected at least 1 region, found 0");
    }
    try {
      LxmertInputs.builder().inputIds(new int[][] {ids})
          .visualFeats(new FloatArray(new long[] {1, n, cfg.visualFeatDim()}, feats))
          .visualPos(new FloatArray(new long[] {1, n, 4}, boxes)).build().validate(cfg);
    } catch (IllegalArgumentException e) {
      return invalid(name + ": " + e.getMessage());
    }
    return new Prepared(ids, feats, boxes, n, null);
  }

  private static Prepared invalid(String problem) {
    return new Prepared(null, null, null, 0, problem);
  }

  private String rowName(Row row, int partition, long position) {
    if (plan.rowIdIndex() >= 0) {
      return "row " + plan.rowIdName() + "=" + row.get(plan.rowIdIndex());
    }
    return "row " + position + " of partition " + partition;
  }

  private static int[] intArray(List<Object> list) {
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; i++) {
      Object o = list.get(i);
      if (o == null) {
        return null;
      }
      out[i] = ((Number) o).intValue();
    }
    return out;
  }

  /** The column's floats, flattened row-major, checked to be a whole number of rows of {@code width}; null if null. */
  private static float[] floats(Row row, int index, ScoringPlan.FloatColumn kind, int width, String rowName,
                                String column, String widthName) {
    if (row.isNullAt(index)) {
      return null;
    }
    float[] out;
    switch (kind) {
      case BINARY_FLOAT32 -> {
        byte[] bytes = (byte[]) row.get(index);
        if (bytes.length % 4 != 0) {
          throw new IllegalArgumentException(rowName + ": " + column + ": expected little-endian float32 bytes (a "
              + "multiple of 4), found " + bytes.length + " bytes");
        }
        out = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      }
      case FLAT_FLOATS, FLAT_DOUBLES -> {
        List<Object> l = row.getList(index);
        out = new float[l.size()];
        for (int i = 0; i < out.length; i++) {
          Object o = l.get(i);
          if (o == null) {
            throw new IllegalArgumentException(rowName + ": " + column + "[" + i + "]: expected a number, found null");
          }
          out[i] = ((Number) o).floatValue();
        }
      }
      case NESTED_FLOATS -> {
        List<Object> outer = row.getList(index);
        out = new float[outer.size() * width];
        for (int r = 0; r < outer.size(); r++) {
          Object o = outer.get(r);
          List<?> inner = o == null ? null : o instanceof List<?> li ? li
              : CollectionConverters.asJava((scala.collection.Seq<?>) o);
          if (inner == null || inner.size() != width) {
            throw new IllegalArgumentException(rowName + ": " + column + "[" + r + "]: expected " + width
                + " values (" + widthName + "), found " + (inner == null ? "null" : inner.size()));
          }
          for (int c = 0; c < width; c++) {
            Object v = inner.get(c);
            if (v == null) {
              throw new IllegalArgumentException(rowName + ": " + column + "[" + r + "][" + c + "]: expected a number, "
                  + "found null");
            }
            out[r * width + c] = ((Number) v).floatValue();
          }
        }
      }
      default -> throw new IllegalStateException(kind.toString());
    }
    if (out.length % width != 0) {
      throw new IllegalArgumentException(rowName + ": " + column + ": expected a multiple of " + widthName
          + " floats (regions × " + width + "), found " + out.length);
    }
    return out;
  }
}
