"""PySpark wrapper of the JVM transformer io.github.tflxmert.spark.LxmertTransformer (lxmert-spark-app.jar).

The wrapper holds no model and runs no TensorFlow in Python: every param is passed by name to the Java object,
and transform() runs the JVM transformer (the model is loaded once per executor JVM, rows batched inside each
partition, exactly as from Java or Scala). The jar must be on the session's classpath, e.g.
SparkSession.builder.config("spark.jars", "lxmert-spark/target/lxmert-spark-app.jar").

Params mirror the Java class one for one (names, docs, defaults); tests check that the defaults agree.
Not thread-safe while params are being set (as every Spark ML stage).
"""
from pyspark import keyword_only
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable
from pyspark.ml.wrapper import JavaTransformer

JAVA_CLASS = "io.github.tflxmert.spark.LxmertTransformer"

# name -> (type converter, default, doc); the defaults and docs are the Java class's.
_PARAMS = {
    "modelPath": (TypeConverters.toString, None,
                  "HF model directory or SavedModel (base) directory; a local path or any Hadoop-compatible URI"),
    "answersPath": (TypeConverters.toString, "",
                    "answer labels (JSON list, JSON object label->index, or lines); empty: the model directory's "
                    "answers.json when present, else #index"),
    "textCol": (TypeConverters.toString, "text", "string column with the question; empty to use inputIdsCol"),
    "inputIdsCol": (TypeConverters.toString, "input_ids", "array<int> token-id column, used when textCol is empty"),
    "featuresCol": (TypeConverters.toString, "features",
                    "region features [N,F]: array<float> (N*F), array<array<float>> or binary float32 little-endian"),
    "boxesCol": (TypeConverters.toString, "boxes", "normalised boxes [N,4] (x1,y1,x2,y2), encoded like featuresCol"),
    "idCol": (TypeConverters.toString, "question_id", "column that names rows in error messages (ignored when absent)"),
    "answersCol": (TypeConverters.toString, "answers",
                   "output: array<struct<answer,index,score>>, top-k answers; empty to omit"),
    "matchCol": (TypeConverters.toString, "match_probability",
                 "output: float image-text match probability; empty to omit"),
    "pooledOutputCol": (TypeConverters.toString, "",
                        "output: array<float> pooled_output embedding; empty (default) to omit"),
    "batchSize": (TypeConverters.toInt, 32, "rows per predict call inside a partition (>= 1)"),
    "topK": (TypeConverters.toInt, 5, "answers kept per row (>= 1)"),
    "intraOpThreads": (TypeConverters.toInt, 0,
                       "TensorFlow intra-op threads per call; 0: TensorFlow's default (all cores of the executor host)"),
    "handleInvalid": (TypeConverters.toString, "error",
                      "null or invalid inputs: error (fail naming the row), keep (null outputs) or skip (drop the row)"),
    "checkModelOnDriver": (TypeConverters.toBoolean, True,
                           "check on the driver, before any task, that modelPath exists and holds a model (false "
                           "when only the executors can read it)"),
}


class _Reader(JavaMLReader):
    """Loads params saved by LxmertTransformer.write() (from Python, Java or Scala) into the Python wrapper."""

    @classmethod
    def _java_loader_class(cls, clazz):
        return JAVA_CLASS

    def load(self, path):
        java_obj = self._jread.load(path)
        py = self._clazz()
        py._java_obj = java_obj
        py._resetUid(java_obj.uid())
        py._transfer_params_from_java()
        return py


