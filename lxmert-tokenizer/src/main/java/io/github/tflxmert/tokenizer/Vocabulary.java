package io.github.tflxmert.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A WordPiece vocabulary ({@code vocab.txt}: one token a line, id = line number) with a character trie for the
 * greedy longest-match-first search, so that matching a word never builds a substring.
 *
 * <p>The trie's edges live in one open-addressing hash table keyed by (node, UTF-16 char); the first char of a word
 * and of a {@code ##} continuation is looked up in a direct 64K array. A match found this way is the same as the
 * slow tokenizer's "try the longest substring, drop one char at a time": both return the longest vocabulary entry
 * that is a prefix of the remaining word. Matches always end on a code point boundary because vocabulary tokens
 * are decoded strictly from UTF-8 and so contain no unpaired surrogate.
 *
 * <p>Immutable after construction; thread-safe.
 */
final class Vocabulary {
  private final String[] tokens; // by id
  private final Map<String, Integer> ids;
  // Trie: node 0 is the root. EDGE_KEYS[i] = node << 16 | char (or -1 when empty), EDGE_VALUES[i] = child node.
  private final long[] edgeKeys;
  private final int[] edgeValues;
  private final int edgeMask;
  private final int[] terminal; // node -> token id, or -1
  private final int[] rootChildren; // char -> child of root, or -1
  private final int[] continuationChildren; // char -> child of the node reached by "##", or -1

  private Vocabulary(List<String> tokens, String source) {
    this.tokens = tokens.toArray(new String[0]);
    this.ids = new HashMap<>(tokens.size() * 2);
    for (int id = 0; id < this.tokens.length; id++) {
      Integer previous = ids.put(this.tokens[id], id);
      if (previous != null) {
        // HF keeps the last id and then numbers added tokens from len(unique tokens), which can collide with an
        // existing id; refuse instead of reproducing that.
        throw new IllegalArgumentException(source + ": expected each token once, found '" + this.tokens[id]
            + "' on lines " + (previous + 1) + " and " + (id + 1));
      }
    }
    long chars = 0;
    for (String t : this.tokens) {
      chars += t.length();
    }
    int capacity = Integer.highestOneBit((int) Math.max(16, Math.min(1L << 29, chars * 2))) << 1;
    edgeKeys = new long[capacity];
    Arrays.fill(edgeKeys, -1L);
    edgeValues = new int[capacity];
    edgeMask = capacity - 1;
    int[] term = new int[(int) chars + 1];
    Arrays.fill(term, -1);
    int nodes = 1;
    for (int id = 0; id < this.tokens.length; id++) {
      String t = this.tokens[id];
      int node = 0;
      for (int i = 0; i < t.length(); i++) {
        int child = child(node, t.charAt(i));
        if (child < 0) {
          child = nodes++;
          put(node, t.charAt(i), child);
        }
        node = child;
      }
      term[node] = id;
    }
    terminal = Arrays.copyOf(term, nodes);
    rootChildren = new int[0x10000];
    continuationChildren = new int[0x10000];
    Arrays.fill(rootChildren, -1);
    Arrays.fill(continuationChildren, -1);
    int hashes = child(0, '#') < 0 ? -1 : child(child(0, '#'), '#');
    for (int c = 0; c < 0x10000; c++) {
      rootChildren[c] = child(0, (char) c);
      continuationChildren[c] = hashes < 0 ? -1 : child(hashes, (char) c);
    }
  }

  /** Reads {@code vocab.txt} as Python's {@code open(path, encoding="utf-8").readlines()} does (\n, \r\n, \r). */
  static Vocabulary read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null,
          "expected a WordPiece vocabulary (vocab.txt, one token a line), found " + (Files.exists(file)
              ? "a directory or special file" : "no such file"));
    }
    try (InputStream in = Files.newInputStream(file)) {
      return read(in, file.toString());
    }
  }

  static Vocabulary read(InputStream in, String source) throws IOException {
    var decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    List<String> tokens = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, decoder))) {
      // BufferedReader.readLine ends lines at \n, \r\n and \r: Python's universal newlines, which readlines() uses.
      String line;
      while ((line = r.readLine()) != null) {
        tokens.add(line);
      }
    } catch (CharacterCodingException e) {
      throw new IOException(source + ": expected UTF-8 text, found malformed bytes after line " + tokens.size(), e);
    }
    if (tokens.isEmpty()) {
      throw new IllegalArgumentException(source + ": expected at least one token, found an empty file");
    }
    return new Vocabulary(tokens, source);
  }

  static Vocabulary of(List<String> tokens, String source) {
    return new Vocabulary(new ArrayList<>(tokens), source);
  }

  int size() {
    return tokens.length;
  }

  /** The id of {@code token}, or -1. */
  int id(String token) {
    Integer id = ids.get(token);
    return id == null ? -1 : id;
  }

  /** The token of {@code id}, or null when out of range. */
  String token(int id) {
    return id >= 0 && id < tokens.length ? tokens[id] : null;
  }

  private static int hash(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 29));
  }

  private int child(int node, char c) {
    long key = ((long) node << 16) | c;
    int i = hash(key) & edgeMask;
    while (true) {
      long k = edgeKeys[i];
      if (k == key) {
        return edgeValues[i];
      }
      if (k == -1L) {
        return -1;
      }
      i = (i + 1) & edgeMask;
    }
  }

  private void put(int node, char c, int child) {
    long key = ((long) node << 16) | c;
    int i = hash(key) & edgeMask;
    while (edgeKeys[i] != -1L) {
      i = (i + 1) & edgeMask;
    }
    edgeKeys[i] = key;
    edgeValues[i] = child;
  }

  /**
   * The longest vocabulary entry that is a prefix of {@code chars[start, end)}, prefixed with {@code ##} when
   * {@code continuation}. Returns {@code matchEnd << 32 | tokenId}, or -1 when there is none.
   */
  long longestMatch(char[] chars, int start, int end, boolean continuation) {
    int node = (continuation ? continuationChildren : rootChildren)[chars[start]];
    long best = -1;
    int i = start + 1;
    while (node >= 0) {
      int id = terminal[node];
      if (id >= 0) {
        best = ((long) i << 32) | id;
      }
      if (i == end) {
        break;
      }
      node = child(node, chars[i++]);
    }
    return best;
  }
}
