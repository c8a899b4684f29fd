package io.github.tflxmert.cli;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.weights.WeightSource;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
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

  private void inspectModelDir(PrintWriter w) throws IOException {
    LxmertConfig c = LxmertConfig.fromJsonFile(path.resolve("config.json"));
    Path ckpt = WeightSources.checkpointIn(path);
    if (json) {
      w.println(modelDirJson(c, ckpt));
      w.flush();
      return;
    }
    w.println("config: " + path.resolve("config.json"));
    w.printf("  hidden %d, heads %d, layers l/x/r %d/%d/%d, vocab %d, visual_feat_dim %d, qa labels %d%n",
        c.hiddenSize(), c.numAttentionHeads(), c.lLayers(), c.xLayers(), c.rLayers(), c.vocabSize(),
        c.visualFeatDim(), c.numQaLabels());
    try (WeightSource src = WeightSources.open(ckpt)) {
      Map<String, long[]> byTop = new TreeMap<>();
      long total = 0;
      Map<String, String> tied = src.sharedWith();   // the same stored values as an earlier tensor: counted once
      for (WeightSource.Entry e : src.entries().values()) {
        String top = src.layout() == WeightSource.Layout.TF ? e.name().split("/")[0] : e.name().split("\\.")[0];
        long params = tied.containsKey(e.name()) ? 0 : e.elements();
        byTop.computeIfAbsent(top, k -> new long[2]);
        byTop.get(top)[0]++;
        byTop.get(top)[1] += params;
        total += params;
        if (weights) {
          w.printf("  %-90s %-8s %s%s%n", e.name(), e.dtype(), Arrays.toString(e.shape()),
              tied.containsKey(e.name()) ? " (tied: the values of " + tied.get(e.name()) + ")" : "");
        }
      }
      w.println("checkpoint: " + ckpt + " (" + src.layout() + " names)");
      byTop.forEach((k, v) -> w.printf("  %-20s %4d tensors %,14d parameters%n", k, v[0], v[1]));
      w.printf("  total %,d parameters (%s)%n", total, src.entries().size() + " tensors"
          + (tied.isEmpty() ? "" : "; " + tied.size() + " tied to an earlier tensor, counted once: "
          + String.join(", ", tied.keySet())));
      w.println("heads present: " + byTop.keySet());
    }
  }

  /** The same inventory as the text, as one JSON object ({@code weights} only with --weights). */
  private String modelDirJson(LxmertConfig c, Path ckpt) throws IOException {
    com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode root = om.createObjectNode();
    root.put("kind", "model_directory");
    root.put("config_file", path.resolve("config.json").toString());
    com.fasterxml.jackson.databind.node.ObjectNode cfg = root.putObject("config");
    cfg.put("hidden_size", c.hiddenSize());
    cfg.put("num_attention_heads", c.numAttentionHeads());
    cfg.put("l_layers", c.lLayers());
    cfg.put("x_layers", c.xLayers());
    cfg.put("r_layers", c.rLayers());
    cfg.put("vocab_size", c.vocabSize());
    cfg.put("visual_feat_dim", c.visualFeatDim());
    cfg.put("num_qa_labels", c.numQaLabels());
    try (WeightSource src = WeightSources.open(ckpt)) {
      root.put("checkpoint", ckpt.toString());
      root.put("layout", src.layout().toString());
      Map<String, String> tied = src.sharedWith();
      Map<String, long[]> byTop = new TreeMap<>();
      long total = 0;
      com.fasterxml.jackson.databind.node.ArrayNode list = om.createArrayNode();
      for (WeightSource.Entry e : src.entries().values()) {
        String top = src.layout() == WeightSource.Layout.TF ? e.name().split("/")[0] : e.name().split("\\.")[0];
        long params = tied.containsKey(e.name()) ? 0 : e.elements();
        byTop.computeIfAbsent(top, k -> new long[2]);
        byTop.get(top)[0]++;
        byTop.get(top)[1] += params;
        total += params;
        if (weights) {
          com.fasterxml.jackson.databind.node.ObjectNode t = list.addObject();
          t.put("name", e.name());
          t.put("dtype", e.dtype().toString());
          com.fasterxml.jackson.databind.node.ArrayNode shape = t.putArray("shape");
          for (long d : e.shape()) {
            shape.add(d);
          }
          if (tied.containsKey(e.name())) {
            t.put("tied_to", tied.get(e.name()));
          }
        }
      }
      com.fasterxml.jackson.databind.node.ObjectNode groups = root.putObject("groups");
      byTop.forEach((k, v) -> groups.putObject(k).put("tensors", v[0]).put("parameters", v[1]));
      root.put("tensors", src.entries().size());
      root.put("total_parameters", total);
      tied.keySet().forEach(root.putArray("tied")::add);
      byTop.keySet().forEach(root.putArray("heads_present")::add);
      if (weights) {
        root.set("weights", list);
      }
    }
    return om.writerWithDefaultPrettyPrinter().writeValueAsString(root);
  }
}
