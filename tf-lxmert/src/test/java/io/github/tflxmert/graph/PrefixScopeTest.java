package io.github.tflxmert.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tflxmert.config.LxmertConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operation;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/** {@link PrefixScope} names every op exactly as TensorFlow Java's own scopes do. */
class PrefixScopeTest {
  static final LxmertConfig SMALL = LxmertConfig.defaults().with(Map.of("vocab_size", 50, "hidden_size", 8,
      "num_attention_heads", 2, "intermediate_size", 16, "l_layers", 2, "x_layers", 2, "r_layers", 1,
      "visual_feat_dim", 6, "num_qa_labels", 5, "num_object_labels", 7));

  /** Op names and types in creation order, built like the exporter: two signatures over one set of weights. */
  static List<String> build(boolean prefixScope) {
    try (Graph g = new Graph()) {
      ModelScope ms = prefixScope ? new ModelScope(g) : new ModelScope(g, Ops.create(g));
      new LxmertGraph(ms, SMALL, LxmertGraph.Kind.PRETRAINING, "a_", TInt32.class);
      new LxmertGraph(ms, SMALL, LxmertGraph.Kind.PRETRAINING, "b_", TInt64.class);
      ms.root().withName("step").noOp();
      ms.root().withName("step").noOp();
      List<String> ops = new ArrayList<>();
      for (Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
        GraphOperation op = it.next();
        ops.add(op.name() + " " + op.type());
      }
      return ops;
    }
  }

  @Test
  void namesEveryOpAsTensorFlowJavaDoes() {
    List<String> ours = build(true);
    List<String> theirs = build(false);
    assertTrue(ours.size() > 1000, "a graph of " + ours.size() + " ops");
    assertEquals(theirs, ours);
  }

  @Test
  void neverReusesANameAnotherScopeAddedToTheGraph() {
    try (Graph g = new Graph()) {
      Ops other = Ops.create(g).withSubScope("x");
      other.withName("Const").constant(1f);
      other.withName("Const_1").constant(1f);
      Ops ours = PrefixScope.rootOps(g).withSubScope("x");
      Operation a = ours.constant(2f).op();
      Operation b = ours.constant(3f).op();
      assertEquals("x/Const_2", a.name());
      assertEquals("x/Const_3", b.name());
      assertNotNull(g.operation("x/Const"));
    }
  }

  @Test
  void carriesControlDependencies() {
    try (Graph g = new Graph()) {
      Ops ours = PrefixScope.rootOps(g);
      Operation first = ours.withName("first").noOp().op();
      GraphOperation second = (GraphOperation) ours.withControlDependencies(List.of(ours.noOp()))
          .withName("second").noOp().op();
      assertEquals(1, second.numControlInputs());
      assertEquals("first", first.name());
      assertThrows(IllegalArgumentException.class, () -> ours.withName("bad name").noOp());
    }
  }
}
