package io.github.tflxmert;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.array.FloatArray;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.array.Npy;
import io.github.tflxmert.weights.WeightNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoreTypesTest {
  @TempDir Path tmp;

  @Test
  void configDefaultsAreLxmertBase() {
    LxmertConfig c = LxmertConfig.fromJsonString("{\"model_type\": \"lxmert\", \"unknown_field\": 3}", "t");
    assertEquals(768, c.hiddenSize());
    assertEquals(64, c.headSize());
    assertEquals(9, c.lLayers());
    assertEquals(1e-12f, c.layerNormEps());
    assertEquals(9500, c.numQaLabels());
  }

  @Test
  void configErrorsNameTheField() {
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString("{\"hidden_size\": 30, \"num_attention_heads\": 4}", "cfg"))
        .getMessage().contains("hidden_size"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString("{\"hidden_act\": \"mish\"}", "cfg")).getMessage().contains("hidden_act"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString("{\"vocab_size\": \"big\"}", "cfg")).getMessage()
        .contains("vocab_size: expected an integer"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString("{\"l_layers\": -1}", "cfg")).getMessage().contains("l_layers"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LxmertConfig.fromJsonString("not json", "cfg.json")).getMessage().startsWith("cfg.json"));
  }

  @Test
  void pytorchNamesFollowHfRule() {
    assertEquals(new WeightNames.PtName("lxmert.encoder.x_layers.0.lang_self_att.self.query.weight", true),
        WeightNames.toPytorch("lxmert/encoder/x_layers_._0/lang_self_att/self/query/kernel", false));
    assertEquals(new WeightNames.PtName("answer_head.logit_fc.2.weight", false),
        WeightNames.toPytorch("answer_head/logit_fc_._2/gamma", false));
    assertEquals(new WeightNames.PtName("obj_predict_head.decoder_dict.feat.bias", false),
        WeightNames.toPytorch("obj_predict_head/decoder_dict.feat/bias", false));
    assertEquals(new WeightNames.PtName("embeddings.position_embeddings.weight", false),
        WeightNames.toPytorch("lxmert/embeddings/position_embeddings/embeddings", true));
    assertEquals("lxmert/pooler/dense/kernel",
        WeightNames.stripModelPrefix("tf_lxmert_model_1/lxmert/pooler/dense/kernel:0"));
    assertEquals("encoder.layer.0.output.LayerNorm.weight",
        WeightNames.normalisePytorchKey("encoder.layer.0.output.LayerNorm.gamma"));
  }

  @Test
  void npyRoundTripAndRejections() throws IOException {
    FloatArray a = new FloatArray(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
    Path f = tmp.resolve("a.npy");
    Npy.write(f, a);
    assertEquals(a, Npy.readFloat(f));
    IntArray i = IntArray.of(new int[][] {{1, -2}, {3, 4}});
    Npy.write(f, i);
    assertEquals(i, Npy.readInt(f));
    byte[] bytes = Files.readAllBytes(f);
    byte[] fortran = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1)
        .replace("'fortran_order': False", "'fortran_order': True ").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Npy.parse(fortran, "x.npy")).getMessage()
        .contains("Fortran"));
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Npy.parse(truncated, "x.npy")).getMessage()
        .contains("data bytes"));
    assertThrows(IllegalArgumentException.class, () -> Npy.parse("hello world!".getBytes(), "x.npy"));
  }

  @Test
  void inputsValidationNamesFieldExpectedAndFound() {
    LxmertConfig c = LxmertConfig.defaults().with(Map.of("vocab_size", 10, "visual_feat_dim", 3));
    FloatArray feats = new FloatArray(new long[] {1, 2, 3}, new float[6]);
    FloatArray boxes = new FloatArray(new long[] {1, 2, 4}, new float[8]);
    LxmertInputs bad = LxmertInputs.builder().inputIds(new int[][] {{1, 10}}).visualFeats(feats).visualPos(boxes)
        .build();
    String m = assertThrows(IllegalArgumentException.class, () -> bad.validate(c)).getMessage();
    assertTrue(m.contains("input_ids[0, 1]") && m.contains("10") && m.contains("vocab_size"), m);
    String shape = assertThrows(IllegalArgumentException.class, () -> LxmertInputs.builder()
        .inputIds(new int[][] {{1, 2}}).attentionMask(new int[][] {{1, 1, 1}}).visualFeats(feats).visualPos(boxes)
        .build()).getMessage();
    assertTrue(shape.startsWith("attention_mask"), shape);
  }
}
