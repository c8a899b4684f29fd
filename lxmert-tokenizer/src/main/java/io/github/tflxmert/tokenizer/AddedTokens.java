package io.github.tflxmert.tokenizer;

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
 * The special tokens (HF's {@code added_tokens_encoder}) and the first step of HF's {@code tokenize}: split them out
 * of the text, leftmost first and longest first at one position, never altered, and hand the text between them to
 * {@link BasicTokenizer}.
 *
 * <p>Ids: a special token in the vocabulary keeps its id; [SEP], [PAD], [CLS], [MASK] and additional special tokens
 * that are missing get ids after the vocabulary, in HF's order (unk, sep, pad, cls, mask, additional).
 *
 * <p>Lower case: HF lower-cases the text outside special tokens with {@code re.sub(r"(specials)|(.+?)", ...)}
 * before splitting. That is the same as lower-casing each chunk after the split, unless lower-casing can produce a
 * special token ("[mask]" from "[MASK]" only if the token itself is lower case); only then is the whole text
 * lower-cased first, with a per-char map back to the original offsets.
 *
 * <p>Immutable; thread-safe.
 */
final class AddedTokens {
  /** Token → id, in HF's order: unk, sep, pad, cls, mask, additional. */
  private final Map<String, Integer> ids;
  private final Map<Integer, String> tokens;
  private final Set<Integer> specialIds;
  private final String[] byLength; // longest first, for the split
  private final boolean[] firstChar; // by UTF-16 char: could a special token start here?
  /** Additional special tokens outside the vocabulary: decode writes them as separate pieces (HF's legacy). */
  private final Set<String> legacy;
  private final boolean lowerWholeTextFirst;

  AddedTokens(Vocabulary vocab, TokenizerOptions options, boolean lower) {
    List<String> specials = new ArrayList<>(List.of(options.unkToken(), options.sepToken(), options.padToken(),
        options.clsToken(), options.maskToken()));
    specials.addAll(options.additionalSpecialTokens());
    Map<String, Integer> map = new LinkedHashMap<>();
    int next = vocab.size();
    for (String s : specials) {
      if (s.isEmpty() || map.containsKey(s)) {
        continue;
      }
      int id = vocab.id(s);
      map.put(s, id >= 0 ? id : next++);
    }
    this.ids = Collections.unmodifiableMap(map);
    this.byLength = map.keySet().stream()
        .sorted((a, b) -> Integer.compare(b.length(), a.length())).toArray(String[]::new);
    this.firstChar = new boolean[0x10000];
    Map<Integer, String> byId = new HashMap<>();
    for (var e : map.entrySet()) {
      firstChar[e.getKey().charAt(0)] = true;
      byId.put(e.getValue(), e.getKey());
    }
    this.tokens = Collections.unmodifiableMap(byId);
    this.specialIds = Set.copyOf(map.values());
    Set<String> legacyTokens = new HashSet<>();
    for (String s : options.additionalSpecialTokens()) {
      if (map.get(s) >= vocab.size()) {
        legacyTokens.add(s);
      }
    }
    this.legacy = Set.copyOf(legacyTokens);
    boolean reachable = false;
    for (String s : map.keySet()) {
      reachable |= lower && PythonStrings.lower(s).equals(s);
    }
    this.lowerWholeTextFirst = reachable;
  }

  /** Token → id in HF's order (unmodifiable). */
  Map<String, Integer> asMap() {
    return ids;
  }

  /** The id of a special token, or null. */
  Integer id(String token) {
    return ids.get(token);
  }

  /** The special token of an id, or null. */
  String token(int id) {
    return tokens.get(id);
  }

  boolean contains(String token) {
    return ids.containsKey(token);
  }

  /** HF's {@code all_special_ids}. */
  Set<Integer> specialIds() {
    return specialIds;
  }

  /** An additional special token outside the vocabulary (decode keeps it a separate piece). */
  boolean isLegacy(String token) {
    return legacy.contains(token);
  }

  /** HF {@code tokenize(text)}: special tokens split out, the rest through {@code basic}. */
  Tokens tokenize(String text, BasicTokenizer basic, Tokens out) {
    Word.Scratch scratch = new Word.Scratch();
    String work = text;
    int[] mapStart = null;
    int[] mapEnd = null;
    boolean lowerInChunks = basic.lowerCases();
    if (lowerWholeTextFirst) {
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
        if (firstChar[work.charAt(i)]) {
          for (String s : byLength) {
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
        basic.tokenize(work, pos, chunkEnd, lowerInChunks, mapStart, mapEnd, scratch, out);
      }
      if (special == null) {
        break;
      }
      int end = at + special.length();
      out.add(ids.get(special), mapStart == null ? at : mapStart[at], mapEnd == null ? end : mapEnd[end - 1],
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
      for (String s : ids.keySet()) { // alternation order = HF's all_special_tokens order
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
}
