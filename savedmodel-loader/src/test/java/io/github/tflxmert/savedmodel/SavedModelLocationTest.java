package io.github.tflxmert.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Directory layouts only; the {@code saved_model.pb} files here are empty and never parsed. */
class SavedModelLocationTest {
  @TempDir
  Path tmp;

  Path model(Path dir) throws Exception {
    Files.createDirectories(dir);
    Files.write(dir.resolve("saved_model.pb"), new byte[0]);
    return dir;
  }

  @Test
  void savedModelDirectoryIsItself() throws Exception {
    Path d = model(tmp.resolve("m"));
    assertEquals(new SavedModelLocation(d, d, OptionalLong.empty()), SavedModelLocation.resolve(d));
    Files.delete(d.resolve("saved_model.pb"));
    Files.writeString(d.resolve("saved_model.pbtxt"), "");
    assertEquals(d, SavedModelLocation.resolve(d).dir());
  }

  @Test
  void servingBaseDirectoryPicksTheHighestNumericVersionHoldingASavedModel() throws Exception {
    Path base = tmp.resolve("base");
    model(base.resolve("1"));
    model(base.resolve("9"));
    model(base.resolve("10"));
    Files.createDirectories(base.resolve("11"));          // no saved_model.pb: ignored
    model(base.resolve("99-tmp"));                        // not numeric: ignored
    SavedModelLocation loc = SavedModelLocation.resolve(base);
    assertEquals(base.resolve("10"), loc.dir());
    assertEquals(10, loc.version().getAsLong());
  }

  @Test
  void huggingFaceLayoutAndItsConfigJson() throws Exception {
    Path hf = tmp.resolve("hf");
    model(hf.resolve("saved_model").resolve("1"));
    Files.writeString(hf.resolve("config.json"), "{}");
    SavedModelLocation loc = SavedModelLocation.resolve(hf);
    assertEquals(hf.resolve("saved_model").resolve("1"), loc.dir());
    assertEquals(Optional.of(hf.resolve("config.json")), loc.configJson());
    assertEquals(Optional.of(hf.resolve("config.json")), SavedModelLocation.resolve(loc.dir()).configJson());
    Files.writeString(loc.dir().resolve("config.json"), "{}");
    assertEquals(Optional.of(loc.dir().resolve("config.json")), loc.configJson());
  }

  @Test
  void configJsonOfAnUnrelatedGrandparentIsNotPickedUp() throws Exception {
    Path base = tmp.resolve("models").resolve("lxmert");
    model(base.resolve("3"));
    Files.writeString(tmp.resolve("models").resolve("config.json"), "{}");
    assertEquals(Optional.empty(), SavedModelLocation.resolve(base).configJson());
    Files.writeString(base.resolve("config.json"), "{}");
    assertEquals(Optional.of(base.resolve("config.json")), SavedModelLocation.resolve(base).configJson());
  }

  @Test
  void clearErrorsForOtherPaths() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SavedModelLocation.resolve(tmp.resolve("nope")));
    assertTrue(e.getMessage().contains("no such file or directory"), e.getMessage());

    Path file = Files.writeString(tmp.resolve("saved_model.pb"), "");
    e = assertThrows(IllegalArgumentException.class, () -> SavedModelLocation.resolve(file));
    assertTrue(e.getMessage().contains("expected a directory"), e.getMessage());

    Path other = tmp.resolve("other");
    Files.createDirectories(other.resolve("2"));
    Files.createDirectories(other.resolve("variables"));
    Files.writeString(other.resolve("model.h5"), "");
    e = assertThrows(IllegalArgumentException.class, () -> SavedModelLocation.resolve(other));
    assertTrue(e.getMessage().contains("neither a SavedModel directory (no saved_model.pb or saved_model.pbtxt) nor a "
        + "TF Serving base directory"), e.getMessage());
    assertTrue(e.getMessage().contains("numbered subdirectories without a SavedModel: [2]"), e.getMessage());
    assertTrue(e.getMessage().contains("[2/, model.h5, variables/]"), e.getMessage());

    Path empty = Files.createDirectories(tmp.resolve("empty"));
    e = assertThrows(IllegalArgumentException.class, () -> SavedModelLocation.resolve(empty));
    assertTrue(e.getMessage().endsWith("found an empty directory"), e.getMessage());
  }

  @Test
  void corruptProtobufIsNamed() throws Exception {
    Path d = tmp.resolve("corrupt");
    Files.createDirectories(d);
    Files.write(d.resolve("saved_model.pb"), new byte[] {(byte) 0xff, (byte) 0xff, 0x01});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SavedModelLocation.resolve(d).readProto());
    assertTrue(e.getMessage().startsWith(d.resolve("saved_model.pb") + ": not a SavedModel protobuf"), e.getMessage());
  }

  /**
   * Protobuf parses most byte strings without complaint (unknown fields are skipped), so random bytes and plain
   * text used to "inspect" as a SavedModel with no MetaGraphs; they must be refused, naming the file.
   */
  @Test
  void randomBytesAndPlainTextAreNotASavedModel() throws Exception {
    java.util.Random rnd = new java.util.Random(17);
    List<byte[]> inputs = new ArrayList<>();
    inputs.add("this is plain text, not a model\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    inputs.add(new byte[0]);
    for (int i = 0; i < 200; i++) {
      byte[] b = new byte[1 + rnd.nextInt(64)];
      rnd.nextBytes(b);
      inputs.add(b);
    }
    int parsedBefore = 0;
    for (int i = 0; i < inputs.size(); i++) {
      Path d = Files.createDirectories(tmp.resolve("garbage" + i));
      Files.write(d.resolve("saved_model.pb"), inputs.get(i));
      try {
        org.tensorflow.proto.SavedModel.parseFrom(inputs.get(i));
        parsedBefore++;
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        // rejected by protobuf itself
      }
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> SavedModelLocation.resolve(d).readProto(), "input " + i);
      assertTrue(e.getMessage().startsWith(d.resolve("saved_model.pb") + ": not a SavedModel"), e.getMessage());
    }
    assertTrue(parsedBefore >= 2, "the inputs include ones protobuf accepts: " + parsedBefore);
    Path txt = Files.createDirectories(tmp.resolve("pbtxt"));
    Files.writeString(txt.resolve("saved_model.pbtxt"), "");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SavedModelLocation.resolve(txt).readProto());
    assertTrue(e.getMessage().startsWith(txt.resolve("saved_model.pbtxt") + ": not a SavedModel: expected at least "
        + "one MetaGraphDef, found none"), e.getMessage());
  }
}
