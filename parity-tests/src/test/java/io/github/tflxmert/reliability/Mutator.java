package io.github.tflxmert.reliability;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded byte-level mutations for the fuzz harness: bit flips, byte sets, inserts, deletes, duplicated and spliced
 * ranges, truncation, "interesting" integers written at header offsets (both byte orders, 1 to 8 bytes), and, for
 * text formats, dictionary tokens and rewritten numbers. Positions fall in the structured prefix of the input
 * (the {@code focus}, e.g. a safetensors JSON header) four times out of five. Deterministic for a given seed;
 * not thread-safe.
 */
final class Mutator {
  private static final long[] INTERESTING = {0, 1, -1, 2, 4, 7, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000,
      0xffff, 0x10000, 0x7fffffffL, 0x80000000L, 0xffffffffL, 1L << 32, 1L << 40, (100L << 20) + 1, Long.MAX_VALUE,
      Long.MIN_VALUE, Long.MAX_VALUE - 7};
  private static final String[] NUMBERS = {"0", "-1", "-0", "1", "2", "3", "4", "1.5", "1e308", "1e999", "-1e999",
      "NaN", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808",
      "18446744073709551617", "99999999999999999999999999", "1099511627776", "65536", "0.0", "1e-400"};
  private static final byte[] SPECIAL = "\"{}[],:'()-0123456789e.\\ \n\0".getBytes(StandardCharsets.ISO_8859_1);

  private final SplittableRandom rnd;

  Mutator(long seed) {
    this.rnd = new SplittableRandom(seed);
  }

  int nextInt(int bound) {
    return rnd.nextInt(bound);
  }

  /**
   * A mutant of {@code seed}: one to five stacked mutations.
   *
   * @param others     other seeds to splice with
   * @param focus      length of the structured prefix where most mutations should land
   * @param dictionary tokens worth inserting (field names, dtype names, JSON fragments)
   */
  byte[] mutate(byte[] seed, List<byte[]> others, int focus, List<String> dictionary) {
    byte[] b = seed;
    int rounds = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(5) : 0);
    for (int r = 0; r < rounds; r++) {
      b = once(b, others, focus, dictionary);
    }
    return b;
  }

  private int pos(byte[] b, int focus) {
    if (b.length == 0) {
      return 0;
    }
    int f = Math.min(Math.max(focus, 1), b.length);
    return rnd.nextInt(5) < 4 ? rnd.nextInt(f) : rnd.nextInt(b.length);
  }

  private byte[] once(byte[] b, List<byte[]> others, int focus, List<String> dict) {
    int op = rnd.nextInt(12);
    if (b.length == 0 && op != 3 && op != 6) {
      op = 3;
    }
    switch (op) {
      case 0 -> { // flip one bit
        b = b.clone();
        int p = pos(b, focus);
        b[p] ^= (byte) (1 << rnd.nextInt(8));
      }
      case 1 -> { // set a random byte
        b = b.clone();
        b[pos(b, focus)] = (byte) rnd.nextInt(256);
      }
      case 2 -> { // set a structurally special byte
        b = b.clone();
        b[pos(b, focus)] = SPECIAL[rnd.nextInt(SPECIAL.length)];
      }
      case 3 -> { // insert random bytes
        byte[] ins = new byte[1 + rnd.nextInt(16)];
        for (int i = 0; i < ins.length; i++) {
          ins[i] = (byte) rnd.nextInt(256);
        }
        b = insert(b, b.length == 0 ? 0 : pos(b, focus), ins);
      }
      case 4 -> { // delete a range
        int p = pos(b, focus);
        int n = 1 + rnd.nextInt(Math.max(1, Math.min(64, (b.length - p))));
        b = delete(b, p, Math.min(n, b.length - p));
      }
      case 5 -> { // copy a range to another place
        int from = pos(b, focus);
        int n = 1 + rnd.nextInt(Math.max(1, Math.min(32, b.length - from)));
        byte[] chunk = Arrays.copyOfRange(b, from, Math.min(b.length, from + n));
        b = insert(b, pos(b, focus), chunk);
      }
      case 6 -> { // splice with another seed
        byte[] o = others.get(rnd.nextInt(others.size()));
        int cut = b.length == 0 ? 0 : rnd.nextInt(b.length + 1);
        int from = o.length == 0 ? 0 : rnd.nextInt(o.length + 1);
        byte[] out = Arrays.copyOf(b, cut + (o.length - from));
        System.arraycopy(o, from, out, cut, o.length - from);
        b = out;
      }
      case 7 -> { // an interesting integer at a header offset (the first 16 bytes) or in the focus
        int width = 1 << rnd.nextInt(4);
        long v = INTERESTING[rnd.nextInt(INTERESTING.length)];
        if (rnd.nextInt(4) == 0) {
          v = b.length + rnd.nextInt(3) - 1;
        }
        int p = rnd.nextBoolean() ? rnd.nextInt(Math.min(16, b.length)) : pos(b, focus);
        if (p + width > b.length) {
          p = Math.max(0, b.length - width);
        }
        if (width > b.length) {
          break;
        }
        ByteBuffer bb = ByteBuffer.allocate(8).order(rnd.nextBoolean() ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        bb.putLong(v);
        b = b.clone();
        byte[] bytes = bb.array();
        int start = bb.order() == ByteOrder.LITTLE_ENDIAN ? 0 : 8 - width;
        System.arraycopy(bytes, start, b, p, width);
      }
      case 8, 9 -> { // a dictionary token, inserted or replacing a few bytes
        if (dict.isEmpty()) {
          break;
        }
        byte[] tok = dict.get(rnd.nextInt(dict.size())).getBytes(StandardCharsets.UTF_8);
        int p = pos(b, focus);
        if (op == 9 && p < b.length) {
          b = delete(b, p, Math.min(b.length - p, 1 + rnd.nextInt(8)));
        }
        b = insert(b, Math.min(p, b.length), tok);
      }
      case 10 -> { // rewrite a number in text
        b = rewriteNumber(b, focus);
      }
      default -> { // truncate
        b = Arrays.copyOf(b, rnd.nextInt(b.length + 1));
      }
    }
    return b;
  }

  private byte[] rewriteNumber(byte[] b, int focus) {
    int start = pos(b, focus);
    int i = start;
    int limit = Math.min(b.length, start + 256);
    while (i < limit && !(b[i] >= '0' && b[i] <= '9')) {
      i++;
    }
    if (i >= limit) {
      return b;
    }
    int j = i;
    while (j < b.length && (b[j] >= '0' && b[j] <= '9')) {
      j++;
    }
    byte[] num = NUMBERS[rnd.nextInt(NUMBERS.length)].getBytes(StandardCharsets.US_ASCII);
    return insert(delete(b, i, j - i), i, num);
  }

  static byte[] insert(byte[] b, int at, byte[] ins) {
    byte[] out = new byte[b.length + ins.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(ins, 0, out, at, ins.length);
    System.arraycopy(b, at, out, at + ins.length, b.length - at);
    return out;
  }

  static byte[] delete(byte[] b, int at, int n) {
    byte[] out = new byte[b.length - n];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(b, at + n, out, at, b.length - at - n);
    return out;
  }
}
