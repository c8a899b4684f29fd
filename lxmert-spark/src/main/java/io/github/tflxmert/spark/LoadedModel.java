package io.github.tflxmert.spark;

import io.github.tflxmert.LoadOptions;
import io.github.tflxmert.LxmertForPreTraining;
import io.github.tflxmert.LxmertPredictor;
import io.github.tflxmert.config.LxmertConfig;
import io.github.tflxmert.config.LabelFile;
import io.github.tflxmert.savedmodel.SavedModelLocation;
import io.github.tflxmert.savedmodel.SavedModelPredictor;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.tokenizer.TokenizerOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A model ready to score rows: the predictor, its tokenizer and the answer labels. Thread-safe (the predictor
 * serves concurrent calls; the tokenizer and labels are immutable). Owns the predictor: {@link #close()} frees
 * it. Instances are made and closed by {@link SharedModels}, never by the tasks that use them.
 */
final class LoadedModel implements AutoCloseable {
  final ModelSpec spec;
  final LxmertPredictor predictor;
  final LxmertTokenizer tokenizer;
  /** Answer label per index of question_answering_score; entries past the list are named "#i". */
  final List<String> answers;
  final long loadMillis;

  private LoadedModel(ModelSpec spec, LxmertPredictor predictor, LxmertTokenizer tokenizer, List<String> answers,
                      long loadMillis) {
    this.spec = spec;
    this.predictor = predictor;
    this.tokenizer = tokenizer;
    this.answers = answers;
    this.loadMillis = loadMillis;
  }

  LxmertConfig config() {
    return predictor.config();
  }

  String answer(int index) {
    return index < answers.size() && answers.get(index) != null ? answers.get(index) : "#" + index;
  }

  /** Loads the model a spec names; the caller owns (closes) the result. */
  static LoadedModel load(ModelSpec spec, Configuration hadoopConf) {
    long t0 = System.nanoTime();
    Path dir = ModelFiles.localize(spec.modelPath(), hadoopConf);
    ModelFiles.Kind kind = ModelFiles.kind(dir, spec.modelPath());
    try {
      LxmertTokenizer tok;
      Path labelsDir;
      LxmertPredictor p;
      if (kind == ModelFiles.Kind.HF_DIRECTORY) {
        tok = LxmertTokenizer.fromDirectory(dir);
        labelsDir = dir;
        LoadOptions o = spec.intraOpThreads() > 0 ? LoadOptions.defaults().withThreads(spec.intraOpThreads(), 1)
            : LoadOptions.defaults();
        p = LxmertForPreTraining.fromPretrained(dir, o);
      } else {
        SavedModelLocation loc = SavedModelLocation.resolve(dir);
        Path vocab = Files.isRegularFile(loc.dir().resolve("vocab.txt")) ? loc.dir().resolve("vocab.txt")
            : dir.resolve("vocab.txt");
        if (!Files.isRegularFile(vocab)) {
          throw new IllegalArgumentException("modelPath " + spec.modelPath() + ": expected vocab.txt in the SavedModel "
              + "directory or its base directory, found none");
        }
        tok = LxmertTokenizer.fromVocab(vocab, TokenizerOptions.defaults());
        labelsDir = dir;
        SavedModelPredictor.Builder b = SavedModelPredictor.builder(dir);
        if (spec.intraOpThreads() > 0) {
          b.intraOpThreads(spec.intraOpThreads()).interOpThreads(1);
        }
        p = b.open();
      }
      List<String> labels;
      try {
        labels = readLabels(spec, labelsDir, hadoopConf);
      } catch (RuntimeException | IOException e) {
        p.close();
        throw e;
      }
      return new LoadedModel(spec, p, tok, labels, (System.nanoTime() - t0) / 1_000_000);
    } catch (IOException e) {
      throw new UncheckedIOException("modelPath " + spec.modelPath() + ": cannot load the model: " + e.getMessage(), e);
    }
  }

  private static List<String> readLabels(ModelSpec spec, Path modelDir, Configuration conf) throws IOException {
    Path file;
    if (!spec.answersPath().isEmpty()) {
      file = ModelFiles.localize(spec.answersPath(), conf);
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("answersPath " + spec.answersPath() + ": expected a label file, found a "
            + "directory");
      }
    } else {
      file = modelDir.resolve("answers.json");
      if (!Files.isRegularFile(file)) {
        return List.of();
      }
    }
    return readLabels(file);
  }

  /** A JSON list, a JSON object label→index, or one label per line ({@link LabelFile}). */
  static List<String> readLabels(Path file) throws IOException {
    return LabelFile.parse(Files.readString(file), "answersPath " + file);
  }

  @Override
  public void close() {
    predictor.close();
  }
}
