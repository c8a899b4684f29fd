package io.github.tflxmert.parity;

import io.github.tflxmert.array.FloatArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.opentest4j.AssertionFailedError;

/**
 * JUnit 5 assertions over the tolerance model. A failure's message is the report table (every tensor, its
 * deviations, the worst element and where the difference starts). Stateless; thread-safe.
 *
 * <pre>{@code
 * @TestFactory
 * Stream<DynamicNode> matchesPython() throws IOException {
 *   ReferenceDirectory ref = ReferenceDirectory.open(Path.of("ref"));
 *   return ParityAssertions.referenceTests(ref, c -> myModel.run(c.inputs()), ParityOptions.defaults());
 * }
 * }</pre>
 */
public final class ParityAssertions {
  private ParityAssertions() {}

  /** The model under test: its outputs, by name, for one case of a reference directory. */
  @FunctionalInterface
  public interface Model {
    Map<String, FloatArray> run(ReferenceDirectory.Case c) throws Exception;
  }

  /** Asserts one tensor within {@link Tolerance#FLOAT32}. */
  public static void assertAllClose(FloatArray expected, FloatArray actual) {
    assertAllClose(expected, actual, Tolerance.FLOAT32);
  }

  /** Asserts one tensor within a tolerance (strict: no noise rule; no argmax check). */
  public static void assertAllClose(FloatArray expected, FloatArray actual, Tolerance tolerance) {
    assertPassed(ParityReport.compare("tensor", Map.of("tensor", expected), Map.of("tensor", actual),
        ParityOptions.defaults().withTolerance(tolerance).withStrict(true).withScoreTensors(Set.of())));
  }

  /** Asserts every tensor of {@code expected} against {@code actual} under the options. */
  public static ParityReport assertAllClose(String title, Map<String, FloatArray> expected,
                                            Map<String, FloatArray> actual, ParityOptions options) {
    return assertPassed(ParityReport.compare(title, expected, actual, options));
  }

  /** Fails with the report's table unless it passed; returns it when it did. */
  public static ParityReport assertPassed(ParityReport report) {
    if (!report.passed()) {
      throw new AssertionFailedError(report.table());
    }
    return report;
  }

  /**
   * Dynamic tests for a reference directory: one container per case, one test per recorded output, in execution
   * order; the model runs once per case, when the case's first test runs. A model that fails or lacks an output
   * fails that case's tests, with the reason.
   */
  public static Stream<DynamicNode> referenceTests(ReferenceDirectory ref, Model model, ParityOptions options) {
    List<DynamicNode> nodes = new ArrayList<>();
    for (ReferenceDirectory.Case c : ref.cases()) {
      Report lazy = new Report(c, model, options);
      List<DynamicTest> tests = new ArrayList<>();
      for (String tensor : ref.executionOrder().sort(c.outputNames())) {
        tests.add(DynamicTest.dynamicTest(tensor, () -> {
          ParityReport r = lazy.get();
          TensorComparison row = r.rows().stream().filter(t -> t.tensor().equals(tensor)).findFirst().orElseThrow();
          if (!row.passed()) {
            throw new AssertionFailedError(c + ": " + row + (row.problem() != null ? " (" + row.problem() + ")"
                : ", worst " + row.worstElement()) + "\n" + r.table());
          }
        }));
      }
      nodes.add(DynamicContainer.dynamicContainer(c.name(), tests));
    }
    return nodes.stream();
  }

  /** The report of one case, computed once. */
  private static final class Report {
    private final ReferenceDirectory.Case c;
    private final Model model;
    private final ParityOptions options;
    private ParityReport report;
    private Exception failure;

    Report(ReferenceDirectory.Case c, Model model, ParityOptions options) {
      this.c = c;
      this.model = model;
      this.options = options;
    }

    synchronized ParityReport get() throws Exception {
      if (report == null && failure == null) {
        try {
          report = c.compare(c.toString(), model.run(c), options, null);
        } catch (Exception e) {
          failure = e;
        }
      }
      if (failure != null) {
        throw new AssertionFailedError(c + ": the model failed: " + failure, failure);
      }
      return report;
    }
  }
}
