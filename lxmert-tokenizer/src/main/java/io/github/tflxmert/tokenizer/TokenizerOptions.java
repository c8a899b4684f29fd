package io.github.tflxmert.tokenizer;

import java.util.List;

/**
 * The settings of HF's {@code LxmertTokenizer.__init__} that change its output, with HF's defaults
 * ({@link #defaults()}). {@code tokenizer_config.json} sets them when a tokenizer is read from a directory.
 * Immutable; thread-safe.
 *
 * @param doLowerCase               lower-case text outside special tokens ({@code do_lower_case}, default true)
 * @param stripAccents              {@code strip_accents}: null follows {@code doLowerCase}; true/false force it
 * @param tokenizeChineseChars      surround CJK ideographs with spaces ({@code tokenize_chinese_chars}, default true)
 * @param doBasicTokenize           run BasicTokenizer before WordPiece ({@code do_basic_tokenize}, default true);
 *                                  false skips cleaning, lower-casing and punctuation splitting, as in HF
 * @param neverSplit                tokens BasicTokenizer keeps whole and WordPiece does not split ({@code never_split})
 * @param unkToken                  {@code unk_token}, must be in the vocabulary
 * @param sepToken                  {@code sep_token}
 * @param padToken                  {@code pad_token}
 * @param clsToken                  {@code cls_token}
 * @param maskToken                 {@code mask_token}
 * @param additionalSpecialTokens   {@code additional_special_tokens}: split out of the text and never altered
 * @param modelMaxLength            {@code model_max_length}; 0 = none (HF's 1e30); used when padding to max length
 *                                  or truncating without an explicit length
 * @param cleanUpTokenizationSpaces default of {@code decode}'s {@code clean_up_tokenization_spaces} (default true)
 */
public record TokenizerOptions(boolean doLowerCase, Boolean stripAccents, boolean tokenizeChineseChars,
    boolean doBasicTokenize, List<String> neverSplit, String unkToken, String sepToken, String padToken,
    String clsToken, String maskToken, List<String> additionalSpecialTokens, int modelMaxLength,
    boolean cleanUpTokenizationSpaces) {

  public TokenizerOptions {
    neverSplit = List.copyOf(neverSplit);
    additionalSpecialTokens = List.copyOf(additionalSpecialTokens);
    for (String[] t : new String[][] {{"unk_token", unkToken}, {"sep_token", sepToken}, {"pad_token", padToken},
        {"cls_token", clsToken}, {"mask_token", maskToken}}) {
      if (t[1] == null || t[1].isEmpty()) {
        throw new IllegalArgumentException(t[0] + ": expected a non-empty token, found "
            + (t[1] == null ? "null" : "an empty string"));
      }
    }
    if (modelMaxLength < 0) {
      throw new IllegalArgumentException("model_max_length: expected >= 0 (0 = none), found " + modelMaxLength);
    }
  }

  /** HF's defaults: lower case, accents follow lower case, CJK split, BERT's special tokens, no max length. */
  public static TokenizerOptions defaults() {
    return new TokenizerOptions(true, null, true, true, List.of(), "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]",
        List.of(), 0, true);
  }

  public TokenizerOptions withDoLowerCase(boolean v) {
    return new TokenizerOptions(v, stripAccents, tokenizeChineseChars, doBasicTokenize, neverSplit, unkToken,
        sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, modelMaxLength, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withStripAccents(Boolean v) {
    return new TokenizerOptions(doLowerCase, v, tokenizeChineseChars, doBasicTokenize, neverSplit, unkToken,
        sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, modelMaxLength, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withTokenizeChineseChars(boolean v) {
    return new TokenizerOptions(doLowerCase, stripAccents, v, doBasicTokenize, neverSplit, unkToken,
        sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, modelMaxLength, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withModelMaxLength(int v) {
    return new TokenizerOptions(doLowerCase, stripAccents, tokenizeChineseChars, doBasicTokenize, neverSplit,
        unkToken, sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, v, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withSpecialTokens(String unk, String sep, String pad, String cls, String mask,
      List<String> additional) {
    return new TokenizerOptions(doLowerCase, stripAccents, tokenizeChineseChars, doBasicTokenize, neverSplit,
        unk, sep, pad, cls, mask, additional, modelMaxLength, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withNeverSplit(List<String> v) {
    return new TokenizerOptions(doLowerCase, stripAccents, tokenizeChineseChars, doBasicTokenize, v, unkToken,
        sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, modelMaxLength, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withDoBasicTokenize(boolean v) {
    return new TokenizerOptions(doLowerCase, stripAccents, tokenizeChineseChars, v, neverSplit, unkToken,
        sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, modelMaxLength, cleanUpTokenizationSpaces);
  }

  public TokenizerOptions withCleanUpTokenizationSpaces(boolean v) {
    return new TokenizerOptions(doLowerCase, stripAccents, tokenizeChineseChars, doBasicTokenize, neverSplit,
        unkToken, sepToken, padToken, clsToken, maskToken, additionalSpecialTokens, modelMaxLength, v);
  }

  /** Whether accents are stripped: HF strips when lower-casing unless {@code strip_accents=False}, else only if true. */
  boolean stripsAccents() {
    return doLowerCase ? !Boolean.FALSE.equals(stripAccents) : Boolean.TRUE.equals(stripAccents);
  }
}
