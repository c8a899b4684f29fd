package io.github.tflxmert.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's slow {@code LxmertTokenizer} (= {@code BertTokenizer} in transformers 4.x) in plain Java: same
 * tokens, ids, type ids and masks on every input, checked by {@code TokenizerParityTest} on a hostile corpus.
 *
 * <p>Pipeline (HF's order; comments in the code say where Java and Python differ and how that is handled):
 * <ol>
 *   <li>with {@code do_lower_case}, every code point outside special tokens is lower-cased one at a time
 *       (HF's {@code re.sub(r"(specials)|(.+?)", ...)} in {@code tokenize}: so no final-sigma rule), with Python's
 *       full mapping ({@code 'İ'} → {@code "i\u0307"});</li>
 *   <li>special tokens are split out, leftmost first, longest first at one position, and never altered;</li>
 *   <li>BasicTokenizer: drop U+0000, U+FFFD and C* except \t\n\r; whitespace (and Zs) separates words; CJK
 *       ideographs become words of their own; NFC; lower case and strip accents (NFD, drop Mn) as configured; split
 *       off punctuation (ASCII symbols and P*);</li>
 *   <li>WordPiece: more than 100 code points → [UNK]; greedy longest match with {@code ##} continuations; a word
 *       with an unmatched position becomes one [UNK].</li>
 * </ol>
 * Character classes and case mappings come from Python's Unicode 14 tables ({@code UnicodeTable}), not from the
 * JDK's. Lengths (the 100-character rule) count code points, as Python does.
 *
 * <p>Special tokens: [UNK] must be in the vocabulary (else construction fails). [SEP], [PAD], [CLS], [MASK] and
 * additional special tokens that are missing get ids after the vocabulary, in that order, as HF 4.x adds them (the
 * spec's test vocabulary gets [PAD]=13, [MASK]=14) — such ids are outside a model's embedding table.
 *
 * <p>Thread-safe and immutable after construction; methods allocate only their own results and scratch buffers,
 * never a copy of the vocabulary. Holds no native resources; nothing to close.
 */
public final class LxmertTokenizer {
  private static final System.Logger LOG = System.getLogger(LxmertTokenizer.class.getName());
  private static final int MAX_INPUT_CHARS_PER_WORD = 100;
  // Python's model_max_length values above this mean "no limit" (HF's LARGE_INTEGER).
  private static final double LARGE_INTEGER = 1e20;

  private final Vocabulary vocab;
  private final TokenizerOptions options;
  private final boolean lower;
  private final boolean strip;
  private final boolean splitChinese;
  /** Special (added) token string → id, in HF's order: unk, sep, pad, cls, mask, additional. */
  private final Map<String, Integer> added;
  private final String[] addedByLength; // longest first, for the split
  private final boolean[] addedFirstChar; // by UTF-16 char: could an added token start here?
  private final Map<Integer, String> addedById;
  private final Set<Integer> specialIds;
  private final Set<String> legacyAdded; // decode: written as separate pieces (HF's legacy_added_tokens)
  /** BasicTokenizer's never_split during tokenize(): special tokens plus configured never_split. */
  private final Set<String> basicNeverSplit;
  private final Set<String> configNeverSplit;
  private final int neverSplitMaxLength;
  /** A special token that lower-casing can produce ("<s>" from "<S>"): then split after lower-casing, as HF does. */
  private final boolean splitAfterLowering;
  private final int unkId;
  private final int clsId;
  private final int sepId;
  private final int padId;

  private LxmertTokenizer(Vocabulary vocab, TokenizerOptions options, String source) {
    this.vocab = vocab;
    this.options = options;
    this.lower = options.doBasicTokenize() && options.doLowerCase();
    this.strip = options.stripsAccents();
    this.splitChinese = options.tokenizeChineseChars();
    if (vocab.id(options.unkToken()) < 0) {
      throw new IllegalArgumentException(source + ": expected the unknown token '" + options.unkToken()
          + "' (unk_token) in the vocabulary, found " + vocab.size() + " tokens without it");
    }
    List<String> specials = new ArrayList<>(List.of(options.unkToken(), options.sepToken(), options.padToken(),
        options.clsToken(), options.maskToken()));
    specials.addAll(options.additionalSpecialTokens());
    Map<String, Integer> addedMap = new LinkedHashMap<>();
    int next = vocab.size();
    for (String s : specials) {
      if (s.isEmpty() || addedMap.containsKey(s)) {
        continue;
      }
      int id = vocab.id(s);
      addedMap.put(s, id >= 0 ? id : next++);
    }
    this.added = Collections.unmodifiableMap(addedMap);
    this.addedByLength = addedMap.keySet().stream()
        .sorted((a, b) -> Integer.compare(b.length(), a.length())).toArray(String[]::new);
    this.addedFirstChar = new boolean[0x10000];
    Map<Integer, String> byId = new HashMap<>();
    for (var e : addedMap.entrySet()) {
      addedFirstChar[e.getKey().charAt(0)] = true;
      byId.put(e.getValue(), e.getKey());
    }
    this.addedById = Collections.unmodifiableMap(byId);
    this.specialIds = Set.copyOf(addedMap.values());
    Set<String> legacy = new HashSet<>();
    for (String s : options.additionalSpecialTokens()) {
      if (addedMap.get(s) >= vocab.size()) {
        legacy.add(s);
      }
    }
    this.legacyAdded = Set.copyOf(legacy);
    this.configNeverSplit = Set.copyOf(options.neverSplit());
    Set<String> ns = new HashSet<>(options.neverSplit());
    ns.addAll(addedMap.keySet());
    this.basicNeverSplit = Set.copyOf(ns);
    this.neverSplitMaxLength = ns.stream().mapToInt(String::length).max().orElse(0);
    boolean reachable = false;
    for (String s : addedMap.keySet()) {
      reachable |= lower && pythonLower(s).equals(s);
    }
    this.splitAfterLowering = reachable;
    this.unkId = tokenToId(options.unkToken());
    this.clsId = tokenToId(options.clsToken());
    this.sepId = tokenToId(options.sepToken());
    this.padId = tokenToId(options.padToken());
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
    TokenizerOptions options = Files.isRegularFile(config)
        ? TokenizerConfig.read(config, TokenizerOptions.defaults()) : TokenizerOptions.defaults();
    return new LxmertTokenizer(Vocabulary.read(vocab), options, vocab.toString());
  }

  /** Reads a {@code vocab.txt} and uses the given options. */
  public static LxmertTokenizer fromVocab(Path vocabFile, TokenizerOptions options) throws IOException {
    return new LxmertTokenizer(Vocabulary.read(vocabFile), options, vocabFile.toString());
  }

  /** A tokenizer over an in-memory vocabulary (id = list index), for tests and tools. */
  public static LxmertTokenizer fromTokens(List<String> tokens, TokenizerOptions options) {
    return new LxmertTokenizer(Vocabulary.of(tokens, "vocabulary list"), options, "vocabulary list");
  }

  // ------------------------------------------------------------------------------------------------------------
  // Vocabulary
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
    for (int id : added.values()) {
      n = Math.max(n, id + 1);
    }
    return n;
  }

  /** HF {@code convert_tokens_to_ids}: special tokens, then the vocabulary, else the [UNK] id. */
  public int tokenToId(String token) {
    Integer id = added.get(token);
    if (id != null) {
      return id;
    }
    int v = vocab.id(token);
    return v >= 0 ? v : vocab.id(options.unkToken());
  }

  /** HF {@code convert_ids_to_tokens}: special tokens, then the vocabulary, else the [UNK] string. */
  public String idToToken(int id) {
    String s = addedById.get(id);
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
    return specialIds;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Tokenize / encode
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
    Tokens t = run(text);
    return Arrays.copyOf(t.ids, t.size);
  }

  /** {@code [CLS] text [SEP]}, as HF's {@code tokenizer(text)} (no truncation, no padding). */
  public Encoding encode(String text) {
    return build(run(text), null);
  }

  /** {@code [CLS] text [SEP] pair [SEP]}, as HF's {@code tokenizer(text, pair)}. */
  public Encoding encode(String text, String pair) {
    return build(run(text), run(pair));
  }

  private Encoding build(Tokens a, Tokens b) {
    int n = a.size + 2 + (b == null ? 0 : b.size + 1);
    int[] ids = new int[n];
    int[] types = new int[n];
    int[] mask = new int[n];
    int[] offsets = new int[2 * n];
    int[] seq = new int[n];
    List<String> tokens = new ArrayList<>(n);
    Arrays.fill(mask, 1);
    int k = 0;
    ids[k] = clsId;
    seq[k++] = -1;
    tokens.add(idToToken(clsId));
    k = copy(a, 0, ids, types, offsets, seq, tokens, k);
    ids[k] = sepId;
    seq[k++] = -1;
    tokens.add(idToToken(sepId));
    if (b != null) {
      k = copy(b, 1, ids, types, offsets, seq, tokens, k);
      ids[k] = sepId;
      types[k] = 1;
      seq[k++] = -1;
      tokens.add(idToToken(sepId));
    }
    return new Encoding(ids, types, mask, Collections.unmodifiableList(tokens), offsets, seq);
  }

  private static int copy(Tokens t, int type, int[] ids, int[] types, int[] offsets, int[] seq, List<String> tokens,
      int k) {
    for (int i = 0; i < t.size; i++, k++) {
      ids[k] = t.ids[i];
      types[k] = type;
      seq[k] = type;
      offsets[2 * k] = t.starts[i];
      offsets[2 * k + 1] = t.ends[i];
      tokens.add(t.token(i));
    }
    return k;
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
    Padding padding = opts.padding();
    Truncation truncation = opts.truncation();
    int maxLength = opts.maxLength();
    if (maxLength == 0) {
      if (padding == Padding.MAX_LENGTH) {
        if (options.modelMaxLength() == 0) {
          padding = Padding.NONE;
        } else {
          maxLength = options.modelMaxLength();
        }
      }
      if (truncation != Truncation.NONE) {
        if (options.modelMaxLength() == 0) {
          truncation = Truncation.NONE;
        } else {
          maxLength = options.modelMaxLength();
        }
      }
    }
    int batch = texts.size();
    int[][] ids = new int[batch][];
    int[][] types = new int[batch][];
    for (int r = 0; r < batch; r++) {
      int[] a = tokenizeToIds(texts.get(r));
      int[] b = pairs == null ? null : tokenizeToIds(pairs.get(r));
      int total = a.length + (b == null ? 2 : b.length + 3);
      if (truncation != Truncation.NONE && maxLength > 0 && total > maxLength) {
        int[][] cut = truncate(a, b, total - maxLength, truncation);
        a = cut[0];
        b = cut[1];
      }
      Encoding e = buildIds(a, b);
      ids[r] = e.inputIds();
      types[r] = e.tokenTypeIds();
    }
    int target = -1;
    if (padding == Padding.LONGEST) {
      for (int[] row : ids) {
        target = Math.max(target, row.length);
      }
    } else if (padding == Padding.MAX_LENGTH) {
      target = maxLength;
    }
    int[][] mask = new int[batch][];
    for (int r = 0; r < batch; r++) {
      int len = ids[r].length;
      int padded = Math.max(len, target);
      mask[r] = new int[padded];
      Arrays.fill(mask[r], 0, len, 1);
      if (padded > len) {
        ids[r] = Arrays.copyOf(ids[r], padded);
        Arrays.fill(ids[r], len, padded, padId);
        types[r] = Arrays.copyOf(types[r], padded); // pad_token_type_id = 0
      }
    }
    return new BatchEncoding(ids, types, mask);
  }

  private Encoding buildIds(int[] a, int[] b) {
    int n = a.length + 2 + (b == null ? 0 : b.length + 1);
    int[] ids = new int[n];
    int[] types = new int[n];
    ids[0] = clsId;
    System.arraycopy(a, 0, ids, 1, a.length);
    ids[a.length + 1] = sepId;
    if (b != null) {
      System.arraycopy(b, 0, ids, a.length + 2, b.length);
      ids[n - 1] = sepId;
      Arrays.fill(types, a.length + 2, n, 1);
    }
    return new Encoding(ids, types, null, null, null, null);
  }

  /** HF {@code truncate_sequences} with {@code truncation_side="right"}, {@code stride=0}. */
  private static int[][] truncate(int[] a, int[] b, int remove, Truncation strategy) {
    if (strategy == Truncation.ONLY_FIRST || (strategy == Truncation.LONGEST_FIRST && b == null)) {
      if (a.length > remove) {
        a = Arrays.copyOf(a, a.length - remove);
      } else {
        LOG.log(System.Logger.Level.ERROR, "We need to remove " + remove + " tokens to truncate the input but the "
            + "first sequence has a length " + a.length + "; nothing was truncated (as in HF)");
      }
    } else if (strategy == Truncation.LONGEST_FIRST) {
      // HF's closed form: take the length difference from the longer one, then split the rest.
      int firstRemove = Math.min(Math.abs(b.length - a.length), remove);
      int secondRemove = remove - firstRemove;
      int fromA;
      int fromB;
      if (a.length > b.length) {
        fromA = firstRemove + secondRemove / 2;
        fromB = secondRemove - secondRemove / 2;
      } else {
        fromA = secondRemove / 2;
        fromB = firstRemove + secondRemove - secondRemove / 2;
      }
      a = Arrays.copyOf(a, Math.max(0, a.length - fromA));
      b = Arrays.copyOf(b, Math.max(0, b.length - fromB));
    } else if (strategy == Truncation.ONLY_SECOND && b != null) {
      if (b.length > remove) {
        b = Arrays.copyOf(b, b.length - remove);
      } else {
        LOG.log(System.Logger.Level.ERROR, "We need to remove " + remove + " tokens to truncate the input but the "
            + "second sequence has a length " + b.length + "; nothing was truncated (as in HF)");
      }
    }
    return new int[][] {a, b};
  }

  // ------------------------------------------------------------------------------------------------------------
  // Decode
  // ------------------------------------------------------------------------------------------------------------

  /** HF {@code decode(ids)}: special tokens kept, clean-up as configured. */
  public String decode(int[] ids) {
    return decode(ids, false, options.cleanUpTokenizationSpaces());
  }

  /**
   * HF {@code decode(ids, skip_special_tokens, clean_up_tokenization_spaces)}: tokens joined by spaces, " ##"
   * removed, trimmed; clean-up removes the space before . ? ! , and in English contractions.
   */
  public String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpTokenizationSpaces) {
    List<String> subTexts = new ArrayList<>();
    List<String> current = new ArrayList<>();
    for (int id : ids) {
      if (skipSpecialTokens && specialIds.contains(id)) {
        continue;
      }
      String token = idToToken(id);
      if (skipSpecialTokens && added.containsKey(token)) {
        continue; // an out-of-range id decodes to [UNK], which is special
      }
      if (legacyAdded.contains(token)) {
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
    if (!cleanUpTokenizationSpaces) {
      return text;
    }
    return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
        .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
        .replace(" 've", "'ve").replace(" 're", "'re");
  }

  private static String tokensToString(List<String> tokens) {
    return pythonStrip(String.join(" ", tokens).replace(" ##", ""));
  }

  /** Python {@code str.strip()}: removes leading and trailing {@code str.isspace()} code points. */
  static String pythonStrip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end) {
      int cp = s.codePointAt(start);
      if (!isPythonSpace(cp)) {
        break;
      }
      start += Character.charCount(cp);
    }
    while (end > start) {
      int cp = s.codePointBefore(end);
      if (!isPythonSpace(cp)) {
        break;
      }
      end -= Character.charCount(cp);
    }
    return s.substring(start, end);
  }

  private static boolean isPythonSpace(int cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
        || cp == 0x3000;
  }

  /** Python {@code str.lower()} of a string, code point by code point (no final-sigma context). */
  static String pythonLower(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints().forEach(cp -> {
      if ((UnicodeTable.flags(cp) & UnicodeTable.LOWER) != 0) {
        UnicodeTable.appendLower(cp, b);
      } else {
        b.appendCodePoint(cp);
      }
    });
    return b.toString();
  }

  // ------------------------------------------------------------------------------------------------------------
  // The pipeline
  // ------------------------------------------------------------------------------------------------------------

  /** Tokens of one text: ids, UTF-16 offsets into it, and the string when it is not the vocabulary entry. */
  private final class Tokens {
    int size;
    int[] ids = new int[16];
    int[] starts = new int[16];
    int[] ends = new int[16];
    String[] literals; // null unless some token is not vocab.token(id)

    void add(int id, int start, int end, String literal) {
      if (size == ids.length) {
        ids = Arrays.copyOf(ids, size * 2);
        starts = Arrays.copyOf(starts, size * 2);
        ends = Arrays.copyOf(ends, size * 2);
        if (literals != null) {
          literals = Arrays.copyOf(literals, size * 2);
        }
      }
      if (literal != null) {
        if (literals == null) {
          literals = new String[ids.length];
        }
        literals[size] = literal;
      }
      ids[size] = id;
      starts[size] = start;
      ends[size] = end;
      size++;
    }

    String token(int i) {
      String s = literals == null ? null : literals[i];
      return s != null ? s : vocab.token(ids[i]);
    }
  }

  /**
   * A word under construction: UTF-16 chars, and for each the [start, end) in the original text of the code point
   * it came from. Flags OR-ed over its code points decide which (costly) steps can be skipped.
   */
  private static final class Word {
    char[] chars = new char[64];
    int[] starts = new int[64];
    int[] ends = new int[64];
    int length;
    int flags;

    void clear() {
      length = 0;
      flags = 0;
    }

    void add(int cp, int start, int end, int f) {
      if (length + 2 > chars.length) {
        int n = chars.length * 2;
        chars = Arrays.copyOf(chars, n);
        starts = Arrays.copyOf(starts, n);
        ends = Arrays.copyOf(ends, n);
      }
      if (cp < 0x10000) {
        chars[length] = (char) cp;
        starts[length] = start;
        ends[length++] = end;
      } else {
        chars[length] = Character.highSurrogate(cp);
        chars[length + 1] = Character.lowSurrogate(cp);
        starts[length] = start;
        starts[length + 1] = start;
        ends[length] = end;
        ends[length + 1] = end;
        length += 2;
      }
      flags |= f;
    }
  }

  /** Per-call scratch: two words to transform into each other. */
  private static final class Scratch {
    Word word = new Word();
    Word spare = new Word();

    void swap() {
      Word t = word;
      word = spare;
      spare = t;
    }
  }

  private Tokens run(String text) {
    Tokens out = new Tokens();
    Scratch scratch = new Scratch();
    String work = text;
    int[] mapStart = null;
    int[] mapEnd = null;
    boolean lowerInChunks = lower;
    if (splitAfterLowering) {
      // Rare: a special token that lower-casing can produce. Lower-case first, then split, as HF does.
      StringBuilder b = new StringBuilder(text.length() + 8);
      int[][] maps = lowerWholeText(text, b);
      work = b.toString();
      mapStart = maps[0];
      mapEnd = maps[1];
      lowerInChunks = false;
    }
    int pos = 0;
    int n = work.length();
    while (pos < n) {
      int at = -1;
      String special = null;
      for (int i = pos; i < n && special == null; i++) {
        if (addedFirstChar[work.charAt(i)]) {
          for (String s : addedByLength) {
            if (work.startsWith(s, i)) {
              at = i;
              special = s;
              break;
            }
          }
        }
      }
      int chunkEnd = special == null ? n : at;
      if (chunkEnd > pos) {
        if (options.doBasicTokenize()) {
          basic(work, pos, chunkEnd, lowerInChunks, mapStart, mapEnd, scratch, out);
        } else {
          whitespaceWordPiece(work, pos, chunkEnd, mapStart, mapEnd, scratch, out);
        }
      }
      if (special == null) {
        break;
      }
      int end = at + special.length();
      out.add(added.get(special), mapStart == null ? at : mapStart[at], mapEnd == null ? end : mapEnd[end - 1],
          special);
      pos = end;
    }
    return out;
  }

  /** HF's regex lower-casing of a whole text, keeping special tokens; fills per-char origin maps. */
  private int[][] lowerWholeText(String text, StringBuilder b) {
    int[] ms = new int[text.length() * 2 + 2];
    int[] me = new int[text.length() * 2 + 2];
    int i = 0;
    while (i < text.length()) {
      String hit = null;
      for (String s : added.keySet()) { // alternation order = HF's all_special_tokens order
        if (text.startsWith(s, i)) {
          hit = s;
          break;
        }
      }
      if (hit != null) {
        for (int k = 0; k < hit.length(); k++) {
          ms[b.length()] = i + k;
          me[b.length()] = i + k + 1;
          b.append(hit.charAt(k));
        }
        i += hit.length();
        continue;
      }
      int cp = text.codePointAt(i);
      int len = Character.charCount(cp);
      int before = b.length();
      if ((UnicodeTable.flags(cp) & UnicodeTable.LOWER) != 0) {
        UnicodeTable.appendLower(cp, b);
      } else {
        b.appendCodePoint(cp);
      }
      if (b.length() > ms.length) {
        ms = Arrays.copyOf(ms, b.length() * 2);
        me = Arrays.copyOf(me, b.length() * 2);
      }
      for (int k = before; k < b.length(); k++) {
        ms[k] = i;
        me[k] = i + len;
      }
      i += len;
    }
    return new int[][] {ms, me};
  }

  /** HF with {@code do_basic_tokenize=False}: WordPiece on {@code str.split()} words of the raw text. */
  private void whitespaceWordPiece(String s, int from, int to, int[] ms, int[] me, Scratch scratch, Tokens out) {
    Word w = scratch.word;
    w.clear();
    for (int i = from; i < to; ) {
      int cp = s.codePointAt(i);
      int len = Math.min(Character.charCount(cp), to - i);
      if (isPythonSpace(cp)) {
        wordPiece(w, 0, w.length, out);
        w.clear();
      } else {
        w.add(cp, ms == null ? i : ms[i], me == null ? i + len : me[i + len - 1], 0);
      }
      i += len;
    }
    wordPiece(w, 0, w.length, out);
    w.clear();
  }

  /** BasicTokenizer over s[from, to) (one chunk between special tokens), then WordPiece. */
  private void basic(String s, int from, int to, boolean lowerHere, int[] ms, int[] me, Scratch scratch,
      Tokens out) {
    scratch.word.clear();
    int i = from;
    while (i < to) {
      char ch = s.charAt(i);
      int cp = ch;
      int len = 1;
      if (Character.isHighSurrogate(ch) && i + 1 < to && Character.isLowSurrogate(s.charAt(i + 1))) {
        cp = Character.toCodePoint(ch, s.charAt(i + 1));
        len = 2;
      } // an unpaired surrogate stays a surrogate code point: category Cs, dropped as Python drops it
      int start = ms == null ? i : ms[i];
      int end = me == null ? i + len : me[i + len - 1];
      int f = UnicodeTable.flags(cp);
      if (lowerHere && (f & UnicodeTable.LOWER) != 0) {
        int[] low = UnicodeTable.lower(cp);
        for (int c : low) {
          accept(c, UnicodeTable.flags(c), start, end, scratch, out);
        }
      } else {
        accept(cp, f, start, end, scratch, out);
      }
      i += len;
    }
    finishWord(scratch, out);
  }

  /** _clean_text, whitespace split and _tokenize_chinese_chars for one code point. */
  private void accept(int cp, int f, int start, int end, Scratch scratch, Tokens out) {
    if ((f & (UnicodeTable.DROP | UnicodeTable.SEP | UnicodeTable.CJK)) == 0) {
      scratch.word.add(cp, start, end, f);
    } else if ((f & UnicodeTable.DROP) != 0) {
      // dropped: U+0000, U+FFFD, control/format/unassigned/private use
    } else if ((f & UnicodeTable.SEP) != 0) {
      finishWord(scratch, out);
    } else if (splitChinese) {
      finishWord(scratch, out);
      scratch.word.add(cp, start, end, f);
      finishWord(scratch, out);
    } else {
      scratch.word.add(cp, start, end, f);
    }
  }

  /** One whitespace-delimited word: NFC, never_split, lower case, strip accents, punctuation split, WordPiece. */
  private void finishWord(Scratch scratch, Tokens out) {
    Word w = scratch.word;
    if (w.length == 0) {
      return;
    }
    if ((w.flags & UnicodeTable.NORM) != 0) {
      normalize(w, scratch.spare, Normalizer.Form.NFC, false);
      scratch.swap();
      w = scratch.word;
    }
    String whole = neverSplitCandidate(w);
    if (whole != null && basicNeverSplit.contains(whole)) {
      emitWhole(w, whole, out);
      w.clear();
      return;
    }
    boolean changed = false;
    if (lower && (w.flags & UnicodeTable.LOWER) != 0) {
      lowerWord(w, scratch.spare);
      scratch.swap();
      w = scratch.word;
      changed = true;
    }
    if (strip && (w.flags & (UnicodeTable.NORM | UnicodeTable.MN)) != 0) {
      normalize(w, scratch.spare, Normalizer.Form.NFD, true);
      scratch.swap();
      w = scratch.word;
      changed = true;
    }
    if (changed) {
      whole = neverSplitCandidate(w);
      if (whole != null && basicNeverSplit.contains(whole)) {
        emitWhole(w, whole, out);
        w.clear();
        return;
      }
    }
    if ((w.flags & UnicodeTable.PUNCT) == 0) {
      piece(w, 0, w.length, out);
    } else {
      int pieceStart = 0;
      for (int i = 0; i < w.length; ) {
        int cp = Character.codePointAt(w.chars, i, w.length);
        int len = Character.charCount(cp);
        if ((UnicodeTable.flags(cp) & UnicodeTable.PUNCT) != 0) {
          piece(w, pieceStart, i, out);
          piece(w, i, i + len, out);
          pieceStart = i + len;
        }
        i += len;
      }
      piece(w, pieceStart, w.length, out);
    }
    w.clear();
  }

  private String neverSplitCandidate(Word w) {
    return w.length <= neverSplitMaxLength ? new String(w.chars, 0, w.length) : null;
  }

  /** A word BasicTokenizer keeps whole; _tokenize then keeps it (configured never_split) or WordPieces it. */
  private void emitWhole(Word w, String whole, Tokens out) {
    if (configNeverSplit.contains(whole)) {
      out.add(tokenToId(whole), w.starts[0], w.ends[w.length - 1], whole);
    } else {
      wordPiece(w, 0, w.length, out);
    }
  }

  private void piece(Word w, int from, int to, Tokens out) {
    if (to <= from) {
      return;
    }
    if (!configNeverSplit.isEmpty()) {
      String s = new String(w.chars, from, to - from);
      if (configNeverSplit.contains(s)) {
        out.add(tokenToId(s), w.starts[from], w.ends[to - 1], s);
        return;
      }
    }
    wordPiece(w, from, to, out);
  }

  /** WordpieceTokenizer.tokenize on w[from, to) (one word without whitespace). */
  private void wordPiece(Word w, int from, int to, Tokens out) {
    if (to <= from) {
      return;
    }
    int start = w.starts[from];
    int end = w.ends[to - 1];
    // The 100-character rule counts code points; only a word of more than 100 UTF-16 chars can exceed it.
    if (to - from > MAX_INPUT_CHARS_PER_WORD
        && Character.codePointCount(w.chars, from, to - from) > MAX_INPUT_CHARS_PER_WORD) {
      out.add(unkId, start, end, options.unkToken());
      return;
    }
    int mark = out.size;
    int pos = from;
    while (pos < to) {
      long m = vocab.longestMatch(w.chars, pos, to, pos > from);
      if (m < 0) {
        out.size = mark;
        if (out.literals != null) {
          Arrays.fill(out.literals, mark, out.literals.length, null);
        }
        out.add(unkId, start, end, options.unkToken());
        return;
      }
      int matchEnd = (int) (m >>> 32);
      out.add((int) m, w.starts[pos], w.ends[matchEnd - 1], null);
      pos = matchEnd;
    }
  }

  /** Python's per-code-point lower() of a word into {@code dst}, keeping origins. */
  private static void lowerWord(Word src, Word dst) {
    dst.clear();
    for (int i = 0; i < src.length; ) {
      int cp = Character.codePointAt(src.chars, i, src.length);
      int len = Character.charCount(cp);
      int f = UnicodeTable.flags(cp);
      if ((f & UnicodeTable.LOWER) == 0) {
        dst.add(cp, src.starts[i], src.ends[i], f);
      } else {
        for (int c : UnicodeTable.lower(cp)) {
          dst.add(c, src.starts[i], src.ends[i], UnicodeTable.flags(c));
        }
      }
      i += len;
    }
  }

  /**
   * NFC or NFD (then, when {@code dropMn}, without category Mn) of a word into {@code dst}. The word is cut before
   * every code point that normalisation cannot merge with its predecessor (no COMBINES flag: a starter that is not
   * the second half of a composition and does not decompose into one); normalisation never crosses such a point, so
   * normalising the pieces separately equals normalising the word, and every output char of a piece gets the
   * piece's original span (so "e\u0301" maps to both code points, "é" to itself).
   */
  private static void normalize(Word src, Word dst, Normalizer.Form form, boolean dropMn) {
    dst.clear();
    int i = 0;
    while (i < src.length) {
      int segStart = i;
      int cp = Character.codePointAt(src.chars, i, src.length);
      i += Character.charCount(cp);
      boolean needs = (UnicodeTable.flags(cp) & UnicodeTable.NORM) != 0;
      while (i < src.length) {
        int c = Character.codePointAt(src.chars, i, src.length);
        int fc = UnicodeTable.flags(c);
        if ((fc & UnicodeTable.COMBINES) == 0) {
          break;
        }
        needs |= (fc & UnicodeTable.NORM) != 0;
        i += Character.charCount(c);
      }
      if (!needs) {
        int f = UnicodeTable.flags(cp);
        if (!(dropMn && (f & UnicodeTable.MN) != 0)) {
          dst.add(cp, src.starts[segStart], src.ends[segStart], f);
        }
        continue;
      }
      int start = src.starts[segStart];
      int end = src.ends[i - 1];
      String norm = UnicodeTable.normalize(new String(src.chars, segStart, i - segStart), form);
      for (int k = 0; k < norm.length(); ) {
        int c = norm.codePointAt(k);
        int f = UnicodeTable.flags(c);
        if (!(dropMn && (f & UnicodeTable.MN) != 0)) {
          dst.add(c, start, end, f);
        }
        k += Character.charCount(c);
      }
    }
  }
}
