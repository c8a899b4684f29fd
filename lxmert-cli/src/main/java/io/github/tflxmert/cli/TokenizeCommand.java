package io.github.tflxmert.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.tflxmert.tokenizer.Encoding;
import io.github.tflxmert.tokenizer.LxmertTokenizer;
import io.github.tflxmert.tokenizer.TokenizerOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lxmert tokenize}: tokens, ids, token types for a text (or pair). */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
    description = {"Tokenize a text (or a pair) as LxmertTokenizer does: [CLS] A [SEP] (B [SEP]).", "",
        "Examples:", "  ./lxmert tokenize --text \"a cat on a mat\"   (embedded model's vocabulary)",
        "  ./lxmert tokenize --vocab vocab.txt --text \"Who is holding the umbrella?\"",
        "  ./lxmert tokenize --text \"a cat\" --pair \"on a mat\" --json   (embedded model's vocabulary)"})
final class TokenizeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Common.Verbosity verbosity;

  @Option(names = "--vocab", paramLabel = "FILE", description = "vocab.txt (default: the embedded model's).")
  Path vocab;
  @Option(names = "--text", required = true)
  String text;
  @Option(names = "--pair", description = "Second text of a pair (token type 1).")
  String pair;
  @Option(names = "--cased", description = "Keep case and accents (do_lower_case=False).")
  boolean cased;
  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    Common.configureLogging(verbosity.verbose);
    Path v = vocab != null ? vocab : Common.defaultModelDir().resolve("vocab.txt");
    // (a model directory's tokenizer_config.json is honoured by `run`; here the flags decide)
    LxmertTokenizer tok = LxmertTokenizer.fromVocab(v, TokenizerOptions.defaults().withDoLowerCase(!cased));
    Encoding e = pair == null ? tok.encode(text) : tok.encode(text, pair);
    PrintWriter w = spec.commandLine().getOut();
    if (json) {
      ObjectMapper om = new ObjectMapper();
      ObjectNode n = om.createObjectNode();
      n.set("tokens", om.valueToTree(e.tokens()));
      n.set("input_ids", om.valueToTree(e.inputIds()));
      n.set("token_type_ids", om.valueToTree(e.tokenTypeIds()));
      n.set("attention_mask", om.valueToTree(e.attentionMask()));
      int[] off = e.codePointOffsets(text, pair);
      var pairs = n.putArray("offsets");   // [start, end] per token, as HF's offset_mapping; [CLS]/[SEP] are [0, 0]
      for (int i = 0; i < off.length; i += 2) {
        pairs.addArray().add(off[i]).add(off[i + 1]);
      }
      w.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    } else {
      w.println("tokens:         " + String.join(" ", e.tokens()));
      w.println("input_ids:      " + Arrays.toString(e.inputIds()));
      w.println("token_type_ids: " + Arrays.toString(e.tokenTypeIds()));
      int[] off = e.codePointOffsets(text, pair);
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < off.length; i += 2) {
        sb.append(i == 0 ? "" : " ").append('(').append(off[i]).append(',').append(off[i + 1]).append(')');
      }
      w.println("offsets:        " + sb + "  (code points into the text or the pair; [CLS]/[SEP] are (0,0))");
    }
    return 0;
  }
}
