package io.github.tflxmert.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.Npy;
import io.github.tflxmert.array.NpyArray;
import io.github.tflxmert.training.PretrainingLabels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** The {@code training/} part of a reference directory, written by python/export_training_reference.py. */
final class TrainingReference {
  final Path dir;
  final JsonNode manifest;

  TrainingReference(Path referenceDir) throws IOException {
    dir = referenceDir.resolve("training");
    manifest = new ObjectMapper().readTree(dir.resolve("manifest.json").toFile());
  }

  String caseName() {
    return manifest.get("case").asText();
  }

  PretrainingLabels labels() throws IOException {
    PretrainingLabels.Builder b = PretrainingLabels.builder();
    Iterator<Map.Entry<String, JsonNode>> it = manifest.get("labels").fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      NpyArray a = Npy.read(dir.resolve(e.getValue().get("file").asText()));
      b.put(e.getKey(), a.isFloat() ? a.toFloatArray() : a.toIntArray());
    }
    return b.build();
  }

  Map<String, Double> lossTerms() {
    Map<String, Double> out = new LinkedHashMap<>();
    manifest.get("loss_terms").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asDouble()));
    return out;
  }

  double hfTotal() {
    return manifest.get("hf_total_loss").asDouble();
  }

  JsonNode step() {
    return manifest.get("step");
  }

  /** A float32 safetensors file as name → array. */
  static Map<String, FloatArray> readSafetensors(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    int n = (int) bb.getLong(0);
    JsonNode header = new ObjectMapper().readTree(new String(all, 8, n, StandardCharsets.UTF_8));
    Map<String, FloatArray> out = new LinkedHashMap<>();
    header.fields().forEachRemaining(e -> {
      if (e.getKey().equals("__metadata__")) {
        return;
      }
      JsonNode s = e.getValue().get("shape");
      long[] shape = new long[s.size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = s.get(i).asLong();
      }
      long start = e.getValue().get("data_offsets").get(0).asLong();
      long end = e.getValue().get("data_offsets").get(1).asLong();
      float[] data = new float[(int) ((end - start) / 4)];
      ByteBuffer.wrap(all, 8 + n + (int) start, (int) (end - start)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
          .get(data);
      out.put(e.getKey().endsWith(":0") ? e.getKey().substring(0, e.getKey().length() - 2) : e.getKey(),
          new FloatArray(shape, data));
    });
    return out;
  }
}
