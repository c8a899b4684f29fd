/**
 * A TensorFlow-Serving-compatible model server for LXMERT: TF Serving's gRPC services and REST API, dynamic
 * batching, model versions. Entry point: {@link io.github.tflxmert.serving.ModelServer}.
 */
package io.github.tflxmert.serving;
