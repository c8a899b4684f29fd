package io.github.tflxmert.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lxmert inspect}: SavedModel signatures, or an HF model directory's config and weight inventory. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"Show a SavedModel's tags and signatures (like saved_model_cli show --all), or an HF model "
        + "directory's config and weight inventory (names, shapes, parameter count, heads present).", "",
        "Examples:", "  ./lxmert inspect lxmert-base-uncased", "  ./lxmert inspect export/1 --json"})
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;

  @Parameters(paramLabel = "PATH", description = "SavedModel directory (or TF Serving base) or HF model directory.")
  Path path;
  @Option(names = "--json", description = "Print JSON instead of text.")
  boolean json;
  @Option(names = "--weights", description = "Model directories: list every weight (default: a summary).")
  boolean weights;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    PrintWriter w = spec.commandLine().getOut();
    Path config = path.resolve("config.json");
    // Any config.json (also a directory or a broken link in its place) makes this a model directory, so the
    // message is about config.json, not "not a SavedModel"; unless it is a SavedModel or a TF Serving base,
    // which `lxmert export` writes with config.json beside the version directories.
    if (Files.exists(config, LinkOption.NOFOLLOW_LINKS) && !isSavedModelOrBase(path)) {
      inspectModelDir(w);
      return 0;
    }
    w.print(SavedModelSupport.describe(path, json));
    w.flush();
    return 0;
  }

  /** A directory holding saved_model.pb, or a numbered version directory that does (a TF Serving base). */
  static boolean isSavedModelOrBase(Path dir) throws IOException {
    if (Files.isRegularFile(dir.resolve("saved_model.pb"))) {
      return true;
    }
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(v -> v.getFileName().toString().matches("[0-9]+")
          && Files.isRegularFile(v.resolve("saved_model.pb")));
    }
  }

  /**
   * A checkpoint's weights per top-level group: {tensors, parameters}; a tensor tied to an earlier one (the same
   * stored values) counts as a tensor but adds no parameters.
   */
  private record Inventory(String layout, List<WeightSource.Entry> entries, Map<String, String> tied,
                           Map<String, long[]> groups, long total) {
    static Inventory of(WeightSource src) {
      Map<String, long[]> groups = new TreeMap<>();
      Map<String, String> tied = new java.util.LinkedHashMap<>(src.sharedWith());   // kept past the source
      long total = 0;
      for (WeightSource.Entry e : src.entries().values()) {
        String top = src.layout() == WeightSource.Layout.TF ? e.name().split("/")[0] : e.name().split("\\.")[0];
        long params = tied.containsKey(e.name()) ? 0 : e.elements();
        long[] g = groups.computeIfAbsent(top, k -> new long[2]);
        g[0]++;
        g[1] += params;
        total += params;
      }
      return new Inventory(src.layout().toString(), List.copyOf(src.entries().values()), tied, groups, total);
    }
  }

  private void inspectModelDir(PrintWriter w) throws IOException {
    LxmertConfig c = LxmertConfig.fromJsonFile(path.resolve("config.json"));
    Path ckpt = WeightSources.checkpointIn(path);
    Inventory inv;
    try (WeightSource src = WeightSources.open(ckpt)) {
      inv = Inventory.of(src);
    }
    if (json) {
      w.println(modelDirJson(c, ckpt, inv));
      w.flush();
      return;
    }
    w.println("config: " + path.resolve("config.json"));
    w.printf("  hidden %d, heads %d, layers l/x/r %d/%d/%d, vocab %d, visual_feat_dim %d, qa labels %d%n",
        c.hiddenSize(), c.numAttentionHeads(), c.lLayers(), c.xLayers(), c.rLayers(), c.vocabSize(),
        c.visualFeatDim(), c.numQaLabels());
    if (weights) {
      for (WeightSource.Entry e : inv.entries()) {
        w.printf("  %-90s %-8s %s%s%n", e.name(), e.dtype(), Arrays.toString(e.shape()),
            inv.tied().containsKey(e.name()) ? " (tied: the values of " + inv.tied().get(e.name()) + ")" : "");
      }
    }
    w.println("checkpoint: " + ckpt + " (" + inv.layout() + " names)");
    inv.groups().forEach((k, v) -> w.printf("  %-20s %4d tensors %,14d parameters%n", k, v[0], v[1]));
    w.printf("  total %,d parameters (%s)%n", inv.total(), inv.entries().size() + " tensors"
        + (inv.tied().isEmpty() ? "" : "; " + inv.tied().size() + " tied to an earlier tensor, counted once: "
        + String.join(", ", inv.tied().keySet())));
    w.println("heads present: " + inv.groups().keySet());
  }

  /** The same inventory as the text, as one JSON object ({@code weights} only with --weights). */
  private String modelDirJson(LxmertConfig c, Path ckpt, Inventory inv) throws IOException {
    ObjectMapper om = new ObjectMapper();
    ObjectNode root = om.createObjectNode();
    root.put("kind", "model_directory");
    root.put("config_file", path.resolve("config.json").toString());
    root.putObject("config").put("hidden_size", c.hiddenSize()).put("num_attention_heads", c.numAttentionHeads())
        .put("l_layers", c.lLayers()).put("x_layers", c.xLayers()).put("r_layers", c.rLayers())
        .put("vocab_size", c.vocabSize()).put("visual_feat_dim", c.visualFeatDim())
        .put("num_qa_labels", c.numQaLabels());
    root.put("checkpoint", ckpt.toString());
    root.put("layout", inv.layout());
    ObjectNode groups = root.putObject("groups");
    inv.groups().forEach((k, v) -> groups.putObject(k).put("tensors", v[0]).put("parameters", v[1]));
    root.put("tensors", inv.entries().size());
    root.put("total_parameters", inv.total());
    inv.tied().keySet().forEach(root.putArray("tied")::add);
    inv.groups().keySet().forEach(root.putArray("heads_present")::add);
    if (weights) {
      ArrayNode list = root.putArray("weights");
      for (WeightSource.Entry e : inv.entries()) {
        ObjectNode t = list.addObject().put("name", e.name()).put("dtype", e.dtype());
        ArrayNode shape = t.putArray("shape");
        for (long d : e.shape()) {
          shape.add(d);
        }
        if (inv.tied().containsKey(e.name())) {
          t.put("tied_to", inv.tied().get(e.name()));
        }
      }
    }
    return om.writerWithDefaultPrettyPrinter().writeValueAsString(root);
  }
}
