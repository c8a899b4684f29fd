/** Spark ML Transformer and batch job for LXMERT. */
package io.github.tflxmert.spark;
