package io.github.tflxmert.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * HF's {@code decode} for the slow tokenizer: ids to tokens, tokens joined by spaces with " ##" removed and
 * stripped ({@code convert_tokens_to_string}), additional special tokens outside the vocabulary kept as separate
 * pieces, then optionally {@code clean_up_tokenization}. Immutable; thread-safe.
 */
final class Decoder {
  private final AddedTokens added;
  private final IntFunction<String> idToToken;

  Decoder(AddedTokens added, IntFunction<String> idToToken) {
    this.added = added;
    this.idToToken = idToToken;
  }

  String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces) {
    List<String> subTexts = new ArrayList<>();
    List<String> current = new ArrayList<>();
    for (int id : ids) {
      if (skipSpecialTokens && added.specialIds().contains(id)) {
        continue;
      }
      String token = idToToken.apply(id);
      if (skipSpecialTokens && added.contains(token)) {
        continue; // an out-of-range id decodes to [UNK], which is special
      }
      if (added.isLegacy(token)) {
        if (!current.isEmpty()) {
          String s = tokensToString(current);
          if (!s.isEmpty()) {
            subTexts.add(s);
          }
          current.clear();
        }
        subTexts.add(token);
      } else {
        current.add(token);
      }
    }
    if (!current.isEmpty()) {
      subTexts.add(tokensToString(current));
    }
    String text = String.join(" ", subTexts);
    return cleanUpTokenizationSpaces ? cleanUp(text) : text;
  }

  /** HF {@code convert_tokens_to_string}. */
  static String tokensToString(List<String> tokens) {
    return PythonStrings.strip(String.join(" ", tokens).replace(" ##", ""));
  }

  /** HF {@code clean_up_tokenization}: no space before . ? ! , and in English contractions. */
  static String cleanUp(String text) {
    return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
        .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
        .replace(" 've", "'ve").replace(" 're", "'re");
  }
}
