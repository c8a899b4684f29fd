package io.github.tflxmert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json's id2label as answer labels, and the HF class names {@link ModelClass} knows; no TensorFlow. */
class QaLabelsAndModelClassTest {
  @TempDir Path tmp;

  Path config(String fields) throws IOException {
    Path f = tmp.resolve("config.json");
    Files.writeString(f, "{\"num_qa_labels\": 3" + fields + "}");
    return f;
  }

  @Test
  void id2labelWithOneLabelPerAnswerIsTheLabels() throws IOException {
    assertEquals(List.of("yes", "no", "2"),
        LxmertForQuestionAnswering.labelsIn(config(", \"id2label\": {\"1\": \"no\", \"0\": \"yes\", \"2\": \"2\"}")));
  }

  @Test
  void noId2labelOrHfsDefaultTwoLabelsIsNoLabels() throws IOException {
    assertEquals(List.of(), LxmertForQuestionAnswering.labelsIn(config("")));
    assertEquals(List.of(), LxmertForQuestionAnswering.labelsIn(
        config(", \"id2label\": {\"0\": \"LABEL_0\", \"1\": \"LABEL_1\"}")));
  }

  @Test
  void malformedId2labelNamesTheFileAndField() throws IOException {
    for (String bad : List.of("{\"0\": \"a\", \"1\": \"b\", \"x\": \"c\"}", "{\"0\": \"a\", \"1\": \"b\", \"3\": \"c\"}",
        "{\"0\": \"a\", \"1\": \"b\", \"2\": 7}", "[\"a\", \"b\", \"c\"]")) {
      Path f = config(", \"id2label\": " + bad);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> LxmertForQuestionAnswering.labelsIn(f), bad);
      assertTrue(e.getMessage().startsWith(f + ": config field id2label"), e.getMessage());
    }
  }

  @Test
  void hfClassNamesInBothSpellings() {
    assertEquals(Optional.of(ModelClass.QUESTION_ANSWERING), ModelClass.ofHfName("LxmertForQuestionAnswering"));
    assertEquals(Optional.of(ModelClass.PRETRAINING), ModelClass.ofHfName("TFLxmertForPreTraining"));
    assertEquals(Optional.of(ModelClass.LXMERT_MODEL), ModelClass.ofHfName("TFLxmertModel"));
    assertEquals(Optional.empty(), ModelClass.ofHfName("BertModel"));
  }
}
