package io.github.tflxmert.cli;

import io.github.tflxmert.array.IntArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertModel;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertOutputs;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.features.FeatureReader;
import io.github.tflxmert.features.VisualFeatures;
import io.github.tflxmert.tokenizer.Encoding;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.tokenizer.TokenizerOptions;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lxmert attention}: pictures of the attention maps. */
@Command(name = "attention", mixinStandardHelpOptions = true,
    description = {"Draw attention heatmaps: language self-attention, vision self-attention and language->vision "
        + "cross-attention (the three HF returns), and inside each cross layer the vision->language cross-attention "
        + "and the language and vision self-attentions (which HF computes and drops), per layer and head, axes "
        + "labelled with tokens and region indices. Without --layer the "
        + "picture is a grid of every layer (rows) and head (columns); with --layer/--head a single view. Writes "
        + "PNG, or HTML with the PNG embedded.", "",
        "Examples:",
        "  ./lxmert attention --text \"what color is the cube?\" --out att.png",
        "  ./lxmert attention --model DIR --text \"...\" --features img.npz --kind cross --layer 0 --head 3 "
            + "--out cross.html",
        "  ./lxmert attention --text \"what color is the cube?\" --kind cross-vision --out vision-to-text.png"})
final class AttentionCommand implements Callable<Integer> {
  /** The --kind values: HF's three attentions, the cross layers' other three, and all. */
  static final List<String> KINDS = List.of("language", "vision", "cross", "cross-vision", "cross-language-self",
      "cross-vision-self", "all");

  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;

  @Option(names = "--model", paramLabel = "DIR", description = "HF model directory (default: the embedded model).")
  Path model;
  @Option(names = "--text", required = true)
  String text;
  @Option(names = "--features", paramLabel = "FILE", description = ".npy, .npz or .tsv (default with the embedded "
      + "model: its sample features).")
  Path features;
  @Option(names = "--boxes", paramLabel = "FILE")
  Path boxes;
  @Option(names = "--image-size", arity = "2", paramLabel = "W H", hideParamSyntax = true)
  int[] imageSize;
  @Option(names = "--kind", defaultValue = "all", description = "language | vision | cross (language->vision, "
      + "HF's) | cross-vision (vision->language) | cross-language-self | cross-vision-self (the self-attentions of "
      + "the cross layers) | all (default all).")
  String kind;
  @Option(names = "--layer", description = "Only this layer (of the chosen kind).")
  Integer layer;
  @Option(names = "--head", description = "Only this head.")
  Integer head;
  @Option(names = "--cell", defaultValue = "14", description = "Pixels per cell (default 14).")
  int cell;
  @Option(names = "--out", required = true, paramLabel = "FILE.png|FILE.html")
  Path out;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    if (!KINDS.contains(kind)) {
      throw new IllegalArgumentException("--kind: expected one of " + String.join(", ", KINDS) + ", found " + kind);
    }
    String name = out.getFileName().toString().toLowerCase();
    if (!name.endsWith(".png") && !name.endsWith(".html")) {
      throw new IllegalArgumentException("--out: expected a .png or .html file name, found " + out);
    }
    if (cell < 1) {
      throw new IllegalArgumentException("--cell: expected a positive number of pixels, found " + cell);
    }
    Common.checkWritableFile("--out", out); // before the model run, not after it
    Path dir = model;
    Path f = features;
    Path b = boxes;
    if (dir == null) {
      dir = Common.defaultModelDir();
      if (f == null) {
        f = dir.resolve("scene-0-features.npy");
        b = dir.resolve("scene-0-boxes.npy");
      }
    }
    if (f == null) {
      throw new IllegalArgumentException("--features: required with --model");
    }
    LxmertTokenizer tok = LxmertTokenizer.fromVocab(dir.resolve("vocab.txt"), TokenizerOptions.defaults());
    VisualFeatures vf = FeatureReader.read(f, b, imageSize, null);
    // The base model loads any LXMERT checkpoint (pretraining, question answering or bare); heads are not needed.
    try (LxmertModel m = LxmertModel.fromPretrained(dir, Common.withProgressBar(LoadOptions.defaults()))) {
      LxmertConfig c = m.config();
      Encoding enc = tok.encode(text);
      LxmertInputs in = LxmertInputs.builder().inputIds(IntArray.of(new int[][] {enc.inputIds()}))
          .tokenTypeIds(IntArray.of(new int[][] {enc.tokenTypeIds()}))
          .visualFeats(vf.batchedFeatures()).visualPos(vf.batchedBoxes()).build();
      List<String> wanted = new ArrayList<>(OutputNames.attentions(c));
      wanted.addAll(OutputNames.crossLayerAttentions(c));
      LxmertOutputs o = m.predict(in, OutputSelection.of(wanted));
      NonFinite.warn(spec.commandLine().getErr(), o, NonFinite.count(o));
      List<String> tokens = enc.tokens();
      List<String> regions = IntStream.range(0, vf.regions()).mapToObj(i -> "region " + i).toList();
      List<AttentionPicture.Panel> panels = new ArrayList<>();
      addKind(panels, "language", OutputNames.LANGUAGE_ATTENTIONS, c, o, tokens, tokens);
      addKind(panels, "vision", OutputNames.VISION_ATTENTIONS, c, o, regions, regions);
      addKind(panels, "cross", OutputNames.CROSS_ENCODER_ATTENTIONS, c, o, tokens, regions);
      addKind(panels, "cross-vision", OutputNames.CROSS_ENCODER_VISION_ATTENTIONS, c, o, regions, tokens);
      addKind(panels, "cross-language-self", OutputNames.CROSS_ENCODER_LANGUAGE_SELF_ATTENTIONS, c, o, tokens, tokens);
      addKind(panels, "cross-vision-self", OutputNames.CROSS_ENCODER_VISION_SELF_ATTENTIONS, c, o, regions, regions);
      if (panels.isEmpty()) {
        throw new IllegalArgumentException("--layer/--head: no attention map matches (layers per kind: language "
            + c.lLayers() + ", vision " + c.rLayers() + ", cross " + c.xLayers() + "; heads " + c.numAttentionHeads() + ")");
      }
      int columns = head != null ? 1 : c.numAttentionHeads();
      BufferedImage img = AttentionPicture.render(panels, columns, cell);
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ImageIO.write(img, "png", png);
      if (name.endsWith(".png")) {
        Files.write(out, png.toByteArray());
      } else {
        Files.writeString(out, "<!doctype html><html><head><meta charset=\"utf-8\"><title>LXMERT attention</title>"
            + "</head><body><h1>LXMERT attention</h1><p>" + escape(text) + "</p><img alt=\"attention maps\" src=\""
            + "data:image/png;base64," + Base64.getEncoder().encodeToString(png.toByteArray()) + "\"></body></html>\n");
      }
      spec.commandLine().getOut().printf("wrote %s (%d map%s, %dx%d pixels)%n", out, panels.size(),
          panels.size() == 1 ? "" : "s", img.getWidth(), img.getHeight());
    }
    return 0;
  }

  private void addKind(List<AttentionPicture.Panel> panels, String k, String tuple, LxmertConfig c, LxmertOutputs o,
                       List<String> rows, List<String> cols) {
    if (!kind.equals("all") && !kind.equals(k)) {
      return;
    }
    for (int i = 0; i < OutputNames.tupleLength(tuple, c); i++) {
      if (layer != null && layer != i) {
        continue;
      }
      panels.addAll(AttentionPicture.panels(k, i, o.get(OutputNames.layer(tuple, i)), rows, cols, head));
    }
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
