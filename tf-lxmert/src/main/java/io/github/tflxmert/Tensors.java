package io.github.tflxmert;

import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.graph.LxmertGraph;
import java.util.List;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Copies between the library's Java arrays and TensorFlow tensors. The caller closes the tensors it gets.
 * Stateless; thread-safe.
 */
public final class Tensors {
  private Tensors() {}

  /** A new int32 tensor holding a copy of {@code a}; the caller closes it. */
  public static TInt32 ints(IntArray a) {
    return TInt32.tensorOf(Shape.of(a.shape()), t -> t.asRawTensor().data().asInts().write(a.data()));
  }

  /** A new float32 tensor holding a copy of {@code a}; the caller closes it. */
  public static TFloat32 floats(FloatArray a) {
    return TFloat32.tensorOf(Shape.of(a.shape()), t -> t.asRawTensor().data().asFloats().write(a.data()));
  }

  /** The tensor's values copied into Java memory (the tensor stays owned by the caller). */
  public static FloatArray copy(TFloat32 t) {
    float[] data = new float[Math.toIntExact(t.shape().size())];
    t.asRawTensor().data().asFloats().read(data);
    return new FloatArray(t.shape().asArray(), data);
  }

  /**
   * Feeds {@code inputs} to the six input placeholders of an int32-id graph, as new tensors added to
   * {@code created} (the caller closes them after the run).
   */
  public static Session.Runner feedInputs(Session.Runner r, LxmertGraph g, LxmertInputs inputs, List<Tensor> created) {
    r.feed(g.inputIds(), track(created, ints(inputs.inputIds())));
    r.feed(g.attentionMask(), track(created, ints(inputs.attentionMask())));
    r.feed(g.tokenTypeIds(), track(created, ints(inputs.tokenTypeIds())));
    r.feed(g.visualAttentionMask(), track(created, ints(inputs.visualAttentionMaskOrOnes())));
    r.feed(g.visualFeats(), track(created, floats(inputs.visualFeats())));
    r.feed(g.visualPos(), track(created, floats(inputs.visualPos())));
    return r;
  }

  private static <T extends Tensor> T track(List<Tensor> created, T t) {
    created.add(t);
    return t;
  }
}
