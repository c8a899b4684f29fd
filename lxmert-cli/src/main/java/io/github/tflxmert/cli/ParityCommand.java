package io.github.tflxmert.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.graph.KernelFusion;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertInputs;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.parity.ParityOptions;
import io.github.tflxmert.parity.ParityReport;
import io.github.tflxmert.parity.ReferenceDirectory;
import io.github.tflxmert.parity.Tolerance;
import io.github.tflxmert.parity.TensorComparison;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code lxmert parity}: every tensor of a reference directory against a model; exit 1 on failure. */
@Command(name = "parity", mixinStandardHelpOptions = true,
    description = {"Compare every tensor of a reference directory (written by parity-tests/python/"
        + "export_reference.py, or by your own script: docs/reference-format.md) with a model's outputs, under the "
        + "tolerance model |actual - expected| <= atol + rtol * |expected| element-wise (torch.testing.assert_close's "
        + "float32 defaults), NaN and infinities in place. Prints per case a table in execution order (max abs, max "
        + "rel, max ulp, elements over tolerance, ratio to Python's own eager/traced noise, which rule passed it, the "
        + "worst element) and the first diverging tensor; exits 1 if any tensor fails. This is the command a CI "
        + "calls.", "",
        "Examples:",
        "  ./lxmert parity --reference parity-tests/fixtures/tiny --model parity-tests/fixtures/tiny/model",
        "  ./lxmert parity --reference ref/ --saved-model export/1 --rtol 0 --atol 0 --strict --json report.json"})
final class ParityCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;
  @Mixin Common.PrecisionOption precision;

  @Option(names = "--reference", required = true, paramLabel = "DIR", description = "Reference directory.")
  Path reference;

  static class ModelChoice {
    @Option(names = "--model", paramLabel = "DIR", description = "HF model directory (run by the Java graph).")
    Path model;
    @Option(names = "--saved-model", paramLabel = "DIR", description = "SavedModel directory.")
    Path savedModel;
  }

  @ArgGroup(exclusive = true, multiplicity = "1") ModelChoice choice;

  @Option(names = "--checkpoint", paramLabel = "FILE", description = "Checkpoint file inside or outside --model "
      + "(default: model.safetensors, else tf_model.h5).")
  Path checkpoint;
  @Option(names = "--rtol", defaultValue = "1.3e-6", description = "Relative tolerance (default 1.3e-6, "
      + "torch's float32 default).")
  double rtol;
  @Option(names = "--atol", defaultValue = "1e-5", description = "Absolute tolerance (default 1e-5, torch's "
      + "float32 default).")
  double atol;
  @Option(names = "--strict", description = "Only the fixed tolerance passes a tensor: no tensor passes for staying "
      + "within 2x Python's own eager/traced noise.")
  boolean strict;
  @Option(names = "--xla", description = "Graph path with XLA auto-clustering (on CPU only with the environment "
      + "variable TF_XLA_FLAGS=--tf_xla_cpu_global_jit).")
  boolean xla;
  @Option(names = "--graph-optimizer", description = "Graph path with TensorFlow's graph optimizer (Grappler) on; "
      + "off by default (see LoadOptions.graphOptimizer).")
  boolean graphOptimizer;
  @Option(names = "--unfused", description = "Graph path with Dense layers and LayerNorm as Keras' separate ops "
      + "instead of fused kernels (see LoadOptions.kernelFusion).")
  boolean unfused;
  @Option(names = "--json", paramLabel = "FILE", description = "Also write the report as JSON (every field of "
      + "every tensor).")
  Path jsonFile;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    PrintWriter w = spec.commandLine().getOut();
    ParityOptions options;
    try {
      options = ParityOptions.defaults().withTolerance(new Tolerance(rtol, atol)).withStrict(strict);
      if (precision.precision == io.github.tflxmert.Precision.BFLOAT16) {
        options = ParityOptions.bfloat16().withTolerance(options.tolerance()); // judged by the bf16 budget
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--rtol/--atol: " + e.getMessage());
    }
    ObjectMapper om = new ObjectMapper();
    ObjectNode root = om.createObjectNode();
    root.put("reference", reference.toString());
    root.put("rtol", rtol);
    root.put("atol", atol);
    ArrayNode cases = root.putArray("cases");
    boolean passed = true;
    try (ReferenceDirectory ref = ReferenceDirectory.open(reference);
         LxmertPredictor model = open()) {
      Common.reportAuto(precision.precision, model, spec.commandLine().getErr());
      if (precision.precision == io.github.tflxmert.Precision.AUTO && model instanceof io.github.tflxmert.GraphPredictor g
          && g.precision() == io.github.tflxmert.Precision.BFLOAT16) {
        options = ParityOptions.bfloat16().withTolerance(options.tolerance());
      }
      root.put("strict", options.strict());   // a bfloat16 run is always strict (ParityOptions.bfloat16)
      root.put("precision", model instanceof io.github.tflxmert.GraphPredictor g ? g.precision().shortName()
          : precision.precision.shortName());
      if (options.budget() != null) {
        w.println("judged by the bfloat16 " + options.budget() + " (strict: Python's float32 noise says nothing "
            + "about bfloat16 rounding)");
      }
      for (ReferenceDirectory.Case c : ref.cases()) {
        Set<String> compared = new LinkedHashSet<>(c.outputNames());
        compared.retainAll(model.availableOutputs());
        LxmertInputs inputs;
        try {
          inputs = LxmertInputs.fromArrays(c.inputs());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(reference + ": case " + c.name() + ": " + e.getMessage(), e);
        }
        Map<String, FloatArray> actual = model.predict(inputs, OutputSelection.of(compared)).asMap();
        ParityReport r = c.compare(ref.name() + "/" + c.name(), actual, options, compared);
        w.println(r.table());
        r.firstDivergence().ifPresent(f -> w.println("first divergence: " + f.tensor() + " (" + r.block(f.tensor())
            + "), " + describe(f)));
        passed &= r.passed();
        ObjectNode cn = r.toJson();
        cn.put("case", c.name());
        cases.add(cn);
      }
    }
    root.put("passed", passed);
    if (jsonFile != null) {
      Files.writeString(jsonFile, om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }
    w.println(passed ? "PARITY PASSED" : "PARITY FAILED");
    return passed ? 0 : 1;
  }

  private LxmertPredictor open() throws IOException {
    if (choice.savedModel != null) {
      return SavedModelPredictor.open(choice.savedModel);
    }
    LoadOptions o = (checkpoint == null ? LoadOptions.defaults() : LoadOptions.defaults().withWeightFile(checkpoint))
        .withXla(xla).withGraphOptimizer(graphOptimizer)
        .withKernelFusion(unfused ? KernelFusion.OFF : KernelFusion.ONEDNN).withPrecision(precision.precision);
    return LxmertForPreTraining.fromPretrained(choice.model, o);
  }

  private static String describe(TensorComparison t) {
    return t.problem() != null ? t.problem() : t.overTolerance() + " of " + t.elements() + " elements over "
        + "tolerance, max abs " + String.format(java.util.Locale.ROOT, "%.3g", t.maxAbs()) + ", worst "
        + t.worstElement();
  }
}
