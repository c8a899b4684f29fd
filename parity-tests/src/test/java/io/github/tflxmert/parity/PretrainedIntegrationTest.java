package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertModel;
import io.github.tflxmert.array.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * HF's slow integration test on the real checkpoint: with {@code LXMERT_BASE_DIR} pointing at a downloaded
 * {@code unc-nlp/lxmert-base-uncased} directory (config.json + tf_model.h5 or model.safetensors),
 * {@code language_output[0, :3, :3]} must equal HF's published slice within 1e-4. Without it the test is
 * reported as skipped (the weights are not in this repository and nothing is downloaded).
 */
class PretrainedIntegrationTest {
  @Test
  void languageOutputSliceMatchesHuggingFace() throws Exception {
    String dir = System.getenv("LXMERT_BASE_DIR");
    Assumptions.assumeTrue(dir != null && !dir.isBlank(),
        "LXMERT_BASE_DIR is not set: no real unc-nlp/lxmert-base-uncased checkpoint to check");
    Path inputs = References.root().resolve("integration");
    JsonNode expected = new ObjectMapper().readTree(inputs.resolve("expected.json").toFile());
    try (LxmertModel m = LxmertModel.fromPretrained(Path.of(dir))) {
      LxmertInputs in = LxmertInputs.builder().inputIds(Npy.readInt(inputs.resolve("input_ids.npy")))
          .visualFeats(Npy.readFloat(inputs.resolve("visual_feats.npy")))
          .visualPos(Npy.readFloat(inputs.resolve("visual_pos.npy"))).build();
      FloatArray lang = m.predict(in).languageOutput();
      assertArrayEquals(new long[] {1, 11, 768}, lang.shape());
      double atol = expected.get("atol").asDouble();
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          assertEquals(expected.get("language_output_slice").get(i).get(j).asDouble(), lang.get(0, i, j), atol,
              "language_output[0, " + i + ", " + j + "]");
        }
      }
    }
  }
}
