package io.github.tflxmert.tokenizer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Hugging Face's slow {@code LxmertTokenizer} (= {@code BertTokenizer} in transformers 4.x) in plain Java: same
 * tokens, ids, type ids and masks on every input, checked by {@code TokenizerParityTest} on a hostile corpus.
 *
 * <p>The pipeline, in HF's order and along its seams (each step one class):
 * <ol>
 *   <li>{@link AddedTokens}: special tokens are split out of the text, leftmost first, longest first at one
 *       position, and never altered (with {@code do_lower_case}, the rest is lower-cased one code point at a time,
 *       with Python's full mapping: {@code 'İ'} → {@code "i\u0307"}, no final-sigma rule);</li>
 *   <li>{@link BasicTokenizer}: cleaning, whitespace, CJK ideographs, NFC, never_split, lower case, accents,
 *       punctuation;</li>
 *   <li>{@link WordPiece}: greedy longest match with {@code ##} continuations; more than 100 code points or an
 *       unmatched position → one [UNK];</li>
 *   <li>{@link Encoder}: [CLS]/[SEP], type ids, offsets, truncation, padding, batches; {@link Decoder}: ids back to
 *       text.</li>
 * </ol>
 * Character classes and case mappings come from Python's Unicode 14 tables ({@code UnicodeTable}), not from the
 * JDK's. Lengths (the 100-character rule) count code points, as Python does.
 *
 * <p>Special tokens: [UNK] must be in the vocabulary (else construction fails). [SEP], [PAD], [CLS], [MASK] and
 * additional special tokens that are missing get ids after the vocabulary, in that order, as HF 4.x adds them (the
 * spec's test vocabulary gets [PAD]=13, [MASK]=14) — such ids are outside a model's embedding table.
 *
 * <p>Thread-safe and immutable after construction; methods allocate only their own results and scratch buffers,
 * never a copy of the vocabulary. Holds no native resources and no open files; nothing to close.
 */
public final class LxmertTokenizer {
  private final Vocabulary vocab;
  private final TokenizerOptions options;
  private final AddedTokens added;
  private final BasicTokenizer basic;
  private final Encoder encoder;
  private final Decoder decoder;
  /** The tokenizer_config.json this tokenizer was read from, or null; never modified (savePretrained copies). */
  private final ObjectNode sourceConfig;
  private final int unkId;
  private final int clsId;
  private final int sepId;
  private final int padId;

  private LxmertTokenizer(Vocabulary vocab, TokenizerOptions options, String source, ObjectNode sourceConfig) {
    this.vocab = vocab;
    this.options = options;
    this.sourceConfig = sourceConfig;
    if (vocab.id(options.unkToken()) < 0) {
      throw new IllegalArgumentException(source + ": expected the unknown token '" + options.unkToken()
          + "' (unk_token) in the vocabulary, found " + vocab.size() + " tokens without it");
    }
    this.added = new AddedTokens(vocab, options, options.doBasicTokenize() && options.doLowerCase());
    this.unkId = tokenToId(options.unkToken());
    this.clsId = tokenToId(options.clsToken());
    this.sepId = tokenToId(options.sepToken());
    this.padId = tokenToId(options.padToken());
    WordPiece wordPiece = new WordPiece(vocab, unkId, options.unkToken());
    this.basic = new BasicTokenizer(options, added.asMap().keySet(), this::tokenToId, wordPiece);
    this.encoder = new Encoder(clsId, sepId, padId, idToToken(clsId), idToToken(sepId), options.modelMaxLength(),
        added.specialIds());
    this.decoder = new Decoder(added, this::idToToken);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Construction
  // ------------------------------------------------------------------------------------------------------------

  /**
   * Reads {@code dir/vocab.txt} and, when present, {@code dir/tokenizer_config.json} (a Hugging Face model
   * directory). Throws {@link java.nio.file.NoSuchFileException} when vocab.txt is missing and
   * {@link IllegalArgumentException} naming the file and field for a bad config or vocabulary.
   */
  public static LxmertTokenizer fromDirectory(Path dir) throws IOException {
    Path vocab = dir.resolve("vocab.txt");
    Path config = dir.resolve("tokenizer_config.json");
    if (!Files.isRegularFile(config)) {
      return new LxmertTokenizer(Vocabulary.read(vocab), TokenizerOptions.defaults(), vocab.toString(), null);
    }
    TokenizerConfig.Loaded loaded = TokenizerConfig.read(config, TokenizerOptions.defaults());
    return new LxmertTokenizer(Vocabulary.read(vocab), loaded.options(), vocab.toString(), loaded.source());
  }

  /** Reads a {@code vocab.txt} and uses the given options. */
  public static LxmertTokenizer fromVocab(Path vocabFile, TokenizerOptions options) throws IOException {
    return new LxmertTokenizer(Vocabulary.read(vocabFile), options, vocabFile.toString(), null);
  }

  /** A tokenizer over an in-memory vocabulary (id = list index), for tests and tools. */
  public static LxmertTokenizer fromTokens(List<String> tokens, TokenizerOptions options) {
    return new LxmertTokenizer(Vocabulary.of(tokens, "vocabulary list"), options, "vocabulary list", null);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Vocabulary and special tokens
  // ------------------------------------------------------------------------------------------------------------

  public TokenizerOptions options() {
    return options;
  }

  /** Number of vocabulary entries (HF {@code vocab_size}); special tokens missing from it come after. */
  public int vocabSize() {
    return vocab.size();
  }

  /** {@code len(tokenizer)}: vocabulary plus special tokens it lacks. */
  public int size() {
    int n = vocab.size();
    for (int id : added.asMap().values()) {
      n = Math.max(n, id + 1);
    }
    return n;
  }

  /** HF {@code convert_tokens_to_ids}: special tokens, then the vocabulary, else the [UNK] id. */
  public int tokenToId(String token) {
    Integer id = added.id(token);
    if (id != null) {
      return id;
    }
    int v = vocab.id(token);
    return v >= 0 ? v : vocab.id(options.unkToken());
  }

  /** HF {@code convert_ids_to_tokens}: special tokens, then the vocabulary, else the [UNK] string. */
  public String idToToken(int id) {
    String s = added.token(id);
    if (s != null) {
      return s;
    }
    String t = vocab.token(id);
    return t != null ? t : options.unkToken();
  }

  public int unkTokenId() {
    return unkId;
  }

  public int clsTokenId() {
    return clsId;
  }

  public int sepTokenId() {
    return sepId;
  }

  public int padTokenId() {
    return padId;
  }

  public int maskTokenId() {
    return tokenToId(options.maskToken());
  }

  /** The ids of all special tokens (HF {@code all_special_ids}). */
  public Set<Integer> specialTokenIds() {
    return added.specialIds();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Tokenize / encode / decode
  // ------------------------------------------------------------------------------------------------------------

  /** HF {@code tokenize(text)}: the tokens of one text, without [CLS]/[SEP]. */
  public List<String> tokenize(String text) {
    Tokens t = run(text);
    List<String> out = new ArrayList<>(t.size);
    for (int i = 0; i < t.size; i++) {
      out.add(t.token(i));
    }
    return out;
  }

  /** The ids of {@link #tokenize} (no special tokens added). */
  public int[] tokenizeToIds(String text) {
    return run(text).idArray();
  }

  /** {@code [CLS] text [SEP]}, as HF's {@code tokenizer(text)} (no truncation, no padding). */
  public Encoding encode(String text) {
    return encoder.encode(run(text), null);
  }

  /**
   * {@code [CLS] text [SEP] pair [SEP]}, as HF's {@code tokenizer(text, pair)}; {@code pair} null is one sequence,
   * as HF's {@code tokenizer(text, None)}.
   */
  public Encoding encode(String text, String pair) {
    return encoder.encode(run(text), pair == null ? null : run(pair));
  }

  /** A batch of single texts, as HF's {@code tokenizer(texts, padding=..., truncation=..., max_length=...)}. */
  public BatchEncoding encodeBatch(List<String> texts, EncodeOptions opts) {
    return encodeBatch(texts, null, opts);
  }

  /**
   * A batch of pairs ({@code pairs} null for single texts), as HF's {@code tokenizer(texts, pairs, ...)}. Rows are
   * truncated one by one, then padded together.
   */
  public BatchEncoding encodeBatch(List<String> texts, List<String> pairs, EncodeOptions opts) {
    if (pairs != null && pairs.size() != texts.size()) {
      throw new IllegalArgumentException("encodeBatch: expected as many pairs as texts (" + texts.size()
          + "), found " + pairs.size());
    }
    List<int[]> a = new ArrayList<>(texts.size());
    List<int[]> b = pairs == null ? null : new ArrayList<>(pairs.size());
    for (int r = 0; r < texts.size(); r++) {
      a.add(tokenizeToIds(texts.get(r)));
      if (b != null) {
        b.add(tokenizeToIds(pairs.get(r)));
      }
    }
    return encoder.batch(a, b, opts);
  }

  /** HF {@code decode(ids)}: special tokens kept, clean-up as configured. */
  public String decode(int[] ids) {
    return decode(ids, false, options.cleanUpTokenizationSpaces());
  }

  /**
   * HF {@code decode(ids, skip_special_tokens, clean_up_tokenization_spaces)}: tokens joined by spaces, " ##"
   * removed, trimmed; clean-up removes the space before . ? ! , and in English contractions.
   */
  public String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces) {
    return decoder.decode(ids, skipSpecialTokens, cleanUpTokenizationSpaces);
  }

  private Tokens run(String text) {
    if (text == null) {
      throw new IllegalArgumentException("text: expected a string to tokenize, found null");
    }
    return added.tokenize(text, basic, new Tokens(vocab));
  }

  // ------------------------------------------------------------------------------------------------------------
  // The special-token helpers and files of HF's tokenizer page
  // ------------------------------------------------------------------------------------------------------------

  /** HF {@code build_inputs_with_special_tokens(ids0)}: {@code [CLS] ids0 [SEP]}. */
  public int[] buildInputsWithSpecialTokens(int[] ids0) {
    return encoder.withSpecialTokens(ids0, null);
  }

  /** HF {@code build_inputs_with_special_tokens(ids0, ids1)}: {@code [CLS] ids0 [SEP] ids1 [SEP]} (ids1 null: one). */
  public int[] buildInputsWithSpecialTokens(int[] ids0, int[] ids1) {
    return encoder.withSpecialTokens(ids0, ids1);
  }

  /**
   * HF {@code get_special_tokens_mask(ids0, ids1, already_has_special_tokens)}: 1 where
   * {@link #buildInputsWithSpecialTokens} would put [CLS]/[SEP], 0 elsewhere; with {@code alreadyHasSpecialTokens},
   * 1 for each id of {@code ids0} that is a special token's ({@link #specialTokenIds}). {@code ids1} may be null,
   * and must be when {@code alreadyHasSpecialTokens} ({@link IllegalArgumentException} otherwise, as HF's
   * ValueError).
   */
  public int[] getSpecialTokensMask(int[] ids0, int[] ids1, boolean alreadyHasSpecialTokens) {
    return encoder.specialTokensMask(ids0, ids1, alreadyHasSpecialTokens);
  }

  /** HF {@code create_token_type_ids_from_sequences(ids0)}: zeros for {@code [CLS] ids0 [SEP]}. */
  public int[] createTokenTypeIdsFromSequences(int[] ids0) {
    return encoder.tokenTypeIds(ids0, null);
  }

  /**
   * HF {@code create_token_type_ids_from_sequences(ids0, ids1)}: 0 for {@code [CLS] ids0 [SEP]}, 1 for
   * {@code ids1 [SEP]} (ids1 null: one sequence).
   */
  public int[] createTokenTypeIdsFromSequences(int[] ids0, int[] ids1) {
    return encoder.tokenTypeIds(ids0, ids1);
  }

  /** HF {@code save_vocabulary(dir)}: writes {@code dir/vocab.txt}; see {@link #saveVocabulary(Path, String)}. */
  public Path saveVocabulary(Path dir) throws IOException {
    return TokenizerFiles.saveVocabulary(vocab, dir, null);
  }

  /**
   * HF {@code save_vocabulary(dir, filename_prefix)}: the vocabulary (special tokens it lacks excluded, as in HF),
   * one token a line in id order, UTF-8, to {@code dir/prefix-vocab.txt} ({@code prefix} null or empty: none).
   * When {@code dir} is not a directory it is the file to write, as in HF (the prefix then goes before its file
   * name, where HF puts it before the whole path). Returns the file written; a missing parent directory is a
   * {@link java.nio.file.NoSuchFileException} naming it.
   */
  public Path saveVocabulary(Path dir, String prefix) throws IOException {
    return TokenizerFiles.saveVocabulary(vocab, dir, prefix);
  }

  /**
   * HF {@code save_pretrained(dir)} of the slow tokenizer, byte for byte as transformers 4.57 writes them:
   * {@code tokenizer_config.json}, {@code special_tokens_map.json}, {@code vocab.txt} and, when special tokens are
   * missing from the vocabulary, {@code added_tokens.json}. Creates {@code dir} if needed ({@link
   * java.nio.file.FileAlreadyExistsException} when it is a file). A tokenizer read with {@link #fromDirectory}
   * writes back the fields of its tokenizer_config.json that it does not use, as HF writes back its init kwargs;
   * special tokens are written as strings (HF writes {@code AddedToken} objects back as objects). Returns the
   * files written, in HF's order. {@link #fromDirectory} reads the result back to an equal tokenizer.
   */
  public List<Path> savePretrained(Path dir) throws IOException {
    return TokenizerFiles.savePretrained(dir, vocab, options, added, sourceConfig);
  }
}
