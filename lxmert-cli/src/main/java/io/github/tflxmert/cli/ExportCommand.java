package io.github.tflxmert.cli;

import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.export.SavedModelExporter;
import io.github.tflxmert.graph.LxmertGraph;
import io.github.tflxmert.weights.WeightSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lxmert export}: a SavedModel for TF Serving, with HF's signatures. Its {@code --version} is the version
 * directory (TF Serving's word), so picocli's standard help options are not mixed in (their {@code --version}
 * would clash and drop {@code -h}/{@code --help}); {@code -h}/{@code --help} are declared here instead.
 */
@Command(name = "export",
    description = {"Export an HF model directory as a SavedModel in BASE/VERSION/ with the signatures HF writes "
        + "(serving_default int32, int64_serving int64; inputs input_ids, attention_mask, token_type_ids, "
        + "visual_feats, visual_pos, visual_attention_mask), method tensorflow/serving/predict.", "",
        "Example: ./lxmert export --model lxmert-base-uncased --out /models/lxmert --version 1"})
final class ExportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;
  @Mixin Common.PrecisionOption precision;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
  boolean help;
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory.")
  Path model;
  @Option(names = "--out", required = true, paramLabel = "BASE", description = "TF Serving base directory.")
  Path out;
  @Option(names = "--version", defaultValue = "1", description = "Version directory number (default 1).")
  int version;
  @Option(names = "--base-model", description = "Export TFLxmertModel outputs (language_output, vision_output, "
      + "pooled_output) instead of the pretraining heads.")
  boolean baseModel;
  @Option(names = "--hidden-states", description = "Also return language/vision_hidden_states, stacked.")
  boolean hiddenStates;
  @Option(names = "--attentions", description = "Also return the attentions, stacked.")
  boolean attentions;
  @Option(names = "--cross-layer-attentions", description = "Also return the cross layers' attentions HF drops, "
      + "stacked: cross_encoder_vision_attentions [x,B,h,N,S], cross_encoder_language_self_attentions [x,B,h,S,S], "
      + "cross_encoder_vision_self_attentions [x,B,h,N,N].")
  boolean crossLayerAttentions;

  /**
   * bf16 exports mixed bfloat16 whatever this machine has (the serving machine runs it); auto exports what this
   * machine would run.
   */
  private io.github.tflxmert.Precision exportPrecision() {
    return precision.precision == io.github.tflxmert.Precision.AUTO
        ? precision.precision.resolve(io.github.tflxmert.Bfloat16Support.detect()) : precision.precision;
  }

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    if (version < 0) {
      throw new IllegalArgumentException("--version: expected a non-negative version number, found " + version);
    }
    Common.checkWritableDirectory("--out", out);
    LxmertConfig config = LxmertConfig.fromJsonFile(model.resolve("config.json"));
    // A question-answering checkpoint (config.json architectures, else its weights) exports its answer head.
    boolean qa = !baseModel
        && io.github.tflxmert.ModelClass.of(model, null).modelClass() == io.github.tflxmert.ModelClass.QUESTION_ANSWERING;
    SavedModelExporter.Options o = SavedModelExporter.Options.pretraining()
        .withKind(baseModel ? LxmertGraph.Kind.BASE : qa ? LxmertGraph.Kind.QUESTION_ANSWERING
            : LxmertGraph.Kind.PRETRAINING)
        .withHiddenStates(hiddenStates).withAttentions(attentions).withCrossLayerAttentions(crossLayerAttentions)
        .withMixedBfloat16(exportPrecision() == io.github.tflxmert.Precision.BFLOAT16);
    Path dir = SavedModelExporter.export(config, WeightSources.checkpointIn(model), out, version, o);
    Path vocab = model.resolve("vocab.txt");
    if (Files.isRegularFile(vocab) && !Files.exists(out.resolve("vocab.txt"))) {
      Files.copy(vocab, out.resolve("vocab.txt")); // so `run --saved-model BASE` finds it (config.json: the exporter)
    }
    spec.commandLine().getOut().println("exported " + dir + " (" + exportPrecision().shortName()
        + "; signatures serving_default, int64_serving, float32 in and out; outputs "
        + SavedModelExporter.outputKeys(config, o) + ")");
    return 0;
  }
}
