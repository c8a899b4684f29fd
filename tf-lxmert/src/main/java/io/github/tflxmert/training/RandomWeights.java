package io.github.tflxmert.training;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.graph.ModelScope;
import io.github.tflxmert.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.tensorflow.Graph;

/** Freshly initialised weights, for training from scratch and for real-size tests. Stateless; thread-safe. */
public final class RandomWeights {
  private RandomWeights() {}

  /**
   * Writes freshly initialised weights for {@code config} to {@code file} (TF-format safetensors), as HF
   * initialises them: kernels and embeddings truncated normal (stddev initializer_range, cut at 2 stddev),
   * biases and LayerNorm betas 0, gammas 1. For training from scratch: pass the file to {@link LxmertTrainer#create}.
   */
  public static void write(LxmertConfig config, long seed, Path file) throws IOException {
    Map<String, FloatArray> w = new LinkedHashMap<>();
    Random rnd = new Random(seed);
    try (Graph g = new Graph()) {
      LxmertGraph m = new LxmertGraph(g, config, LxmertGraph.Kind.PRETRAINING);
      for (ModelScope.Weight weight : m.scope().weights().values()) {
        long n = 1;
        for (long d : weight.shape()) {
          n *= d;
        }
        float[] data = new float[Math.toIntExact(n)];
        String leaf = weight.name().substring(weight.name().lastIndexOf('/') + 1);
        if (leaf.equals("gamma")) {
          Arrays.fill(data, 1f);
        } else if (leaf.equals("kernel") || leaf.equals("weight") || leaf.equals("embeddings")) {
          for (int i = 0; i < data.length; i++) {
            double x;
            do {
              x = rnd.nextGaussian();
            } while (Math.abs(x) > 2);
            data[i] = (float) (x * config.initializerRange());
          }
        }
        w.put(weight.name(), new FloatArray(weight.shape().clone(), data));
      }
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    SafetensorsWriter.writeTf(file, w);
  }

}
