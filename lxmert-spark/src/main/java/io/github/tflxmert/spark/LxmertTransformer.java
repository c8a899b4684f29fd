package io.github.tflxmert.spark;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * LXMERT as a Spark ML {@link Transformer}: appends, per row, the top-k answers (softmax of
 * {@code question_answering_score}), the image–text match probability (softmax of
 * {@code cross_relationship_score}, index 1) and optionally {@code pooled_output} as an embedding.
 *
 * <p>Inputs: a text column (string; tokenized with the model's vocab.txt as HF's LxmertTokenizer does) or an
 * {@code input_ids} column (array of int/long), a features column ([N, F] floats as {@code array<float>} of N*F,
 * {@code array<array<float>>} or {@code binary} little-endian float32) and a boxes column ([N, 4] normalised
 * x1, y1, x2, y2, same encodings). N may differ from row to row.
 *
 * <p>The model is loaded once per executor JVM on first use and shared by all tasks of that JVM
 * ({@link SharedModels}); rows are scored {@code batchSize} at a time inside each partition. Null or invalid
 * inputs fail the task naming the row ({@code handleInvalid=error}), give null model columns ({@code keep}) or
 * drop the row ({@code skip}). {@link #transform} checks the schema and the model path on the driver, before any
 * task runs.
 *
 * <p>Use from PySpark through {@code pyspark.ml.wrapper.JavaTransformer} with
 * {@code _java_obj = _new_java_obj("io.github.tflxmert.spark.LxmertTransformer", uid)}. Params are saved and loaded
 * with {@link #write()} / {@link #load(String)} (the model files are referenced by path, not copied).
 *
 * <p>Not thread-safe while its params are being set (as every Spark ML stage); {@code transform} may be called
 * from several threads once configured. Holds no native resources itself.
 */
public final class LxmertTransformer extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;
  private static final List<String> HANDLE_INVALID = List.of("error", "keep", "skip");

  private final String uid;
  private final Param<String> modelPath;
  private final Param<String> answersPath;
  private final Param<String> textCol;
  private final Param<String> inputIdsCol;
  private final Param<String> featuresCol;
  private final Param<String> boxesCol;
  private final Param<String> idCol;
  private final Param<String> answersCol;
  private final Param<String> matchCol;
  private final Param<String> pooledOutputCol;
  private final IntParam batchSize;
  private final IntParam topK;
  private final IntParam intraOpThreads;
  private final Param<String> handleInvalid;
  private final BooleanParam checkModelOnDriver;

  public LxmertTransformer() {
    this(Identifiable$.MODULE$.randomUID("lxmert"));
  }

  public LxmertTransformer(String uid) {
    this.uid = uid;
    modelPath = new Param<>(this, "modelPath", "HF model directory or SavedModel (base) directory; a local path or "
        + "any Hadoop-compatible URI");
    answersPath = new Param<>(this, "answersPath", "answer labels (JSON list, JSON object label->index, or lines); "
        + "empty: the model directory's answers.json when present, else #index");
    textCol = new Param<>(this, "textCol", "string column with the question; empty to use inputIdsCol");
    inputIdsCol = new Param<>(this, "inputIdsCol", "array<int> token-id column, used when textCol is empty");
    featuresCol = new Param<>(this, "featuresCol", "region features [N,F]: array<float> (N*F), array<array<float>> "
        + "or binary float32 little-endian");
    boxesCol = new Param<>(this, "boxesCol", "normalised boxes [N,4] (x1,y1,x2,y2), encoded like featuresCol");
    idCol = new Param<>(this, "idCol", "column that names rows in error messages (ignored when absent)");
    answersCol = new Param<>(this, "answersCol", "output: array<struct<answer,index,score>>, top-k answers; empty "
        + "to omit");
    matchCol = new Param<>(this, "matchCol", "output: float image-text match probability; empty to omit");
    pooledOutputCol = new Param<>(this, "pooledOutputCol", "output: array<float> pooled_output embedding; empty "
        + "(default) to omit");
    batchSize = new IntParam(this, "batchSize", "rows per predict call inside a partition (>= 1)",
        ParamValidators.gtEq(1));
    topK = new IntParam(this, "topK", "answers kept per row (>= 1)", ParamValidators.gtEq(1));
    intraOpThreads = new IntParam(this, "intraOpThreads", "TensorFlow intra-op threads per call; 0: TensorFlow's "
        + "default (all cores of the executor host)", ParamValidators.gtEq(0));
    handleInvalid = new Param<>(this, "handleInvalid", "null or invalid inputs: error (fail naming the row), keep "
        + "(null outputs) or skip (drop the row)", ParamValidators.inArray(HANDLE_INVALID.toArray()));
    checkModelOnDriver = new BooleanParam(this, "checkModelOnDriver", "check on the driver, before any task, that "
        + "modelPath exists and holds a model (false when only the executors can read it)");
    setDefault(answersPath, "");
    setDefault(textCol, "text");
    setDefault(inputIdsCol, "input_ids");
    setDefault(featuresCol, "features");
    setDefault(boxesCol, "boxes");
    setDefault(idCol, "question_id");
    setDefault(answersCol, "answers");
    setDefault(matchCol, "match_probability");
    setDefault(pooledOutputCol, "");
    setDefault(batchSize, 32);
    setDefault(topK, 5);
    setDefault(intraOpThreads, 0);
    setDefault(handleInvalid, "error");
    setDefault(checkModelOnDriver, true);
  }

  @Override
  public String uid() {
    return uid;
  }

  // Param accessors (Spark finds params through public no-argument methods returning Param).
  public Param<String> modelPath() { return modelPath; }
  public Param<String> answersPath() { return answersPath; }
  public Param<String> textCol() { return textCol; }
  public Param<String> inputIdsCol() { return inputIdsCol; }
  public Param<String> featuresCol() { return featuresCol; }
  public Param<String> boxesCol() { return boxesCol; }
  public Param<String> idCol() { return idCol; }
  public Param<String> answersCol() { return answersCol; }
  public Param<String> matchCol() { return matchCol; }
  public Param<String> pooledOutputCol() { return pooledOutputCol; }
  public IntParam batchSize() { return batchSize; }
  public IntParam topK() { return topK; }
  public IntParam intraOpThreads() { return intraOpThreads; }
  public Param<String> handleInvalid() { return handleInvalid; }
  public BooleanParam checkModelOnDriver() { return checkModelOnDriver; }

  public LxmertTransformer setModelPath(String v) { set(modelPath, v); return this; }
  public LxmertTransformer setAnswersPath(String v) { set(answersPath, v); return this; }
  public LxmertTransformer setTextCol(String v) { set(textCol, v); return this; }
  public LxmertTransformer setInputIdsCol(String v) { set(inputIdsCol, v); return this; }
  public LxmertTransformer setFeaturesCol(String v) { set(featuresCol, v); return this; }
  public LxmertTransformer setBoxesCol(String v) { set(boxesCol, v); return this; }
  public LxmertTransformer setIdCol(String v) { set(idCol, v); return this; }
  public LxmertTransformer setAnswersCol(String v) { set(answersCol, v); return this; }
  public LxmertTransformer setMatchCol(String v) { set(matchCol, v); return this; }
  public LxmertTransformer setPooledOutputCol(String v) { set(pooledOutputCol, v); return this; }
  public LxmertTransformer setBatchSize(int v) { set(batchSize, v); return this; }
  public LxmertTransformer setTopK(int v) { set(topK, v); return this; }
  public LxmertTransformer setIntraOpThreads(int v) { set(intraOpThreads, v); return this; }
  public LxmertTransformer setHandleInvalid(String v) { set(handleInvalid, v); return this; }
  public LxmertTransformer setCheckModelOnDriver(boolean v) { set(checkModelOnDriver, v); return this; }

  private String str(Param<String> p) {
    return getOrDefault(p);
  }

  private int num(IntParam p) {
    return (Integer) getOrDefault(p);
  }

  /** The spec of the shared model this transformer uses. */
  public ModelSpec modelSpec() {
    if (!isDefined(modelPath)) {
      throw new IllegalArgumentException("modelPath: required (an HF model directory or SavedModel), found none set");
    }
    return new ModelSpec(str(modelPath), str(answersPath), num(intraOpThreads));
  }

  @Override
  public StructType transformSchema(StructType schema) {
    plan(schema);
    StructType out = schema;
    for (StructField f : outputFields()) {
      if (Arrays.asList(schema.fieldNames()).contains(f.name())) {
        throw new IllegalArgumentException("output column " + f.name() + ": expected a name not in the input, found "
            + "it already in " + schema.simpleString());
      }
      out = out.add(f);
    }
    return out;
  }

  private List<StructField> outputFields() {
    StructType answer = new StructType().add("answer", DataTypes.StringType).add("index", DataTypes.IntegerType)
        .add("score", DataTypes.FloatType);
    java.util.ArrayList<StructField> fs = new java.util.ArrayList<>();
    if (!str(answersCol).isEmpty()) {
      fs.add(DataTypes.createStructField(str(answersCol), DataTypes.createArrayType(answer, false), true));
    }
    if (!str(matchCol).isEmpty()) {
      fs.add(DataTypes.createStructField(str(matchCol), DataTypes.FloatType, true));
    }
    if (!str(pooledOutputCol).isEmpty()) {
      fs.add(DataTypes.createStructField(str(pooledOutputCol), DataTypes.createArrayType(DataTypes.FloatType, false),
          true));
    }
    return fs;
  }

  /** Checks the schema against the params and fixes what the tasks will read. */
  ScoringPlan plan(StructType schema) {
    List<String> names = Arrays.asList(schema.fieldNames());
    int text = -1;
    int ids = -1;
    if (!str(textCol).isEmpty() && names.contains(str(textCol))) {
      text = schema.fieldIndex(str(textCol));
      expectType(schema, str(textCol), "textCol", schema.fields()[text].dataType() == DataTypes.StringType, "string");
    } else if (!str(inputIdsCol).isEmpty() && names.contains(str(inputIdsCol))) {
      ids = schema.fieldIndex(str(inputIdsCol));
      DataType t = schema.fields()[ids].dataType();
      boolean ok = t instanceof ArrayType a && (a.elementType() == DataTypes.IntegerType
          || a.elementType() == DataTypes.LongType || a.elementType() == DataTypes.ShortType);
      expectType(schema, str(inputIdsCol), "inputIdsCol", ok, "array<int>");
    } else {
      throw new IllegalArgumentException("textCol/inputIdsCol: expected a column " + quoted(str(textCol)) + " (string) "
          + "or " + quoted(str(inputIdsCol)) + " (array<int>), found columns " + names);
    }
    int feats = column(schema, str(featuresCol), "featuresCol");
    int boxes = column(schema, str(boxesCol), "boxesCol");
    int id = !str(idCol).isEmpty() && names.contains(str(idCol)) ? schema.fieldIndex(str(idCol)) : -1;
    if (str(answersCol).isEmpty() && str(matchCol).isEmpty() && str(pooledOutputCol).isEmpty()) {
      throw new IllegalArgumentException("answersCol/matchCol/pooledOutputCol: expected at least one output column, "
          + "found all three empty");
    }
    return new ScoringPlan(modelSpec(), text, ids, feats, floatColumn(schema, feats, "featuresCol"), boxes,
        floatColumn(schema, boxes, "boxesCol"), id, str(idCol), num(batchSize), num(topK), str(handleInvalid),
        !str(answersCol).isEmpty(), !str(matchCol).isEmpty(), !str(pooledOutputCol).isEmpty(), List.copyOf(names));
  }

  private static String quoted(String s) {
    return "\"" + s + "\"";
  }

  private static int column(StructType schema, String name, String param) {
    if (name.isEmpty() || !Arrays.asList(schema.fieldNames()).contains(name)) {
      throw new IllegalArgumentException(param + ": expected a column " + quoted(name) + ", found columns "
          + Arrays.asList(schema.fieldNames()));
    }
    return schema.fieldIndex(name);
  }

  private static void expectType(StructType schema, String name, String param, boolean ok, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(param + " " + quoted(name) + ": expected " + expected + ", found "
          + schema.apply(name).dataType().simpleString());
    }
  }

  private static ScoringPlan.FloatColumn floatColumn(StructType schema, int index, String param) {
    StructField f = schema.fields()[index];
    DataType t = f.dataType();
    if (t == DataTypes.BinaryType) {
      return ScoringPlan.FloatColumn.BINARY_FLOAT32;
    }
    if (t instanceof ArrayType a) {
      if (a.elementType() == DataTypes.FloatType) {
        return ScoringPlan.FloatColumn.FLAT_FLOATS;
      }
      if (a.elementType() == DataTypes.DoubleType) {
        return ScoringPlan.FloatColumn.FLAT_DOUBLES;
      }
      if (a.elementType() instanceof ArrayType inner && (inner.elementType() == DataTypes.FloatType
          || inner.elementType() == DataTypes.DoubleType)) {
        return ScoringPlan.FloatColumn.NESTED_FLOATS;
      }
    }
    throw new IllegalArgumentException(param + " " + quoted(f.name()) + ": expected array<float>, array<array<float>> "
        + "or binary (float32), found " + t.simpleString());
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType outSchema = transformSchema(dataset.schema());
    ScoringPlan plan = plan(dataset.schema());
    if ((Boolean) getOrDefault(checkModelOnDriver)) {
      checkModel(dataset.sparkSession(), plan.model());
    }
    // The executors resolve a remote modelPath with the driver's Hadoop configuration (fs.<scheme>.impl,
    // spark.hadoop.* and what was set at runtime), not a bare new Configuration().
    var conf = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext())
        .broadcast(new SerializableConfiguration(dataset.sparkSession().sparkContext().hadoopConfiguration()));
    return dataset.toDF().mapPartitions(new PartitionScorer(plan, conf), Encoders.row(outSchema));
  }

  /**
   * Fails on the driver when the model path is missing or holds no model (reads only directory listings, local or
   * through the Hadoop FileSystem of the path's scheme).
   */
  private static void checkModel(SparkSession spark, ModelSpec spec) {
    String p = spec.modelPath();
    if (ModelFiles.isLocal(p)) {
      ModelFiles.kind(ModelFiles.localize(p, spark.sparkContext().hadoopConfiguration()), p);
      return;
    }
    ModelFiles.checkRemote(p, spark.sparkContext().hadoopConfiguration());
  }

  @Override
  public LxmertTransformer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  public static MLReader<LxmertTransformer> read() {
    return new DefaultParamsReader<>();
  }

  public static LxmertTransformer load(String path) {
    return read().load(path);
  }
}
