package io.github.tflxmert.config;

import io.github.tflxmert.array.Shapes;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The fields of Hugging Face's {@code LxmertConfig} that shape or drive the TensorFlow model. Read from an HF
 * {@code config.json}: missing fields take HF's defaults, unknown fields are ignored, inconsistent values fail
 * with a message naming the field. Immutable and thread-safe.
 *
 * <p>Shapes the fields imply (B batch, S text length, N regions): word embeddings [vocabSize, hiddenSize],
 * positions [maxPositionEmbeddings, hiddenSize], token types [typeVocabSize, hiddenSize], visual features
 * [B, N, visualFeatDim], boxes [B, N, visualPosDim].
 */
public record LxmertConfig(
    int vocabSize,               // word-embedding rows, LM logits width
    int hiddenSize,              // H; divisible by numAttentionHeads
    int numAttentionHeads,       // h; head size d = H / h
    int numQaLabels,             // answer_head output width
    int numObjectLabels,         // obj_predict_head decoder_dict.obj width
    int numAttrLabels,           // obj_predict_head decoder_dict.attr width
    int intermediateSize,        // FFN inner width I
    String hiddenAct,            // "gelu" (exact erf), "gelu_new", "relu", "tanh", ...
    float hiddenDropoutProb,
    float attentionProbsDropoutProb,
    int maxPositionEmbeddings,   // longest text S
    int typeVocabSize,           // token types are in [0, typeVocabSize)
    float initializerRange,
    float layerNormEps,          // epsilon of every LayerNorm
    int lLayers,                 // language layers
    int xLayers,                 // cross-modality layers
    int rLayers,                 // object-relationship (vision) layers
    int visualFeatDim,           // F, width of visual_feats
    int visualPosDim,            // width of visual_pos (HF's serving signature pins 4)
    float visualLossNormalizer,
    boolean taskMatched,
    boolean taskMaskLm,
    boolean taskObjPredict,      // creates obj_predict_head
    boolean taskQa,              // creates answer_head
    boolean visualObjLoss,
    boolean visualAttrLoss,
    boolean visualFeatLoss,
    int padTokenId) {

  /** Activations the graph builder implements, in a fixed order (messages list them; Set.of's order varies by run). */
  public static final Set<String> ACTIVATIONS = java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(
      java.util.List.of("gelu", "gelu_new", "relu", "tanh", "sigmoid", "silu", "swish")));

  /**
   * Parses config.json with Jackson's streaming parser into a node tree ({@link #parse}): setting up an
   * ObjectMapper is slow on a cold JVM, and it sat on the critical path of every model load (the graph is built
   * from the config). The mapper is made only for writing ({@link Mapper}).
   */
  private static final JsonFactory FACTORY = new JsonFactory();

  /** The ObjectMapper, made on first use (writing and {@link #with}; loading never needs it). */
  private static final class Mapper {
    static final ObjectMapper JSON = new ObjectMapper();
  }

  public LxmertConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("num_attention_heads", numAttentionHeads);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException("config field hidden_size: expected a multiple of num_attention_heads ("
          + numAttentionHeads + "), found " + hiddenSize);
    }
    positive("num_qa_labels", numQaLabels);
    positive("num_object_labels", numObjectLabels);
    positive("num_attr_labels", numAttrLabels);
    positive("intermediate_size", intermediateSize);
    if (hiddenAct == null || !ACTIVATIONS.contains(hiddenAct)) {
      throw new IllegalArgumentException("config field hidden_act: expected one of " + ACTIVATIONS + ", found "
          + (hiddenAct == null ? "null" : "\"" + hiddenAct + "\""));
    }
    probability("hidden_dropout_prob", hiddenDropoutProb);
    probability("attention_probs_dropout_prob", attentionProbsDropoutProb);
    positive("max_position_embeddings", maxPositionEmbeddings);
    positive("type_vocab_size", typeVocabSize);
    if (!(layerNormEps > 0) || Float.isInfinite(layerNormEps)) {
      throw new IllegalArgumentException("config field layer_norm_eps: expected a positive number, found " + layerNormEps);
    }
    nonNegative("l_layers", lLayers);
    nonNegative("x_layers", xLayers);
    nonNegative("r_layers", rLayers);
    if (lLayers + xLayers == 0) {
      throw new IllegalArgumentException("config fields l_layers + x_layers: expected at least one language layer, found 0");
    }
    if (rLayers + xLayers == 0) {
      throw new IllegalArgumentException("config fields r_layers + x_layers: expected at least one vision layer, found 0");
    }
    positive("visual_feat_dim", visualFeatDim);
    positive("visual_pos_dim", visualPosDim);
  }

  /** Head size d = H / h. */
  public int headSize() {
    return hiddenSize / numAttentionHeads;
  }

  /** HF's defaults: the {@code unc-nlp/lxmert-base-uncased} configuration. */
  public static LxmertConfig defaults() {
    return fromJson(JsonNodeFactory.instance.objectNode(), "<defaults>");
  }

  /** Largest config.json read (HF's are about 1 KB); a bigger file is refused before it is parsed. */
  public static final long MAX_JSON_BYTES = 16L << 20;

  /**
   * Reads an HF {@code config.json}.
   *
   * @throws IllegalArgumentException naming the file and field if it is not valid JSON, larger than
   *     {@link #MAX_JSON_BYTES}, or has a field of the wrong type or an inconsistent value
   * @throws IOException              if it cannot be read
   */
  public static LxmertConfig fromJsonFile(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": expected a regular config.json file, found " + kindOf(file));
    }
    long size = Files.size(file);
    if (size > MAX_JSON_BYTES) {
      throw new IllegalArgumentException(file + ": expected a config.json of at most " + MAX_JSON_BYTES
          + " bytes, found " + size + " bytes");
    }
    try (JsonParser p = FACTORY.createParser(file.toFile())) {
      return fromJson(parse(p, file.toString()), file.toString());
    }
  }

  /** What is at a path that is not a regular file, for messages; follows links, and names a loop or a dangling one. */
  static String kindOf(Path p) {
    if (Files.isDirectory(p)) {
      return "a directory";
    }
    if (Files.exists(p)) {
      return "a special file";
    }
    if (Files.isSymbolicLink(p)) {
      try {
        p.toRealPath();
      } catch (java.nio.file.NoSuchFileException e) {
        return "a dangling symbolic link (its target does not exist)";
      } catch (IOException e) {
        return "a symbolic link that cannot be resolved, e.g. a loop (" + e.getMessage() + ")";
      }
    }
    return "nothing";
  }

  /** Parses the JSON text of a config; {@code source} names it in error messages. */
  public static LxmertConfig fromJsonString(String json, String source) {
    try (JsonParser p = FACTORY.createParser(json)) {
      return fromJson(parse(p, source), source);
    } catch (IOException e) { // a String source has no I/O of its own
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The document as a node tree, as ObjectMapper.readTree makes it (integers as int, long or big-integer nodes,
   * other numbers as doubles, the last of duplicate keys kept, an empty document as a missing node); trailing
   * content after the value (a concatenated or half-overwritten file) is an error, as in Python's json. Nesting is
   * bounded by the parser (1,000 levels), so the recursion is too.
   *
   * @throws IllegalArgumentException "{@code source}: not valid JSON: ..." for malformed text
   */
  private static JsonNode parse(JsonParser p, String source) throws IOException {
    try {
      if (p.nextToken() == null) {
        return MissingNode.getInstance();
      }
      JsonNode root = value(p);
      JsonToken extra = p.nextToken();
      if (extra != null) {
        throw new IllegalArgumentException(source + ": not valid JSON: Trailing token (of type " + extra
            + ") found after value");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** The value starting at the parser's current token, which it leaves on the value's last token. */
  private static JsonNode value(JsonParser p) throws IOException {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    switch (p.currentToken()) {
      case START_OBJECT -> {
        ObjectNode o = nodes.objectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          p.nextToken();
          o.set(name, value(p));
        }
        return o;
      }
      case START_ARRAY -> {
        ArrayNode a = nodes.arrayNode();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          a.add(value(p));
        }
        return a;
      }
      case VALUE_STRING -> {
        return nodes.textNode(p.getText());
      }
      case VALUE_NUMBER_INT -> {
        return switch (p.getNumberType()) {
          case INT -> nodes.numberNode(p.getIntValue());
          case LONG -> nodes.numberNode(p.getLongValue());
          default -> nodes.numberNode(p.getBigIntegerValue());
        };
      }
      case VALUE_NUMBER_FLOAT -> {
        return nodes.numberNode(p.getDoubleValue());
      }
      case VALUE_TRUE, VALUE_FALSE -> {
        return nodes.booleanNode(p.getBooleanValue());
      }
      case VALUE_NULL -> {
        return nodes.nullNode();
      }
      default -> throw new JsonParseException(p, "unexpected token " + p.currentToken());
    }
  }

  static LxmertConfig fromJson(JsonNode root, String source) {
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(source + ": expected a JSON object, found "
          + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
    }
    Reader r = new Reader(root, source);
    try {
      return new LxmertConfig(
          r.i("vocab_size", 30522), r.i("hidden_size", 768), r.i("num_attention_heads", 12),
          r.i("num_qa_labels", 9500), r.i("num_object_labels", 1600), r.i("num_attr_labels", 400),
          r.i("intermediate_size", 3072), r.s("hidden_act", "gelu"), r.f("hidden_dropout_prob", 0.1f),
          r.f("attention_probs_dropout_prob", 0.1f), r.i("max_position_embeddings", 512),
          r.i("type_vocab_size", 2), r.f("initializer_range", 0.02f), r.f("layer_norm_eps", 1e-12f),
          r.i("l_layers", 9), r.i("x_layers", 5), r.i("r_layers", 5), r.i("visual_feat_dim", 2048),
          r.i("visual_pos_dim", 4), r.f("visual_loss_normalizer", 6.67f), r.b("task_matched", true),
          r.b("task_mask_lm", true), r.b("task_obj_predict", true), r.b("task_qa", true),
          r.b("visual_obj_loss", true), r.b("visual_attr_loss", true), r.b("visual_feat_loss", true),
          r.i("pad_token_id", 0));
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(source)) {
        throw e;
      }
      throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
  }

  /** This config as HF {@code config.json} fields (what {@code save_pretrained} would write for them). */
  public Map<String, Object> toJsonMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model_type", "lxmert");
    m.put("architectures", java.util.List.of("LxmertForPreTraining"));
    m.put("vocab_size", vocabSize);
    m.put("hidden_size", hiddenSize);
    m.put("num_attention_heads", numAttentionHeads);
    m.put("num_qa_labels", numQaLabels);
    m.put("num_object_labels", numObjectLabels);
    m.put("num_attr_labels", numAttrLabels);
    m.put("intermediate_size", intermediateSize);
    m.put("hidden_act", hiddenAct);
    m.put("hidden_dropout_prob", hiddenDropoutProb);
    m.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
    m.put("max_position_embeddings", maxPositionEmbeddings);
    m.put("type_vocab_size", typeVocabSize);
    m.put("initializer_range", initializerRange);
    m.put("layer_norm_eps", layerNormEps);
    m.put("l_layers", lLayers);
    m.put("x_layers", xLayers);
    m.put("r_layers", rLayers);
    m.put("visual_feat_dim", visualFeatDim);
    m.put("visual_pos_dim", visualPosDim);
    m.put("visual_loss_normalizer", visualLossNormalizer);
    m.put("task_matched", taskMatched);
    m.put("task_mask_lm", taskMaskLm);
    m.put("task_obj_predict", taskObjPredict);
    m.put("task_qa", taskQa);
    m.put("visual_obj_loss", visualObjLoss);
    m.put("visual_attr_loss", visualAttrLoss);
    m.put("visual_feat_loss", visualFeatLoss);
    m.put("pad_token_id", padTokenId);
    return m;
  }

  /** Writes {@link #toJsonMap()} as a pretty-printed {@code config.json}. */
  public void writeJson(Path file) throws IOException {
    Files.writeString(file, Mapper.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJsonMap()));
  }

  /** A copy with some fields replaced, given by their HF names (e.g. {@code "l_layers", 2}). */
  public LxmertConfig with(Map<String, ?> overrides) {
    ObjectNode node = Mapper.JSON.valueToTree(toJsonMap());
    overrides.forEach((k, v) -> node.set(k, Mapper.JSON.valueToTree(v)));
    return fromJson(node, "<overrides>");
  }

  private static void positive(String field, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException("config field " + field + ": expected a positive integer, found " + v);
    }
  }

  private static void nonNegative(String field, int v) {
    if (v < 0) {
      throw new IllegalArgumentException("config field " + field + ": expected an integer >= 0, found " + v);
    }
  }

  private static void probability(String field, float v) {
    if (!(v >= 0f && v < 1f)) {
      throw new IllegalArgumentException("config field " + field + ": expected a value in [0, 1), found " + v);
    }
  }

  /** Typed field access with messages that name the field, the expected type and what was found. */
  private record Reader(JsonNode root, String source) {
    JsonNode node(String f) {
      JsonNode n = root.get(f);
      return n == null || n.isNull() ? null : n;
    }

    int i(String f, int def) {
      JsonNode n = node(f);
      if (n == null) {
        return def;
      }
      if (!n.isIntegralNumber() || !n.canConvertToInt()) {
        throw new IllegalArgumentException("config field " + f + ": expected an integer, found " + describe(n));
      }
      return n.intValue();
    }

    float f(String f, float def) {
      JsonNode n = node(f);
      if (n == null) {
        return def;
      }
      if (!n.isNumber()) {
        throw new IllegalArgumentException("config field " + f + ": expected a number, found " + describe(n));
      }
      return n.floatValue();
    }

    boolean b(String f, boolean def) {
      JsonNode n = node(f);
      if (n == null) {
        return def;
      }
      if (!n.isBoolean()) {
        throw new IllegalArgumentException("config field " + f + ": expected true or false, found " + describe(n));
      }
      return n.booleanValue();
    }

    String s(String f, String def) {
      JsonNode n = node(f);
      if (n == null) {
        return def;
      }
      if (!n.isTextual()) {
        throw new IllegalArgumentException("config field " + f + ": expected a string, found " + describe(n));
      }
      return n.textValue();
    }

    static String describe(JsonNode n) {
      String t = n.toString();
      return n.getNodeType().toString().toLowerCase() + " " + (t.length() > 40 ? t.substring(0, 40) + "..." : t);
    }
  }
}
