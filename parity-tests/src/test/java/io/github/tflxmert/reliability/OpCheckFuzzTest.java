package io.github.tflxmert.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.savedmodel.OpInventory;
import io.github.tflxmert.savedmodel.SavedModelLoader;
import io.github.tflxmert.savedmodel.UnsafeSavedModelException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A short seeded run of the SavedModel op-check fuzzer ({@link SavedModelGen} through {@link SavedModelTargets}):
 * 3,000 generated models, every {@value SavedModelTargets#DISK_EVERY}th also through the loader on disk, each
 * refused exactly when the generator placed a denied op the model's policy does not allow, naming op, node,
 * function and call chain. The long run is {@code scripts/fuzz.sh 100000 1 opcheck savedmodel}.
 */
class OpCheckFuzzTest {
  static final int MODELS = 3_000;

  @Test
  void checkAgreesWithTheGenerator() {
    Fuzz.Report r = assertTimeoutPreemptively(Duration.ofSeconds(120),
        () -> Fuzz.run(FuzzTargets.OPCHECK, MODELS, 20240611L, null, System.out));
    System.out.println(r.summary());
    System.out.println(FuzzTargets.OPCHECK.stats());
    assertTrue(r.findings().isEmpty(), "findings:\n" + String.join("\n", r.findings()));
    assertTrue(r.accepted() > MODELS / 5 && r.rejected() > MODELS / 5, r.summary());
  }

  /** The generator reaches every kind of place, in both verdicts, within a few hundred models. */
  @Test
  void generatorCoversEveryPlacement() {
    Set<SavedModelGen.Where> refused = EnumSet.noneOf(SavedModelGen.Where.class);
    Set<SavedModelGen.Where> harmless = EnumSet.noneOf(SavedModelGen.Where.class);
    int deepChains = 0;
    int allowed = 0;
    for (long seed = 0; seed < 500; seed++) {
      SavedModelGen.Model m = SavedModelGen.generate(seed);
      for (SavedModelGen.Placed p : m.placed()) {
        if (m.refused().contains(p)) {
          refused.add(p.where());
          deepChains += p.chain().size() >= 5 ? 1 : 0;
        } else if (p.finding()) {
          allowed++;
        } else {
          harmless.add(p.where());
        }
      }
    }
    assertEquals(EnumSet.allOf(SavedModelGen.Where.class), refused);
    assertEquals(EnumSet.of(SavedModelGen.Where.GRAPH, SavedModelGen.Where.CHAIN, SavedModelGen.Where.UNCALLED,
        SavedModelGen.Where.SAVER, SavedModelGen.Where.SAVER_FUNCTION), harmless);
    assertTrue(deepChains > 10, "chains of four or more functions: " + deepChains);
    assertTrue(allowed > 10, "allowed findings: " + allowed);
  }

  /** The oracle is not vacuous: dropping one refused op from the policy's view is noticed. */
  @Test
  void oracleNoticesAMissedOp() {
    for (long seed = 0; ; seed++) {
      SavedModelGen.Model m = SavedModelGen.generate(seed);
      if (m.refused().size() < 2) {
        continue;
      }
      UnsafeSavedModelException e = assertThrows(UnsafeSavedModelException.class,
          () -> SavedModelLoader.builder().allowOps(m.allowed()).build().checkOps(m.metaGraph(), Path.of("x")));
      OpInventory inv = OpInventory.of(m.metaGraph());
      assertNull(SavedModelGen.verify(m, inv, e));
      List<OpInventory.Finding> fewer = e.findings().subList(1, e.findings().size());
      assertTrue(SavedModelGen.verify(m, inv, new UnsafeSavedModelException(Path.of("x"), fewer)) != null);
      assertTrue(SavedModelGen.verify(m, inv, null) != null);
      return;
    }
  }
}
