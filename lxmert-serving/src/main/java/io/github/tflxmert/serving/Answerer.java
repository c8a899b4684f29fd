package io.github.tflxmert.serving;

import io.github.tflxmert.array.Scores;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.config.LabelFile;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.tokenizer.Encoding;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.tokenizer.TokenizerOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * {@code POST /v1/models/{name}:answer} (beyond TF Serving): text in, answers out. Each instance is
 * {@code {"text": ..., "features": [N][F] | {"b64": float32 little-endian}, "boxes": [N][4] | {"b64": ...},
 * "image_size": [w, h] (optional: boxes in pixels are divided by it)}}; the server tokenizes (the model's
 * {@code vocab.txt}: the HF directory's, or {@code BASE/vocab.txt} as {@code lxmert export} writes it), runs
 * through the batcher (instances of one request are batched together) and answers what {@code lxmert run --json}
 * prints: tokens, regions, match_probability, masked_words (top tokens per [MASK]), answers (top
 * question_answering_score labels, from {@code answers.json} beside the model when there is one).
 * Thread-safe; caches one tokenizer per model.
 */
final class Answerer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Resources(LxmertTokenizer tokenizer, List<String> labels) {}

  private final ModelRegistry models;
  private final Map<String, Resources> cache = new ConcurrentHashMap<>();

  Answerer(ModelRegistry models) {
    this.models = models;
  }

  ObjectNode answer(String model, OptionalLong version, JsonNode req) {
    JsonNode inst = req.get("instances");
    if (inst == null || !inst.isArray() || inst.isEmpty()) {
      throw ServingException.invalid("\"instances\": expected a non-empty list of {\"text\", \"features\", "
          + "\"boxes\"} objects, found " + (inst == null ? "nothing" : inst.getNodeType()));
    }
    int topK = req.path("top_k").asInt(5);
    ServedModel m = models.get(model);
    Resources res = cache.computeIfAbsent(m.name(), k -> load(m));
    Servable s = m.acquire(version);
    try {
      ServingSignature sig = s.signature(req.path("signature_name").asText(""));
      boolean qa = sig.outputs().containsKey(OutputNames.QUESTION_ANSWERING_SCORE);
      int featDim = s.config().visualFeatDim();
      List<Encoding> encs = new ArrayList<>();
      List<List<Integer>> masks = new ArrayList<>();
      List<CompletableFuture<LxmertOutputs>> runs = new ArrayList<>();
      for (int i = 0; i < inst.size(); i++) {
        JsonNode x = inst.get(i);
        String where = "instances[" + i + "]";
        if (!x.path("text").isTextual()) {
          throw ServingException.invalid(where + ".text: expected a string, found " + x.path("text").getNodeType());
        }
        Encoding enc = res.tokenizer().encode(x.get("text").asText());
        FloatArray feats = matrix(where + ".features", x.get("features"), featDim);
        FloatArray boxes = matrix(where + ".boxes", x.get("boxes"), 4);
        if (feats.dim(1) != boxes.dim(1)) {
          throw ServingException.invalid(where + ".boxes: expected " + feats.dim(1) + " boxes (one per region of "
              + "features), found " + boxes.dim(1));
        }
        JsonNode size = x.get("image_size");
        if (size != null) {
          if (!size.isArray() || size.size() != 2 || !(size.get(0).asDouble() > 0) || !(size.get(1).asDouble() > 0)) {
            throw ServingException.invalid(where + ".image_size: expected [width, height] > 0, found " + size);
          }
          float[] b = boxes.data();
          for (int j = 0; j < b.length; j++) {
            b[j] /= (float) size.get(j % 2).asDouble();
          }
        }
        List<Integer> mk = IntStream.range(0, enc.inputIds().length)
            .filter(t -> enc.inputIds()[t] == res.tokenizer().maskTokenId()).boxed().toList();
        List<String> wanted = new ArrayList<>(List.of(OutputNames.CROSS_RELATIONSHIP_SCORE));
        if (!mk.isEmpty()) {
          wanted.add(OutputNames.PREDICTION_LOGITS);
        }
        if (qa) {
          wanted.add(OutputNames.QUESTION_ANSWERING_SCORE);
        }
        for (String w : wanted) {
          if (!sig.outputs().containsKey(w)) {
            throw ServingException.invalid(where + ": model " + model + " has no output " + w + " (signature "
                + sig.key() + " offers " + sig.outputs().keySet() + ")");
          }
        }
        LxmertInputs in;
        try {
          in = LxmertInputs.builder().inputIds(IntArray.of(new int[][] {enc.inputIds()}))
              .attentionMask(IntArray.of(new int[][] {enc.attentionMask()}))
              .tokenTypeIds(IntArray.of(new int[][] {enc.tokenTypeIds()})).visualFeats(feats).visualPos(boxes).build();
        } catch (IllegalArgumentException e) {
          throw ServingException.invalid(where + ": " + e.getMessage());
        }
        encs.add(enc);
        masks.add(mk);
        runs.add(s.predict(in, OutputSelection.of(wanted)));
      }
      ObjectNode root = JSON.createObjectNode();
      root.put("model", m.name());
      root.put("version", s.version());
      ArrayNode preds = root.putArray("predictions");
      for (int i = 0; i < runs.size(); i++) {
        LxmertOutputs out = PredictionCore.await(runs.get(i));
        preds.add(report(encs.get(i), masks.get(i), out, qa, res, topK));
      }
      return root;
    } finally {
      s.release();
    }
  }

  private ObjectNode report(Encoding enc, List<Integer> masks, LxmertOutputs out, boolean qa, Resources res, int topK) {
    ObjectNode r = JSON.createObjectNode();
    r.set("tokens", JSON.valueToTree(enc.tokens()));
    float[] match = Scores.softmax(out.crossRelationshipScore().row(0));
    r.put("match_probability", match[1]);
    ArrayNode mw = r.putArray("masked_words");
    for (int pos : masks) {
      float[] p = Scores.softmax(out.predictionLogits().row(0, pos));
      ObjectNode o = mw.addObject();
      o.put("position", pos);
      ArrayNode top = o.putArray("top");
      for (int id : Scores.topK(p, Math.max(1, topK))) {
        top.addObject().put("token", res.tokenizer().idToToken(id)).put("id", id).put("probability", p[id]);
      }
    }
    if (qa) {
      float[] p = Scores.softmax(out.questionAnsweringScore().row(0));
      ArrayNode ans = r.putArray("answers");
      for (int id : Scores.topK(p, Math.max(1, topK))) {
        String label = res.labels() != null && id < res.labels().size() && res.labels().get(id) != null
            ? res.labels().get(id) : "#" + id;
        ans.addObject().put("answer", label).put("index", id).put("probability", p[id]);
      }
    }
    return r;
  }

  /** [N][width] nested list or {"b64": float32 LE} → [1, N, width]. */
  static FloatArray matrix(String where, JsonNode n, int width) {
    if (n == null) {
      throw ServingException.invalid(where + ": required, found nothing");
    }
    float[] d;
    if (n.isObject() && n.has("b64")) {
      byte[] raw;
      try {
        raw = Base64.getDecoder().decode(n.get("b64").asText());
      } catch (IllegalArgumentException e) {
        throw ServingException.invalid(where + ".b64: expected base64, found invalid text: " + e.getMessage());
      }
      if (raw.length == 0 || raw.length % (4L * width) != 0) {
        throw ServingException.invalid(where + ".b64: expected float32 rows of " + width + " values ("
            + 4 * width + " bytes each), found " + raw.length + " bytes");
      }
      ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
      d = new float[raw.length / 4];
      for (int i = 0; i < d.length; i++) {
        d[i] = b.getFloat();
      }
    } else {
      NdValue v = JsonTensors.tensor(where, n, "DT_FLOAT");
      if (v.rank() != 2 || v.shape()[1] != width || v.shape()[0] == 0) {
        throw ServingException.invalid(where + ": expected a list of rows of " + width + " numbers (shape [N, "
            + width + "]), found shape " + v.shapeText());
      }
      d = v.floats();
    }
    return new FloatArray(new long[] {1, d.length / width, width}, d);
  }

  private static Resources load(ServedModel m) {
    ServedModel.Source src = m.source();
    Path dir = src.hfModelDir() != null ? src.hfModelDir() : src.basePath();
    try {
      LxmertTokenizer tok;
      if (src.hfModelDir() != null) {
        tok = LxmertTokenizer.fromDirectory(dir);
      } else if (Files.isRegularFile(dir.resolve("vocab.txt"))) {
        tok = LxmertTokenizer.fromVocab(dir.resolve("vocab.txt"), TokenizerOptions.defaults());
      } else {
        throw new ServingException(ServingException.Code.FAILED_PRECONDITION, "model " + m.name() + ": :answer needs "
            + dir.resolve("vocab.txt") + " (lxmert export writes it), found none");
      }
      Path answers = dir.resolve("answers.json");
      // a JSON list, a JSON object label -> index (ans2label) or one label per line, as `lxmert run --answers` reads
      List<String> labels = Files.isRegularFile(answers) ? LabelFile.read(answers) : null;
      return new Resources(tok, labels);
    } catch (IOException | IllegalArgumentException e) {
      throw new ServingException(ServingException.Code.FAILED_PRECONDITION, "model " + m.name()
          + ": cannot read its tokenizer / labels in " + dir + ": " + e.getMessage(), e);
    }
  }
}
