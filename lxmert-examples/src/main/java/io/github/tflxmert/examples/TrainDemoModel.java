package io.github.tflxmert.examples;

import io.github.tflxmert.array.FloatArray;
import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.config.OutputNames;
import io.github.tflxmert.OutputSelection;
import io.github.tflxmert.training.LxmertTrainer;
import io.github.tflxmert.training.RandomWeights;
import io.github.tflxmert.training.PretrainingLabels;
import io.github.tflxmert.training.PretrainingLosses;
import io.github.tflxmert.training.TrainingOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains the demo model from scratch on {@link SyntheticVqa} with the Java trainer (QA loss, all weights,
 * AdamW with warm-up and linear decay, clipping 1.0), exports it as an HF model directory (config.json,
 * model.safetensors, vocab.txt) plus answers.json, reloads it with {@code LxmertForPreTraining.fromPretrained}
 * and measures accuracy on held-out scenes (another generator seed), written to training.json.
 *
 * <p>Usage: {@code TrainDemoModel OUT_DIR [steps=12000] [batch=32] [seed=1] [heldOut=2000] [lr=5e-4]}
 */
public final class TrainDemoModel {
  private TrainDemoModel() {}

  public static LxmertConfig config() {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("vocab_size", SyntheticVqa.VOCAB.size());
    c.put("hidden_size", 64);
    c.put("num_attention_heads", 4);
    c.put("intermediate_size", 128);
    c.put("max_position_embeddings", 16);
    c.put("l_layers", 2);
    c.put("x_layers", 2);
    c.put("r_layers", 1);
    c.put("visual_feat_dim", SyntheticVqa.FEATURES);
    c.put("num_qa_labels", SyntheticVqa.ANSWERS.size());
    c.put("num_object_labels", 16);
    c.put("num_attr_labels", 4);
    c.put("task_obj_predict", false);
    c.put("visual_obj_loss", false);
    c.put("visual_attr_loss", false);
    c.put("visual_feat_loss", false);
    return LxmertConfig.defaults().with(c);
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "demo-model");
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 12000;
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    long seed = args.length > 3 ? Long.parseLong(args[3]) : 1;
    int heldOut = args.length > 4 ? Integer.parseInt(args[4]) : 2000;
    float lr = args.length > 5 ? Float.parseFloat(args[5]) : 5e-4f;
    LxmertConfig cfg = config();
    Path tmp = Files.createTempDirectory("demo-init");
    Path init = tmp.resolve("init.safetensors");
    RandomWeights.write(cfg, seed, init);
    TrainingOptions opts = TrainingOptions.builder().losses(PretrainingLosses.Options.only("qa"))
        .learningRate(lr).weightDecay(0.01f).clipNorm(1f).schedule(steps / 20, steps).build();
    SyntheticVqa train = new SyntheticVqa(seed);
    long t0 = System.nanoTime();
    try (LxmertTrainer t = LxmertTrainer.create(cfg, init, opts)) {
      double lossSum = 0;
      for (int s = 1; s <= steps; s++) {
        List<SyntheticVqa.Example> b = train.examples(batch);
        LxmertTrainer.StepResult r = t.step(train.inputs(b), PretrainingLabels.builder()
            .ans(SyntheticVqa.answers(b)).build());
        lossSum += r.loss();
        if (s % 100 == 0) {
          double secs = (System.nanoTime() - t0) / 1e9;
          System.out.printf("step %d  loss %.4f  lr %.3g  grad-norm %.3f  %.1f examples/s%n", s, lossSum / 100,
              r.learningRate(), r.gradNorm(), (double) s * batch / secs);
          lossSum = 0;
        }
      }
      Files.createDirectories(out);
      Path vocab = tmp.resolve("vocab.txt");
      Files.writeString(vocab, String.join("\n", SyntheticVqa.VOCAB) + "\n");
      t.exportPretrained(out, vocab);
    }
    double trainSecs = (System.nanoTime() - t0) / 1e9;
    StringBuilder answers = new StringBuilder("[");
    for (int i = 0; i < SyntheticVqa.ANSWERS.size(); i++) {
      answers.append(i > 0 ? ", " : "").append('"').append(SyntheticVqa.ANSWERS.get(i)).append('"');
    }
    Files.writeString(out.resolve("answers.json"), answers.append("]\n").toString());

    // Held-out: new scenes and questions from another seed, through the exported model.
    SyntheticVqa test = new SyntheticVqa(seed + 1_000_003L);
    Map<String, int[]> byType = new LinkedHashMap<>();
    int correct = 0;
    try (LxmertForPreTraining m = LxmertForPreTraining.fromPretrained(out, LoadOptions.defaults())) {
      for (int done = 0; done < heldOut; done += 200) {
        List<SyntheticVqa.Example> b = test.examples(Math.min(200, heldOut - done));
        FloatArray qa = m.predict(test.inputs(b), OutputSelection.of(List.of(OutputNames.QUESTION_ANSWERING_SCORE)))
            .get(OutputNames.QUESTION_ANSWERING_SCORE);
        for (int i = 0; i < b.size(); i++) {
          boolean ok = qa.argmax(i) == b.get(i).answer();
          correct += ok ? 1 : 0;
          int[] c = byType.computeIfAbsent(b.get(i).type(), k -> new int[2]);
          c[0] += ok ? 1 : 0;
          c[1]++;
        }
      }
    }
    double acc = (double) correct / heldOut;
    StringBuilder json = new StringBuilder("{\n");
    json.append(String.format(" \"held_out_accuracy\": %.4f,%n \"held_out_examples\": %d,%n", acc, heldOut));
    json.append(" \"held_out_accuracy_by_type\": {");
    int k = 0;
    for (Map.Entry<String, int[]> e : byType.entrySet()) {
      json.append(k++ > 0 ? ", " : "").append(String.format("\"%s\": %.4f", e.getKey(),
          (double) e.getValue()[0] / e.getValue()[1]));
    }
    json.append("},\n");
    json.append(String.format(" \"steps\": %d,%n \"batch\": %d,%n \"seed\": %d,%n \"train_seconds\": %.1f,%n",
        steps, batch, seed, trainSecs));
    json.append(" \"optimizer\": \"AdamW lr " + lr + ", betas 0.9/0.999, eps 1e-6, weight decay 0.01, clip 1.0, "
        + "linear warm-up 5% then linear decay\",\n");
    json.append(" \"command\": \"scripts/train-demo-model.sh OUT " + steps + " " + batch + " " + seed + " " + heldOut + " " + lr + "\"\n}\n");
    Files.writeString(out.resolve("training.json"), json.toString());
    System.out.print(json);
  }
}
