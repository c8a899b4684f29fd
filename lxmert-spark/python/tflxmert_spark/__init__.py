"""PySpark API of lxmert-spark: the JVM LxmertTransformer wrapped as a pyspark.ml Transformer."""
from tflxmert_spark.transformer import JAVA_CLASS, LxmertTransformer

__all__ = ["JAVA_CLASS", "LxmertTransformer"]