class LxmertTransformer(JavaTransformer, JavaMLReadable, JavaMLWritable):
    """LXMERT as a Spark ML Transformer: appends the top-k answers, the image-text match probability and
    optionally pooled_output. See the Java class io.github.tflxmert.spark.LxmertTransformer for the params.

    >>> t = LxmertTransformer(modelPath="/models/lxmert", batchSize=32, topK=5)  # doctest: +SKIP
    >>> t.transform(spark.read.parquet("questions.parquet")).select("question_id", "answers")  # doctest: +SKIP
    """

    modelPath = Param(Params._dummy(), "modelPath", _PARAMS["modelPath"][2], _PARAMS["modelPath"][0])
    answersPath = Param(Params._dummy(), "answersPath", _PARAMS["answersPath"][2], _PARAMS["answersPath"][0])
    textCol = Param(Params._dummy(), "textCol", _PARAMS["textCol"][2], _PARAMS["textCol"][0])
    inputIdsCol = Param(Params._dummy(), "inputIdsCol", _PARAMS["inputIdsCol"][2], _PARAMS["inputIdsCol"][0])
    featuresCol = Param(Params._dummy(), "featuresCol", _PARAMS["featuresCol"][2], _PARAMS["featuresCol"][0])
    boxesCol = Param(Params._dummy(), "boxesCol", _PARAMS["boxesCol"][2], _PARAMS["boxesCol"][0])
    idCol = Param(Params._dummy(), "idCol", _PARAMS["idCol"][2], _PARAMS["idCol"][0])
    answersCol = Param(Params._dummy(), "answersCol", _PARAMS["answersCol"][2], _PARAMS["answersCol"][0])
    matchCol = Param(Params._dummy(), "matchCol", _PARAMS["matchCol"][2], _PARAMS["matchCol"][0])
    pooledOutputCol = Param(Params._dummy(), "pooledOutputCol", _PARAMS["pooledOutputCol"][2],
                            _PARAMS["pooledOutputCol"][0])
    batchSize = Param(Params._dummy(), "batchSize", _PARAMS["batchSize"][2], _PARAMS["batchSize"][0])
    topK = Param(Params._dummy(), "topK", _PARAMS["topK"][2], _PARAMS["topK"][0])
    intraOpThreads = Param(Params._dummy(), "intraOpThreads", _PARAMS["intraOpThreads"][2],
                           _PARAMS["intraOpThreads"][0])
    handleInvalid = Param(Params._dummy(), "handleInvalid", _PARAMS["handleInvalid"][2], _PARAMS["handleInvalid"][0])
    checkModelOnDriver = Param(Params._dummy(), "checkModelOnDriver", _PARAMS["checkModelOnDriver"][2],
                               _PARAMS["checkModelOnDriver"][0])

    @keyword_only
    def __init__(self, *, modelPath=None, answersPath="", textCol="text", inputIdsCol="input_ids",
                 featuresCol="features", boxesCol="boxes", idCol="question_id", answersCol="answers",
                 matchCol="match_probability", pooledOutputCol="", batchSize=32, topK=5, intraOpThreads=0,
                 handleInvalid="error", checkModelOnDriver=True):
        super().__init__()
        self._java_obj = self._new_java_obj(JAVA_CLASS, self.uid)
        self._setDefault(**{name: spec[1] for name, spec in _PARAMS.items() if spec[1] is not None})
        self._set(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, modelPath=None, answersPath="", textCol="text", inputIdsCol="input_ids",
                  featuresCol="features", boxesCol="boxes", idCol="question_id", answersCol="answers",
                  matchCol="match_probability", pooledOutputCol="", batchSize=32, topK=5, intraOpThreads=0,
                  handleInvalid="error", checkModelOnDriver=True):
        """Sets the params given by keyword (only those)."""
        return self._set(**self._input_kwargs)

    @classmethod
    def read(cls):
        return _Reader(cls)

    # Setters and getters, named as in Java.
    def setModelPath(self, value): return self._set(modelPath=value)
    def getModelPath(self): return self.getOrDefault(self.modelPath)
    def setAnswersPath(self, value): return self._set(answersPath=value)
    def getAnswersPath(self): return self.getOrDefault(self.answersPath)
    def setTextCol(self, value): return self._set(textCol=value)
    def getTextCol(self): return self.getOrDefault(self.textCol)
    def setInputIdsCol(self, value): return self._set(inputIdsCol=value)
    def getInputIdsCol(self): return self.getOrDefault(self.inputIdsCol)
    def setFeaturesCol(self, value): return self._set(featuresCol=value)
    def getFeaturesCol(self): return self.getOrDefault(self.featuresCol)
    def setBoxesCol(self, value): return self._set(boxesCol=value)
    def getBoxesCol(self): return self.getOrDefault(self.boxesCol)
    def setIdCol(self, value): return self._set(idCol=value)
    def getIdCol(self): return self.getOrDefault(self.idCol)
    def setAnswersCol(self, value): return self._set(answersCol=value)
    def getAnswersCol(self): return self.getOrDefault(self.answersCol)
    def setMatchCol(self, value): return self._set(matchCol=value)
    def getMatchCol(self): return self.getOrDefault(self.matchCol)
    def setPooledOutputCol(self, value): return self._set(pooledOutputCol=value)
    def getPooledOutputCol(self): return self.getOrDefault(self.pooledOutputCol)
    def setBatchSize(self, value): return self._set(batchSize=value)
    def getBatchSize(self): return self.getOrDefault(self.batchSize)
    def setTopK(self, value): return self._set(topK=value)
    def getTopK(self): return self.getOrDefault(self.topK)
    def setIntraOpThreads(self, value): return self._set(intraOpThreads=value)
    def getIntraOpThreads(self): return self.getOrDefault(self.intraOpThreads)
    def setHandleInvalid(self, value): return self._set(handleInvalid=value)
    def getHandleInvalid(self): return self.getOrDefault(self.handleInvalid)
    def setCheckModelOnDriver(self, value): return self._set(checkModelOnDriver=value)
    def getCheckModelOnDriver(self): return self.getOrDefault(self.checkModelOnDriver)
