package io.github.tflxmert.parity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.weights.PytorchWeightSource;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tiny model's weights as {@code pytorch_model.bin}, written by real {@code torch.save} (HF's
 * {@code save_pretrained} for the zip format, {@code _use_new_zipfile_serialization=False} for the legacy one;
 * {@code python/make_torch_fixtures.py}) from {@code fixtures/tiny/model-pt/model.safetensors}: every tensor
 * bit-equal to the safetensors file's, and the model loaded from the directory (which now picks
 * {@code pytorch_model.bin}) matches the Python reference on every case and output, bit for bit the same numbers
 * as the model loaded from the PyTorch-format safetensors. Uses the committed {@code fixtures/tiny}, not
 * {@code lxmert.reference.dir}: the torch fixtures are made from the committed weights.
 */
class PytorchCheckpointParityTest {
  static final Path TINY = Path.of("fixtures", "tiny");
  static final Path TORCH = Path.of("fixtures", "torch");

  /** The raw float32 bits of one tensor (NaN payloads and -0 included). */
  static int[] bits(WeightSource src, String name) throws IOException {
    WeightSource.Entry e = src.entries().get(name);
    ByteBuffer b = ByteBuffer.allocate((int) e.elements() * 4).order(ByteOrder.LITTLE_ENDIAN);
    src.read(name, b);
    int[] out = new int[(int) e.elements()];
    b.flip().asIntBuffer().get(out);
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"tiny-zip", "tiny-legacy"})
  void everyTensorIsBitEqualToTheSafetensorsFile(String dir) throws IOException {
    Path bin = TORCH.resolve(dir).resolve("pytorch_model.bin");
    try (WeightSource pt = WeightSources.open(bin);
         WeightSource st = WeightSources.open(TINY.resolve("model-pt/model.safetensors"))) {
      assertTrue(pt instanceof PytorchWeightSource p && p.format().equals(dir.equals("tiny-zip") ? "zip" : "legacy"));
      assertEquals(WeightSource.Layout.PYTORCH, pt.layout());
      // The .bin also holds the decoder, which shares the word embeddings' storage (safetensors drops it).
      TreeSet<String> expectedNames = new TreeSet<>(st.entries().keySet());
      expectedNames.add("cls.predictions.decoder.weight");
      assertEquals(expectedNames, new TreeSet<>(pt.entries().keySet()));
      for (WeightSource.Entry e : st.entries().values()) {
        WeightSource.Entry p = pt.entries().get(e.name());
        assertArrayEquals(e.shape(), p.shape(), e.name());
        assertEquals("float32", p.dtype(), e.name());
        assertArrayEquals(bits(st, e.name()), bits(pt, e.name()), e.name());
      }
      assertArrayEquals(bits(st, "lxmert.embeddings.word_embeddings.weight"),
          bits(pt, "cls.predictions.decoder.weight"));
      assertEquals(Map.of("cls.predictions.decoder.weight", "lxmert.embeddings.word_embeddings.weight"),
          pt.sharedWith(), "the tied decoder is the word embeddings' storage, viewed the same way");
      assertEquals(Map.of(), st.sharedWith());
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"tiny-zip directory", "tiny-legacy withWeightFile"})
  void modelFromPytorchModelBinMatchesPython(String how) throws IOException {
    Path dir = TORCH.resolve(how.split(" ")[0]);
    List<String> failures = new ArrayList<>();
    try (LxmertReference ref = LxmertReference.open(TINY);
         LxmertForPreTraining pt = how.endsWith("directory") ? LxmertForPreTraining.fromPretrained(dir)
             : LxmertForPreTraining.fromPretrained(TINY.resolve("model-pt"),
                 LoadOptions.defaults().withWeightFile(dir.resolve("pytorch_model.bin")));
         LxmertForPreTraining st = LxmertForPreTraining.fromPretrained(TINY.resolve("model-pt"))) {
      assertTrue(pt.loadPlan().unexpected().isEmpty(), "unexpected tensors: " + pt.loadPlan().unexpected());
      for (LxmertReference.Case c : ref.cases()) {
        Map<String, FloatArray> expected = c.outputs();
        LxmertOutputs out = pt.predict(c.inputs(), OutputSelection.of(expected.keySet()));
        ParityReport report = c.compare("tiny/" + c.name() + " via " + how, out.asMap(), References.options(), null);
        System.out.println(report.table());
        if (!report.passed()) {
          failures.add(report.summary());
        }
        // Same weights, same graph, same machine: the same numbers as from model.safetensors.
        LxmertOutputs same = st.predict(c.inputs(), OutputSelection.of(expected.keySet()));
        for (String n : expected.keySet()) {
          assertEquals(same.asMap().get(n), out.asMap().get(n), c.name() + " " + n);
        }
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }
}
