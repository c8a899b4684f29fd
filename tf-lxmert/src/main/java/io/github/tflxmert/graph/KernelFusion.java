package io.github.tflxmert.graph;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;

/**
 * Whether a Dense layer's MatMul, bias add and activation run as one TensorFlow kernel ({@code _FusedMatMul}, which
 * TensorFlow's oneDNN build runs as a oneDNN matmul with the bias and GELU applied to each output tile while it is
 * still in cache) instead of two or six kernels that each pass over the whole activation. Python's Keras Dense on
 * [B,L,H] inputs goes through tensordot (a reshape between MatMul and BiasAdd), which Grappler cannot fuse, so this
 * is something the Java graph does that {@code tf.function} does not.
 *
 * <p>Only the inference graph uses it (the fused ops have no gradient and are internal to TensorFlow, so training
 * and export graphs stay with the public ops). Results differ from the separate ops by rounding only: oneDNN's
 * fused matmul and LayerNorm sum in another order. {@code KernelFusionTest} checks each fused layer against the
 * Keras ops and {@code GraphParityTest} the whole model against Python, fused and unfused, at the same 1e-5 bar.
 * {@code bench/bench.sh} measures both ({@code graph}, {@code graph-unfused}; README, Benchmarks).
 * Thread-safe (immutable).
 */
public enum KernelFusion {
  /** MatMul, BiasAdd and the activation as separate ops, exactly as Keras builds them. */
  OFF,
  /** MatMul with its bias add fused; the activation separate. Every TensorFlow CPU build has this kernel. */
  BIAS_ADD,
  /**
   * MatMul, bias add and exact GELU as one kernel, and each LayerNorm as one oneDNN kernel ({@code _MklLayerNorm},
   * mean and variance in one pass instead of Keras' ten ops); needs TensorFlow's oneDNN ops (x86-64 builds).
   */
  ONEDNN;

  private static volatile KernelFusion best;

  /**
   * The most this TensorFlow runtime supports, found once per process by running a 1×1 fused MatMul with GELU: the
   * oneDNN ops can be switched off ({@code TF_ENABLE_ONEDNN_OPTS=0}) or absent (other platforms), and then only
   * the bias add is fused. {@code sessionConfig} is the configuration of the session the caller is about to create:
   * TensorFlow sizes its process-wide thread pools at the first session, so the probe uses the same one.
   */
  public static KernelFusion best(ConfigProto sessionConfig) {
    KernelFusion b = best;
    if (b == null) {
      b = probe(sessionConfig);
      best = b;
    }
    return b;
  }

  private static KernelFusion probe(ConfigProto sessionConfig) {
    try (Graph g = new Graph(); Session s = new Session(g, sessionConfig)) {
      Ops tf = Ops.create(g);
      Output<TFloat32> y = fusedMatMul(tf, tf.constant(new float[][] {{1f}}), tf.constant(new float[][] {{2f}}), false,
          tf.constant(new float[] {0.5f}), true);
      Output<TFloat32> ln = layerNorm(tf, tf.constant(new float[][] {{1f, 3f}}), tf.constant(new float[] {2f, 2f}),
          tf.constant(new float[] {0.5f, 0.5f}), 1e-12f);
      try (Result r = s.runner().fetch(y).fetch(ln).run()) {
        float v = ((TFloat32) r.get(0)).getFloat(0, 0);                  // gelu(2.5) = 2.484476
        TFloat32 n = (TFloat32) r.get(1);                                  // (-1, 1) * 2 + 0.5
        boolean ok = Math.abs(v - 2.48447f) < 1e-4f && Math.abs(n.getFloat(0, 0) + 1.5f) < 1e-4f
            && Math.abs(n.getFloat(0, 1) - 2.5f) < 1e-4f;
        return ok ? ONEDNN : BIAS_ADD;
      }
    } catch (RuntimeException e) {
      return BIAS_ADD;
    }
  }

  /** LayerNorm over the last axis of x [..., H] as oneDNN's {@code _MklLayerNorm}: (x - mean) / sqrt(var + eps) * gamma + beta. */
  static Output<TFloat32> layerNorm(Ops tf, Operand<TFloat32> x, Operand<TFloat32> gamma, Operand<TFloat32> beta,
                                    float eps) {
    return tf.scope().opBuilder("_MklLayerNorm", "LayerNorm").addInput(x.asOutput()).addInput(gamma.asOutput())
        .addInput(beta.asOutput()).setAttr("T", DataType.DT_FLOAT).setAttr("epsilon", eps).build().output(0);
  }

  /**
   * {@code x · kernel + bias}, then exact GELU when {@code gelu}, as one {@code _FusedMatMul}; x [M,in], kernel
   * [in,out] (or [out,in] used transposed when {@code transposeKernel}), bias [out].
   */
  static Output<TFloat32> fusedMatMul(Ops tf, Operand<TFloat32> x, Operand<TFloat32> kernel, boolean transposeKernel,
                                      Operand<TFloat32> bias, boolean gelu) {
    String[] ops = gelu ? new String[] {"BiasAdd", "GeluExact"} : new String[] {"BiasAdd"};
    return tf.scope().opBuilder("_FusedMatMul", "MatMul")
        .addInput(x.asOutput()).addInput(kernel.asOutput()).addInputList(new Output<?>[] {bias.asOutput()})
        .setAttr("T", DataType.DT_FLOAT).setAttr("transpose_a", false).setAttr("transpose_b", transposeKernel)
        .setAttr("num_args", 1L).setAttr("fused_ops", ops).setAttr("epsilon", 0.0001f)
        .setAttr("leakyrelu_alpha", 0.2f).build().output(0);
  }
}
