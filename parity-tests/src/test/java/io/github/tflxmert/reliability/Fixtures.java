package io.github.tflxmert.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Paths of the committed fixtures (relative to the parity-tests module, which is the working directory of
 * surefire and of scripts/fuzz.sh and scripts/soak.sh) and byte-level helpers for making hostile copies of them.
 */
final class Fixtures {
  private Fixtures() {}

  static final ObjectMapper JSON = new ObjectMapper();

  /** The tiny reference directory (manifest.json, model/, model-pt/, cases/). */
  static Path tiny() {
    Path p = Path.of("fixtures", "tiny");
    if (!Files.isDirectory(p)) {
      throw new IllegalStateException(p.toAbsolutePath() + " not found: run from the parity-tests module directory");
    }
    return p;
  }

  static Path tinyModel() {
    return tiny().resolve("model");
  }

  /** Small HDF5 files written by python/make_hostile_files.py. */
  static Path hostile(String name) {
    return Path.of("fixtures", "hostile", name);
  }

  static byte[] read(Path p) {
    try {
      return Files.readAllBytes(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A safetensors file split into its JSON header and its data section. */
  record Safetensors(ObjectNode header, byte[] data) {
    static Safetensors parse(byte[] file) {
      long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      try {
        ObjectNode h = (ObjectNode) JSON.readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
        return new Safetensors(h, Arrays.copyOfRange(file, 8 + (int) n, file.length));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** The file bytes with the header length field set to the header's actual length. */
    byte[] toBytes() {
      return assemble(header.toString().getBytes(StandardCharsets.UTF_8), data);
    }

    static byte[] assemble(byte[] header, byte[] data) {
      ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
      b.putLong(header.length).put(header).put(data);
      return b.array();
    }
  }
}
