package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The seeded mutation fuzzer ({@link Fuzz}) for 2,000 executions per target, in the normal test suite (about 25 s
 * in all on 2 cores). The long runs (100,000 per target, and Jazzer) are {@code scripts/fuzz.sh}.
 */
class FuzzSmokeTest {
  static final int EXECUTIONS = 2_000;

  static Stream<String> targets() {
    return FuzzTargets.ALL.stream().map(FuzzTargets.Target::name);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("targets")
  void onlyIllegalArgumentExceptionEscapes(String name) {
    Fuzz.Report r = assertTimeoutPreemptively(Duration.ofSeconds(120),
        () -> Fuzz.run(FuzzTargets.named(name), EXECUTIONS, 20240611L, null, System.out));
    System.out.println(r.summary());
    assertTrue(r.findings().isEmpty(), "findings:\n" + String.join("\n", r.findings()));
    // The seeds themselves are valid files, and mutants must exercise both outcomes.
    assertTrue(r.accepted() >= FuzzTargets.named(name).seeds().size(), r.summary());
    if (!name.equals(FuzzTargets.TOKENIZER.name())) { // every string is valid tokenizer input: nothing to reject
      assertTrue(r.rejected() > EXECUTIONS / 4, r.summary());
    }
  }
}
