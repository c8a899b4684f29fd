package io.github.tflxmert.cli;

import io.github.tflxmert.array.Scores;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertForQuestionAnswering;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.ModelClass;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.features.FeatureReader;
import io.github.tflxmert.features.VisualFeatures;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import io.github.tflxmert.tokenizer.Encoding;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.tokenizer.TokenizerOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lxmert run}: masked words, image–text match and answers for one text and one image. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Run LXMERT on a text and region features: top-k words for each [MASK], the image-text match "
        + "probability (cross_relationship_score, index 1 = match) and the top-k answers.", "",
        "With no --model/--saved-model it runs the embedded demo model (a small LXMERT trained by this project on "
            + "synthetic scenes of coloured cubes, spheres and cylinders) on one of its three sample scenes "
            + "(--scene; described in the output), answering questions like \"what color is the cube?\", "
            + "\"how many blue objects are there?\", \"is there a small red cube?\".", "",
        "Examples:",
        "  ./lxmert run --text \"what shape is the blue object?\"",
        "  ./lxmert run --scene 2 --text \"how many spheres are there?\"",
        "  ./lxmert run --model lxmert-base-uncased --text \"what is the man holding?\" --features img.npz \\",
        "      --answers vqa_answers.json --top-k 5 --json",
        "  ./lxmert run --model DIR --text \"...\" --features feats.npy --boxes boxes.npy --image-size 640 480",
        "  ./lxmert run --model lxmert-vqa-uncased --features image.tsv --text \"what is the man holding?\"", "",
        "The model class comes from config.json's architectures (LxmertForPreTraining, LxmertForQuestionAnswering; "
            + "LxmertModel, which has no heads, runs as what its weights hold), else from what the weight file "
            + "holds; the output says which. Answer labels: --answers, else config.json's id2label."})
