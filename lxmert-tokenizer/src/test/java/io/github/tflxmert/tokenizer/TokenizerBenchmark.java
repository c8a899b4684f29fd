package io.github.tflxmert.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Single-threaded throughput of {@link LxmertTokenizer#encode(String)} on a corpus file written by
 * {@code parity-tests/python/bench_tokenizer.py --write-corpus} (gzip'd JSON lines {"text": ...}). Run by
 * {@code scripts/bench-tokenizer.sh}, which times HF's Rust tokenizer on the same file.
 *
 * <p>A benchmark, not a test: it lives in the test sources so that the library jar has no {@code main}. Usage (the
 * script puts the module's classes, test classes and Jackson on the class path): {@code java
 * -XX:ActiveProcessorCount=1 -cp CLASSPATH io.github.tflxmert.tokenizer.TokenizerBenchmark VOCAB CORPUS
 * [warmupRounds] [timedRounds]}
 */
public final class TokenizerBenchmark {
  private TokenizerBenchmark() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: TokenizerBenchmark VOCAB.txt CORPUS.jsonl.gz [warmup=5] [rounds=7]");
      System.exit(2);
    }
    LxmertTokenizer tok = LxmertTokenizer.fromVocab(Path.of(args[0]), TokenizerOptions.defaults());
    List<String> texts = readCorpus(Path.of(args[1]));
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 7;
    long tokens = 0;
    for (String t : texts) {
      tokens += tok.encode(t).length() - 2;
    }
    long sink = 0;
    // Warm-up: let the JIT compile the whole pipeline (several full passes, ~seconds) before timing.
    for (int r = 0; r < warmup; r++) {
      sink += pass(tok, texts);
    }
    double[] rates = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      sink += pass(tok, texts);
      rates[r] = tokens / ((System.nanoTime() - t0) / 1e9);
    }
    Arrays.sort(rates);
    System.out.printf("RESULT java strings=%d tokens=%d median_tokens_per_s=%.0f min=%.0f max=%.0f rounds=%d "
        + "(checksum %d)%n", texts.size(), tokens, rates[rounds / 2], rates[0], rates[rounds - 1], rounds, sink);
  }

  private static long pass(LxmertTokenizer tok, List<String> texts) {
    long sum = 0;
    for (String t : texts) {
      Encoding e = tok.encode(t);
      sum += e.inputIds()[e.length() - 2] + e.offsets()[e.offsets().length - 3];
    }
    return sum;
  }

  private static List<String> readCorpus(Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> out = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(file)),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        out.add(json.readTree(line).get("text").asText());
      }
    }
    return out;
  }
}
