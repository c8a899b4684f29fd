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
  @Option(names = "--json", description = "SavedModels: print JSON instead of text.")
  boolean json;
  @Option(names = "--weights", description = "Model directories: list every weight (default: a summary).")
  boolean weights;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    PrintWriter w = spec.commandLine().getOut();
    Path config = path.resolve("config.json");
    // Any config.json (also a directory or a broken link in its place) makes this a model directory, so the
    // message is about config.json, not "not a SavedModel".
    if (Files.exists(config, LinkOption.NOFOLLOW_LINKS)) {
      inspectModelDir(w);
      return 0;
    }
    w.print(SavedModelSupport.describe(path, json));
    w.flush();
    return 0;
  }

  private void inspectModelDir(PrintWriter w) throws IOException {
    LxmertConfig c = LxmertConfig.fromJsonFile(path.resolve("config.json"));
    Path ckpt = WeightSources.checkpointIn(path);
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
}