final class RunCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;
  @Mixin Common.PrecisionOption precision;

  static class ModelChoice {
    @Option(names = "--model", paramLabel = "DIR", description = "HF model directory: config.json, "
        + "model.safetensors, tf_model.h5 or pytorch_model.bin, vocab.txt.")
    Path model;
    @Option(names = "--saved-model", paramLabel = "DIR", description = "A SavedModel (or TF Serving base "
        + "directory); needs --vocab unless vocab.txt sits in it or, for a version directory BASE/N, in BASE (where "
        + "export writes it).")
    Path savedModel;
  }

  @ArgGroup(exclusive = true) ModelChoice choice = new ModelChoice();

  @Option(names = "--text", required = true, description = "The text; [MASK] marks words to predict.")
  String text;
  @Option(names = "--vocab", paramLabel = "FILE", description = "vocab.txt (default: the model directory's).")
  Path vocab;
  @Option(names = "--features", paramLabel = "FILE", description = ".npy [N,F], .npz (features, boxes) or LXMERT "
      + ".tsv (default with the embedded model: its sample features).")
  Path features;
  @Option(names = "--boxes", paramLabel = "FILE", description = ".npy boxes [N,4] (x1, y1, x2, y2) for a .npy "
      + "features file.")
  Path boxes;
  @Option(names = "--image-size", arity = "2", paramLabel = "W H", hideParamSyntax = true,
      description = "Divide pixel boxes by width and height.")
  int[] imageSize;
  @Option(names = "--image-id", description = "Row of a .tsv features file (default: the first).")
  String imageId;
  @Option(names = "--answers", paramLabel = "FILE", description = "Answer labels: JSON list, JSON object "
      + "{label: index}, or one label per line.")
  Path answers;
  @Option(names = "--objects", paramLabel = "FILE", description = "Object labels (num_object_labels of them): "
      + "prints the object head's top label per region (graph path only; HF never returns this head).")
  Path objects;
  @Option(names = "--attributes", paramLabel = "FILE", description = "Attribute labels, likewise.")
  Path attributes;
  @Option(names = "--top-k", defaultValue = "5", description = "How many words/answers to print (default 5).")
  int topK;
  @Option(names = "--scene", defaultValue = "0", description = "Sample scene of the embedded demo model (0-2).")
  int scene;
  @Option(names = "--json", description = "Print everything as JSON.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    if (topK < 1) {
      throw new IllegalArgumentException("--top-k: expected a positive number of words/answers to print, found "
          + topK);
    }
    Path modelDir = choice.model;
    Path featuresFile = features;
    Path boxesFile = boxes;
    boolean embedded = choice.model == null && choice.savedModel == null;
    String sceneText = null;
    if (embedded) {
      modelDir = Common.defaultModelDir();
      if (featuresFile == null) {
        if (scene < 0 || scene >= Common.SAMPLE_SCENES) {
          throw new IllegalArgumentException("--scene: expected 0.." + (Common.SAMPLE_SCENES - 1) + ", found " + scene);
        }
        featuresFile = modelDir.resolve("scene-" + scene + "-features.npy");
        boxesFile = modelDir.resolve("scene-" + scene + "-boxes.npy");
        sceneText = Files.readAllLines(modelDir.resolve("scenes.txt")).get(scene);
      }
    }
    if (featuresFile == null) {
      throw new IllegalArgumentException("--features: required with --model/--saved-model (region features of the "
          + "image: .npy, .npz or .tsv)");
    }
    Path vocabFile = vocab != null ? vocab : modelDir != null ? modelDir.resolve("vocab.txt")
        : savedModelVocab(choice.savedModel);
    if (!Files.isRegularFile(vocabFile)) {
      throw new IllegalArgumentException(vocabFile + ": vocab.txt not found; pass --vocab FILE");
    }
    LxmertTokenizer tok = vocab == null && modelDir != null ? LxmertTokenizer.fromDirectory(modelDir)
        : LxmertTokenizer.fromVocab(vocabFile, TokenizerOptions.defaults());
    VisualFeatures vf = FeatureReader.read(featuresFile, boxesFile, imageSize, imageId);
    Path answerFile = answers != null ? answers : embedded ? modelDir.resolve("answers.json") : null;
    List<String> labels = answerFile == null ? null : Labels.read(answerFile);
    if (choice.savedModel != null && precision.precision != io.github.tflxmert.Precision.FLOAT32) {
      throw new IllegalArgumentException("--precision " + precision.precision.shortName() + " applies to the Java "
          + "graph (--model); a SavedModel computes in the precision it was exported with (export --precision)");
    }
    ModelClass.Choice modelClass = modelDir == null ? null : modelClassFor(modelDir);
    try (LxmertPredictor model = choice.savedModel != null ? SavedModelPredictor.open(choice.savedModel)
        : modelClass.modelClass().open(modelDir,
            Common.withProgressBar(LoadOptions.defaults().withPrecision(precision.precision)))) {
      Common.reportAuto(precision.precision, model, spec.commandLine().getErr());
      if (model instanceof LxmertForQuestionAnswering qaModel && !qaModel.labels().isEmpty()) {
        if (labels == null) {
          labels = qaModel.labels(); // config.json id2label
        } else {
          spec.commandLine().getErr().println("lxmert: answer labels from " + answers + ", not config.json's id2label");
        }
      }
      Encoding enc = tok.encode(text);
      IntArray ids = IntArray.of(new int[][] {enc.inputIds()});
      LxmertInputs in = LxmertInputs.builder().inputIds(ids).attentionMask(IntArray.of(new int[][] {enc.attentionMask()}))
          .tokenTypeIds(IntArray.of(new int[][] {enc.tokenTypeIds()}))
          .visualFeats(vf.batchedFeatures()).visualPos(vf.batchedBoxes()).build();
      List<String> wanted = new ArrayList<>();
      if (model.availableOutputs().contains(OutputNames.CROSS_RELATIONSHIP_SCORE)) {
        wanted.add(OutputNames.CROSS_RELATIONSHIP_SCORE); // a question-answering model has no matching head
      }
      List<Integer> allMasks = IntStream.range(0, enc.inputIds().length)
          .filter(i -> enc.inputIds()[i] == tok.maskTokenId()).boxed().toList();
      // A question-answering model has no LM head: [MASK] is then just a token.
      List<Integer> masks = model.availableOutputs().contains(OutputNames.PREDICTION_LOGITS) ? allMasks : List.of();
      if (!masks.isEmpty()) {
        wanted.add(OutputNames.PREDICTION_LOGITS);
      }
      boolean qa = model.availableOutputs().contains(OutputNames.QUESTION_ANSWERING_SCORE);
      if (qa) {
        wanted.add(OutputNames.QUESTION_ANSWERING_SCORE);
      }
      if ((objects != null || attributes != null) && !model.availableOutputs().contains(OutputNames.OBJ)) {
        throw new IllegalArgumentException("--objects/--attributes: this model has no obj_predict_head outputs "
            + "(SavedModels never export them, use --model; question-answering checkpoints have no object head)");
      }
      if (objects != null) {
        wanted.add(OutputNames.OBJ);
      }
      if (attributes != null && model.availableOutputs().contains(OutputNames.ATTR)) {
        wanted.add(OutputNames.ATTR);
      }
      LxmertOutputs out = model.predict(in, OutputSelection.of(wanted));
      Map<String, Long> nonFinite = NonFinite.count(out);
      NonFinite.warn(spec.commandLine().getErr(), out, nonFinite);
      regionLabels(out, vf);
      report(enc, tok, masks, out, qa, labels, embedded, vf, sceneText, modelClass, nonFinite);
    }
    return 0;
  }

  private void report(Encoding enc, LxmertTokenizer tok, List<Integer> masks, LxmertOutputs out,
                      boolean qa, List<String> labels, boolean embedded, VisualFeatures vf, String sceneText,
                      ModelClass.Choice modelClass, Map<String, Long> nonFinite) throws IOException {
    PrintWriter w = spec.commandLine().getOut();
    float[] match = out.has(OutputNames.CROSS_RELATIONSHIP_SCORE) ? Scores.softmax(out.crossRelationshipScore().row(0))
        : null;
    ObjectMapper om = new ObjectMapper();
    ObjectNode root = om.createObjectNode();
    root.put("model", embedded ? "embedded demo model (synthetic scenes)" : String.valueOf(
        choice.model != null ? choice.model : choice.savedModel));
    if (modelClass != null) {
      root.put("model_class", modelClass.modelClass().hfName());
      root.put("model_class_from", modelClass.reason());
    }
    root.set("tokens", om.valueToTree(enc.tokens()));
    root.put("regions", vf.regions());
    if (sceneText != null) {
      root.put("scene", sceneText);
    }
    if (match != null) {
      root.put("match_probability", match[1]);
    }
    root.put("outputs_finite", nonFinite.isEmpty());
    root.set("non_finite_outputs", om.valueToTree(nonFinite));
    ArrayNode maskNode = root.putArray("masked_words");
    if (!json) {
      if (sceneText != null) {
        w.println("(embedded demo model, trained on synthetic scenes; pass --model for a real checkpoint)");
        w.println(sceneText);
      }
      if (modelClass != null && !embedded) {
        w.println("model class: " + modelClass.modelClass().hfName() + " (from " + modelClass.reason() + ")");
      }
      if (!nonFinite.isEmpty()) {
        w.println("WARNING: non-finite outputs " + nonFinite.keySet() + "; the numbers below are not meaningful");
      }
      w.println("tokens: " + String.join(" ", enc.tokens()));
      if (match != null) {
        w.printf(Locale.ROOT, "image-text match probability: %.4f  (softmax of cross_relationship_score; index 1 = "
            + "match)%n", match[1]);
      }
    }
    for (int pos : masks) {
      float[] p = Scores.softmax(out.predictionLogits().row(0, pos));
      ObjectNode m = maskNode.addObject();
      m.put("position", pos);
      ArrayNode cands = m.putArray("top");
      if (!json) {
        w.printf("[MASK] at position %d:%n", pos);
      }
      for (int id : Scores.topK(p, topK)) {
        String word = tok.idToToken(id);
        cands.addObject().put("token", word).put("id", id).put("probability", p[id]);
        if (!json) {
          w.printf(Locale.ROOT, "  %-15s %.4f%n", word, p[id]);
        }
      }
    }
    if (qa) {
      float[] scores = out.questionAnsweringScore().row(0);
      float[] p = Scores.softmax(scores);
      ArrayNode ans = root.putArray("answers");
      if (!json) {
        w.println("answers (softmax of question_answering_score" + (labels == null ? "; pass --answers FILE for labels"
            : "") + "):");
      }
      for (int id : Scores.topK(p, topK)) {
        String label = labels != null && id < labels.size() ? labels.get(id) : "#" + id;
        ans.addObject().put("answer", label).put("index", id).put("probability", p[id]);
        if (!json) {
          w.printf(Locale.ROOT, "  %-15s %.4f%n", label, p[id]);
        }
      }
    }
    if (json) {
      w.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }
  }

  /**
   * The vocab.txt of a SavedModel: in its directory, else, for a version directory ({@code BASE/N}, what
   * {@code --saved-model} is also given), in the TF Serving base above it, where {@code lxmert export} writes it.
   * The path reported when neither exists is the SavedModel's own.
   */
  static Path savedModelVocab(Path savedModel) {
    Path own = savedModel.resolve("vocab.txt");
    Path dir = savedModel.toAbsolutePath().normalize();
    Path base = dir.getParent();
    boolean version = dir.getFileName() != null && dir.getFileName().toString().matches("[0-9]+");
    return !Files.isRegularFile(own) && version && base != null && Files.isRegularFile(base.resolve("vocab.txt"))
        ? base.resolve("vocab.txt") : own;
  }

  /**
   * The model class {@code run} builds for a directory: as {@link ModelClass#of} says, except that a config naming
   * the head-less {@code LxmertModel} (as {@code unc-nlp/lxmert-base-uncased}'s does) runs as what its weights hold,
   * since {@code run} shows the heads' outputs.
   */
  private static ModelClass.Choice modelClassFor(Path modelDir) throws IOException {
    ModelClass.Choice c = ModelClass.of(modelDir, null);
    if (c.modelClass() != ModelClass.LXMERT_MODEL) {
      return c;
    }
    try (var src = io.github.tflxmert.weights.WeightSources.open(
        io.github.tflxmert.weights.WeightSources.checkpointIn(modelDir))) {
      ModelClass held = ModelClass.ofWeights(src);
      if (held == ModelClass.LXMERT_MODEL) {
        throw new IllegalArgumentException(modelDir + ": expected a checkpoint with heads (LxmertForPreTraining or "
            + "LxmertForQuestionAnswering) for run, found a bare LxmertModel (" + c.reason() + ")");
      }
      return new ModelClass.Choice(held, c.reason() + ", run as what its weights hold (" + held.hfName() + ")");
    }
  }

  /** Top object / attribute label per region from the obj_predict_head, when label files were given. */
  private void regionLabels(LxmertOutputs out, VisualFeatures vf) throws IOException {
    if (objects == null && attributes == null) {
      return;
    }
    List<String> objLabels = objects == null ? null : Labels.read(objects);
    List<String> attrLabels = attributes == null ? null : Labels.read(attributes);
    PrintWriter w = spec.commandLine().getOut();
    for (int r = 0; r < vf.regions(); r++) {
      StringBuilder sb = new StringBuilder("region " + r + ":");
      if (objLabels != null) {
        int i = out.get(OutputNames.OBJ).argmax(0, r);
        sb.append(" object ").append(i < objLabels.size() ? objLabels.get(i) : "#" + i);
      }
      if (attrLabels != null && out.has(OutputNames.ATTR)) {
        int i = out.get(OutputNames.ATTR).argmax(0, r);
        sb.append(", attribute ").append(i < attrLabels.size() ? attrLabels.get(i) : "#" + i);
      }
      if (!json) {
        w.println(sb);
      }
    }
  }
}
