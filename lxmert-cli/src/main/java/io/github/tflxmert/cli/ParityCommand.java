package io.github.tflxmert.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.reference.ParityReport;
import io.github.tflxmert.reference.ReferenceDirectory;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lxmert parity}: every tensor of a reference directory against a model; non-zero exit on failure. */
@Command(name = "parity", mixinStandardHelpOptions = true,
    description = {"Compare every tensor of a reference directory (written by parity-tests/python/"
        + "export_reference.py) with a model's outputs. Prints a table (tensor, shape, max abs, max rel, argmax "
        + "mismatches, ok) per case and exits 1 if any tensor misses --atol. This is the command a CI calls.", "",
        "Examples:",
        "  ./lxmert parity --reference parity-tests/fixtures/tiny --model parity-tests/fixtures/tiny/model",
        "  ./lxmert parity --reference ref/ --saved-model export/ --atol 1e-6 --json report.json"})
final class ParityCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;

  @Option(names = "--reference", required = true, paramLabel = "DIR", description = "Reference directory.")
  Path reference;

  static class ModelChoice {
    @Option(names = "--model", paramLabel = "DIR", description = "HF model directory.")
    Path model;
    @Option(names = "--saved-model", paramLabel = "DIR", description = "SavedModel directory.")
    Path savedModel;
  }

  @ArgGroup(exclusive = true, multiplicity = "1") ModelChoice choice;

  @Option(names = "--checkpoint", paramLabel = "FILE", description = "Checkpoint file inside or outside --model "
      + "(default: model.safetensors, else tf_model.h5).")
  Path checkpoint;
  @Option(names = "--atol", defaultValue = "1e-5", description = "Largest allowed absolute difference "
      + "(default 1e-5).")
  double atol;
  @Option(names = "--xla", description = "Graph path with XLA auto-clustering (on CPU only with the environment "
      + "variable TF_XLA_FLAGS=--tf_xla_cpu_global_jit).")
  boolean xla;
  @Option(names = "--graph-optimizer", description = "Graph path with TensorFlow's graph optimizer (Grappler) on; "
      + "off by default (see LoadOptions.graphOptimizer).")
  boolean graphOptimizer;
  @Option(names = "--unfused", description = "Graph path with Dense layers and LayerNorm as Keras' separate ops "
      + "instead of fused kernels (see LoadOptions.kernelFusion).")
  boolean unfused;
  @Option(names = "--json", paramLabel = "FILE", description = "Also write the report as JSON.")
  Path jsonFile;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    PrintWriter w = spec.commandLine().getOut();
    ObjectMapper om = new ObjectMapper();
    ObjectNode root = om.createObjectNode();
    ArrayNode cases = root.putArray("cases");
    boolean passed = true;
    try (ReferenceDirectory ref = ReferenceDirectory.open(reference);
         LxmertPredictor model = choice.savedModel != null ? SavedModelPredictor.open(choice.savedModel)
             : LxmertForPreTraining.fromPretrained(choice.model,
                 (checkpoint == null ? LoadOptions.defaults() : LoadOptions.defaults().withWeightFile(checkpoint))
                     .withXla(xla).withGraphOptimizer(graphOptimizer)
                     .withKernelFusion(unfused ? KernelFusion.OFF : KernelFusion.ONEDNN))) {
      root.put("reference", reference.toString());
      root.put("atol", atol);
      for (ReferenceDirectory.Case c : ref.cases()) {
        Map<String, FloatArray> expected = new LinkedHashMap<>();
        for (String n : c.outputNames()) {
          if (model.availableOutputs().contains(n)) {
            expected.put(n, c.output(n));
          }
        }
        Map<String, FloatArray> actual = model.predict(c.inputs(), OutputSelection.of(expected.keySet())).asMap();
        ParityReport r = ParityReport.compare(ref.name() + "/" + c.name(), expected, actual, atol);
        w.println(r.table());
        passed &= r.passed();
        ObjectNode cn = cases.addObject();
        cn.put("case", c.name());
        cn.put("passed", r.passed());
        cn.put("max_abs", r.maxAbs());
        cn.put("max_rel", r.maxRel());
        cn.put("worst", r.worst().tensor());
        ArrayNode rows = cn.putArray("tensors");
        for (ParityReport.Row row : r.rows()) {
          rows.addObject().put("tensor", row.tensor()).put("max_abs", row.maxAbs()).put("max_rel", row.maxRel())
              .put("argmax_mismatches", row.argmaxMismatches()).put("ok", row.ok())
              .put("problem", row.problem());
        }
      }
    }
    root.put("passed", passed);
    if (jsonFile != null) {
      Files.writeString(jsonFile, om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }
    w.println(passed ? "PARITY PASSED" : "PARITY FAILED");
    return passed ? 0 : 1;
  }
}
