package io.github.tflxmert.weights;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle reader that builds values and never runs code: the opcodes {@code torch.save} writes for a state dict
 * (the protocol-2 subset that {@code torch.load(weights_only=True)} implements, less NEWOBJ and EMPTY_SET) and
 * only the globals a state dict needs. Any other global is refused when the GLOBAL opcode names it, before
 * anything could call it; REDUCE calls only the five functions below, and BUILD only sets an OrderedDict's
 * attributes (a module state dict's {@code _metadata}), which are dropped.
 *
 * <p>Values: None is {@link #NONE}, bool {@link Boolean}, int {@link Long} or {@link BigInteger}, float
 * {@link Double}, str {@link String}, tuple {@link Tuple}, list {@link ArrayList}, dict and OrderedDict
 * {@link Dict}, an allowed global {@link Global}, a persistent id whatever {@link PersistentLoader} returns, a
 * rebuilt tensor {@link TensorCall}. Every length read from the pickle is checked against the bytes left before
 * anything is allocated. One instance reads one pickle; not thread-safe.
 */
final class RestrictedUnpickler {
  /** Python's None. */
  static final Object NONE = new Object() {
    @Override
    public String toString() {
      return "None";
    }
  };

  /** Tuples nested deeper than this are refused (they would make hashing recursive without bound). */
  static final int MAX_TUPLE_DEPTH = 64;

  /** What the allowed globals are. */
  enum Kind { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_TENSOR_V3, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE,
    STORAGE_TYPE, DTYPE }

  /** An allowed global; {@code dtype} is set for storage types (null for UntypedStorage) and dtypes. */
  record Global(String path, Kind kind, TorchDtype dtype) {}

  /** An immutable Python tuple. */
  record Tuple(List<Object> items, int depth) {
    Object get(int i) {
      return items.get(i);
    }

    int size() {
      return items.size();
    }
  }

  /** A dict or collections.OrderedDict, in insertion order. */
  static final class Dict {
    final Map<Object, Object> map = new LinkedHashMap<>();
  }

  /**
   * The arguments of a {@code _rebuild_tensor_v2/v3} call: {@code storage} is what the persistent loader
   * returned, offset and strides count elements of {@code dtype} (null for v2: the storage's dtype).
   */
  record TensorCall(Object storage, long offset, long[] size, long[] stride, TorchDtype dtype) {}

  /** Resolves a BINPERSID tuple ({@code ('storage', ...)}); throws IllegalArgumentException to refuse it. */
  interface PersistentLoader {
    Object load(Tuple pid, String where);
  }

  /** The globals this reader accepts, by dotted path. */
  static final Map<String, Global> ALLOWED = allowed();

  /** For the refusal message: what is allowed, in words. */
  static final String ALLOWED_IN_WORDS = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
      + "torch._utils._rebuild_tensor_v3, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, "
      + "the torch.*Storage types, torch.storage.UntypedStorage and the torch dtypes";

  private static Map<String, Global> allowed() {
    Map<String, Global> m = new HashMap<>();
    m.put("collections.OrderedDict", new Global("collections.OrderedDict", Kind.ORDERED_DICT, null));
    for (Kind k : List.of(Kind.REBUILD_TENSOR_V2, Kind.REBUILD_TENSOR_V3, Kind.REBUILD_PARAMETER,
        Kind.REBUILD_PARAMETER_WITH_STATE)) {
      String path = "torch._utils._" + k.name().toLowerCase(java.util.Locale.ROOT);
      m.put(path, new Global(path, k, null));
    }
    m.put("torch.storage.UntypedStorage", new Global("torch.storage.UntypedStorage", Kind.STORAGE_TYPE, null));
    for (TorchDtype d : TorchDtype.values()) {
      m.put("torch." + d.numpyName, new Global("torch." + d.numpyName, Kind.DTYPE, d));
      if (d.storageClass != null) {
        m.put("torch." + d.storageClass, new Global("torch." + d.storageClass, Kind.STORAGE_TYPE, d));
      }
    }
    return Map.copyOf(m);
  }

  /** Opcode names for messages (protocols 0-5), so that a refusal says what the pickle tried. */
  private static final Map<Integer, String> OPCODE_NAMES = opcodeNames();

  private static Map<Integer, String> opcodeNames() {
    Map<Integer, String> m = new HashMap<>();
    String[] pairs = {"(MARK", ".STOP", "0POP", "1POP_MARK", "2DUP", "FFLOAT", "IINT", "JBININT", "KBININT1",
        "LLONG", "MBININT2", "NNONE", "PPERSID", "QBINPERSID", "RREDUCE", "SSTRING", "TBINSTRING", "USHORT_BINSTRING",
        "VUNICODE", "XBINUNICODE", "aAPPEND", "bBUILD", "cGLOBAL", "dDICT", "}EMPTY_DICT", "eAPPENDS", "gGET",
        "hBINGET", "iINST", "jLONG_BINGET", "lLIST", "]EMPTY_LIST", "oOBJ", "pPUT", "qBINPUT", "rLONG_BINPUT",
        "sSETITEM", "tTUPLE", ")EMPTY_TUPLE", "uSETITEMS", "GBINFLOAT", "BBINBYTES", "CSHORT_BINBYTES"};
    for (String p : pairs) {
      m.put((int) p.charAt(0), p.substring(1));
    }
    String[] high = {"PROTO", "NEWOBJ", "EXT1", "EXT2", "EXT4", "TUPLE1", "TUPLE2", "TUPLE3", "NEWTRUE", "NEWFALSE",
        "LONG1", "LONG4"};
    for (int i = 0; i < high.length; i++) {
      m.put(0x80 + i, high[i]);
    }
    String[] p4 = {"SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES8", "EMPTY_SET", "ADDITEMS", "FROZENSET", "NEWOBJ_EX",
        "STACK_GLOBAL", "MEMOIZE", "FRAME", "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER"};
    for (int i = 0; i < p4.length; i++) {
      m.put(0x8c + i, p4[i]);
    }
    return Map.copyOf(m);
  }

  private static final String IMPLEMENTED = "PROTO, GLOBAL, REDUCE, BUILD, BINPERSID, MARK, STOP, TUPLE, TUPLE1-3, "
      + "EMPTY_TUPLE/LIST/DICT, APPEND(S), SETITEM(S), BININT, BININT1, BININT2, LONG1, BINFLOAT, BINUNICODE, "
      + "SHORT_BINSTRING, NONE, NEWTRUE, NEWFALSE, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET";

  private final FileBytes bytes;
  private final long end;
  private final String where;
  private final PersistentLoader persistent;
  private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
  private long bufStart;
  private long pos;
  private long opStart;

  private List<Object> stack = new ArrayList<>();
  private final Deque<List<Object>> metastack = new ArrayDeque<>();
  private final Map<Long, Object> memo = new HashMap<>();

  /**
   * @param bytes      the file
   * @param start      where the pickle begins
   * @param end        where the bytes the pickle may use end (the entry's end, or the file's)
   * @param where      for messages: the file and the entry, e.g. {@code x.bin: archive/data.pkl}
   * @param persistent resolves persistent ids, or null to refuse them
   */
  RestrictedUnpickler(FileBytes bytes, long start, long end, String where, PersistentLoader persistent) {
    this.bytes = bytes;
    this.pos = start;
    this.bufStart = start;
    this.end = end;
    this.where = where;
    this.persistent = persistent;
    buf.limit(0);
  }

  /** Where the byte after the STOP opcode is (the next pickle of a legacy file starts there). */
  long position() {
    return pos;
  }

  private IllegalArgumentException bad(String what) {
    return new IllegalArgumentException(where + ": at byte " + opStart + ": " + what);
  }

  private String opName(int op) {
    String n = OPCODE_NAMES.get(op);
    return String.format(java.util.Locale.ROOT, "0x%02x%s", op, n == null ? " (not a pickle opcode)" : " (" + n + ")");
  }

  // ------------------------------------------------------------------------------------------------ input

  private int u8() throws IOException {
    if (pos >= end) {
      throw bad("the pickle ends before its STOP opcode (truncated?)");
    }
    if (pos < bufStart || pos >= bufStart + buf.limit()) {
      bufStart = pos;
      buf.clear();
      buf.limit((int) Math.min(buf.capacity(), end - pos));
      bytes.readFully(buf, pos);
      buf.flip();
    }
    return buf.get((int) (pos++ - bufStart)) & 0xff;
  }

  /** {@code n} bytes, checked against what is left before allocating. */
  private byte[] take(long n, String what) throws IOException {
    if (n < 0 || n > end - pos) {
      throw bad(what + ": expected at most the " + (end - pos) + " bytes left in the pickle, found a length of " + n);
    }
    byte[] out = new byte[(int) n];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) u8();
    }
    return out;
  }

  private long uint(int width) throws IOException {
    long v = 0;
    for (int i = 0; i < width; i++) {
      v |= (long) u8() << (8 * i);
    }
    return v;
  }

  private String line(String what) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int c = u8(); c != '\n'; c = u8()) {
      if (sb.length() >= 256) {
        throw bad(what + ": expected a name of at most 256 characters ending in a newline");
      }
      sb.append((char) c);
    }
    return sb.toString();
  }

  private String utf8(byte[] b, String what) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw bad(what + ": expected UTF-8 text, found invalid bytes");
    }
  }

  // ------------------------------------------------------------------------------------------------ stack

  private Object pop(String op) {
    if (stack.isEmpty()) {
      throw bad(op + " needs a value on the stack, found none");
    }
    return stack.remove(stack.size() - 1);
  }

  private Object top(String op) {
    if (stack.isEmpty()) {
      throw bad(op + " needs a value on the stack, found none");
    }
    return stack.get(stack.size() - 1);
  }

  private List<Object> popMark(String op) {
    if (metastack.isEmpty()) {
      throw bad(op + " without a MARK before it");
    }
    List<Object> items = stack;
    stack = metastack.pop();
    return items;
  }

  private Tuple tuple(List<Object> items) {
    int depth = 1;
    for (Object o : items) {
      if (o instanceof Tuple t) {
        depth = Math.max(depth, t.depth() + 1);
      }
    }
    if (depth > MAX_TUPLE_DEPTH) {
      throw bad("tuples nested deeper than " + MAX_TUPLE_DEPTH + " (a state dict has none)");
    }
    return new Tuple(List.copyOf(items), depth);
  }

  /** A Python type name for messages (never the value: it may be large or cyclic). */
  static String typeName(Object o) {
    if (o == NONE) {
      return "None";
    }
    if (o instanceof Boolean) {
      return "a bool";
    }
    if (o instanceof Long || o instanceof BigInteger) {
      return "an int";
    }
    if (o instanceof Double) {
      return "a float";
    }
    if (o instanceof String) {
      return "a str";
    }
    if (o instanceof Tuple t) {
      return "a tuple of " + t.size();
    }
    if (o instanceof List<?> l) {
      return "a list of " + l.size();
    }
    if (o instanceof Dict) {
      return "a dict";
    }
    if (o instanceof Global g) {
      return g.path();
    }
    if (o instanceof TensorCall) {
      return "a tensor";
    }
    return "a storage";
  }

  private static boolean hashable(Object o) {
    if (o instanceof Tuple t) {
      return t.items().stream().allMatch(RestrictedUnpickler::hashable); // depth bounded by MAX_TUPLE_DEPTH
    }
    return o == NONE || o instanceof Boolean || o instanceof Long || o instanceof BigInteger || o instanceof Double
        || o instanceof String || o instanceof Global;
  }

  private void setItem(Object target, Object key, Object value, String op) {
    if (!(target instanceof Dict d)) {
      throw bad(op + " on " + typeName(target) + ": expected a dict");
    }
    if (!hashable(key)) {
      throw bad(op + ": a dict key must be hashable, found " + typeName(key));
    }
    d.map.put(key, value);
  }

  // ------------------------------------------------------------------------------------------------ opcodes

  /** Reads one pickle up to and including its STOP opcode and returns its value. */
  Object load() throws IOException {
    while (true) {
      opStart = pos;
      int op = u8();
      switch (op) {
        case 0x80 -> { // PROTO
          int proto = u8();
          if (proto < 2 || proto > 5) {
            throw bad("pickle protocol " + proto + ": expected 2 (what torch.save writes) to 5");
          }
        }
        case '.' -> { // STOP
          return pop("STOP");
        }
        case 'c' -> {
          String module = line("GLOBAL module");
          String name = line("GLOBAL name");
          // Protocol 2 writes Python 2 module names; Python 3's pickle (and torch.load) map them back.
          module = Map.of("__builtin__", "builtins", "copy_reg", "copyreg").getOrDefault(module, module);
          String path = module + "." + name;
          Global g = ALLOWED.get(path);
          if (g == null) {
            throw bad("refused global " + path + " (only " + ALLOWED_IN_WORDS + " are allowed), as "
                + "torch.load(weights_only=True) would");
          }
          stack.add(g);
        }
        case 'R' -> reduce();
        case 'b' -> { // BUILD
          Object state = pop("BUILD");
          Object inst = top("BUILD");
          if (!(inst instanceof Dict)) {
            throw bad("BUILD on " + typeName(inst) + ": only an OrderedDict's attributes (a state dict's _metadata) "
                + "can be set");
          }
          if (!(state instanceof Dict || state instanceof Tuple || state == NONE)) {
            throw bad("BUILD with " + typeName(state) + ": expected a dict of attributes");
          }
          // The attributes (_metadata: per-module versions) do not change any tensor: dropped.
        }
        case 'Q' -> { // BINPERSID
          Object pid = pop("BINPERSID");
          if (persistent == null) {
            throw bad("a persistent id where none is expected");
          }
          if (!(pid instanceof Tuple t) || t.size() == 0 || !"storage".equals(t.get(0))) {
            throw bad("persistent id " + typeName(pid) + ": expected a tuple ('storage', ...), as torch.save writes");
          }
          stack.add(persistent.load(t, where + ": at byte " + opStart));
        }
        case '(' -> { // MARK
          metastack.push(stack);
          stack = new ArrayList<>();
        }
        case 't' -> {
          List<Object> items = popMark("TUPLE");
          stack.add(tuple(items));
        }
        case 0x85, 0x86, 0x87 -> { // TUPLE1..3
          int n = op - 0x84;
          if (stack.size() < n) {
            throw bad("TUPLE" + n + " needs " + n + " values on the stack, found " + stack.size());
          }
          List<Object> tail = stack.subList(stack.size() - n, stack.size());
          Tuple t = tuple(new ArrayList<>(tail));
          tail.clear();
          stack.add(t);
        }
        case ')' -> stack.add(tuple(List.of()));
        case ']' -> stack.add(new ArrayList<>());
        case '}' -> stack.add(new Dict());
        case 'a' -> { // APPEND
          Object item = pop("APPEND");
          append(top("APPEND"), List.of(item), "APPEND");
        }
        case 'e' -> { // APPENDS
          List<Object> items = popMark("APPENDS");
          append(top("APPENDS"), items, "APPENDS");
        }
        case 's' -> { // SETITEM
          Object v = pop("SETITEM");
          Object k = pop("SETITEM");
          setItem(top("SETITEM"), k, v, "SETITEM");
        }
        case 'u' -> { // SETITEMS
          List<Object> items = popMark("SETITEMS");
          if (items.size() % 2 != 0) {
            throw bad("SETITEMS with an odd number (" + items.size() + ") of keys and values");
          }
          Object target = top("SETITEMS");
          for (int i = 0; i < items.size(); i += 2) {
            setItem(target, items.get(i), items.get(i + 1), "SETITEMS");
          }
        }
        case 'N' -> stack.add(NONE);
        case 0x88 -> stack.add(Boolean.TRUE);
        case 0x89 -> stack.add(Boolean.FALSE);
        case 'J' -> stack.add((long) (int) uint(4));
        case 'K' -> stack.add(uint(1));
        case 'M' -> stack.add(uint(2));
        case 0x8a -> { // LONG1: little-endian two's complement
          byte[] le = take(u8(), "LONG1");
          byte[] be = new byte[le.length];
          for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
          }
          BigInteger v = be.length == 0 ? BigInteger.ZERO : new BigInteger(be);
          stack.add(v.bitLength() < 64 ? (Object) v.longValue() : v);
        }
        case 'G' -> {
          long bits = 0;
          for (int i = 0; i < 8; i++) {
            bits = bits << 8 | u8(); // big-endian
          }
          stack.add(Double.longBitsToDouble(bits));
        }
        case 'X' -> stack.add(utf8(take(uint(4), "BINUNICODE"), "BINUNICODE"));
        case 'U' -> stack.add(utf8(take(u8(), "SHORT_BINSTRING"), "SHORT_BINSTRING")); // torch.load: utf-8
        case 'q', 'r' -> { // BINPUT, LONG_BINPUT
          long i = op == 'q' ? uint(1) : uint(4);
          memo.put(i, top(op == 'q' ? "BINPUT" : "LONG_BINPUT"));
        }
        case 'h', 'j' -> { // BINGET, LONG_BINGET
          long i = op == 'h' ? uint(1) : uint(4);
          Object v = memo.get(i);
          if (v == null) {
            throw bad((op == 'h' ? "BINGET " : "LONG_BINGET ") + i + ": nothing was stored under that memo index");
          }
          stack.add(v);
        }
        default -> throw bad("opcode " + opName(op) + " is not one a state dict needs (this reader, like "
            + "torch.load(weights_only=True), implements " + IMPLEMENTED + ")");
      }
    }
  }

  @SuppressWarnings("unchecked")
  private void append(Object target, List<Object> items, String op) {
    if (!(target instanceof ArrayList<?> l)) {
      throw bad(op + " on " + typeName(target) + ": expected a list");
    }
    ((List<Object>) l).addAll(items);
  }

  private void reduce() {
    Object args = pop("REDUCE");
    Object func = top("REDUCE");
    if (!(func instanceof Global g) || g.kind() == Kind.STORAGE_TYPE || g.kind() == Kind.DTYPE) {
      throw bad("REDUCE calls " + typeName(func) + ", which is not a function this reader calls (only "
          + "collections.OrderedDict and the torch._utils._rebuild_* functions of a state dict)");
    }
    if (!(args instanceof Tuple a)) {
      throw bad("REDUCE of " + g.path() + " with " + typeName(args) + " as arguments: expected a tuple");
    }
    Object result = switch (g.kind()) {
      case ORDERED_DICT -> orderedDict(a);
      case REBUILD_TENSOR_V2 -> rebuildTensor(g, a, 6, 7, null);
      case REBUILD_TENSOR_V3 -> {
        arity(g, a, 7, 8);
        if (!(a.get(6) instanceof Global d) || d.kind() != Kind.DTYPE) {
          throw bad(g.path() + ": argument 7 (dtype): expected a torch dtype, found " + typeName(a.get(6)));
        }
        yield rebuildTensor(g, a, 7, 8, d.dtype());
      }
      case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
        int n = g.kind() == Kind.REBUILD_PARAMETER ? 3 : 4;
        arity(g, a, n, n);
        if (!(a.get(0) instanceof TensorCall t)) {
          throw bad(g.path() + ": argument 1 (data): expected a tensor, found " + typeName(a.get(0)));
        }
        yield t;
      }
      default -> throw new AssertionError(g);
    };
    stack.set(stack.size() - 1, result);
  }

  private void arity(Global g, Tuple a, int min, int max) {
    if (a.size() < min || a.size() > max) {
      throw bad(g.path() + ": expected " + (min == max ? "" + min : min + " or " + max) + " arguments, found "
          + a.size());
    }
  }

  private Dict orderedDict(Tuple a) {
    Dict d = new Dict();
    if (a.size() == 0) {
      return d;
    }
    if (a.size() != 1 || !(a.get(0) instanceof List<?> pairs)) {
      throw bad("collections.OrderedDict: expected no arguments or one list of (key, value) pairs, found "
          + a.size() + " arguments");
    }
    for (Object p : pairs) {
      if (!(p instanceof Tuple t) || t.size() != 2) {
        throw bad("collections.OrderedDict: expected (key, value) pairs, found " + typeName(p));
      }
      setItem(d, t.get(0), t.get(1), "collections.OrderedDict");
    }
    return d;
  }

  private TensorCall rebuildTensor(Global g, Tuple a, int min, int max, TorchDtype dtype) {
    arity(g, a, min, max);
    long offset = nonNegative(g, a.get(1), "argument 2 (storage_offset)");
    long[] size = ints(g, a.get(2), "argument 3 (size)");
    long[] stride = ints(g, a.get(3), "argument 4 (stride)");
    if (size.length != stride.length) {
      throw bad(g.path() + ": size has " + size.length + " dimensions but stride has " + stride.length);
    }
    if (!(a.get(4) instanceof Boolean)) {
      throw bad(g.path() + ": argument 5 (requires_grad): expected a bool, found " + typeName(a.get(4)));
    }
    Object metadata = a.size() == max ? a.get(max - 1) : NONE;
    if (!(metadata == NONE || metadata instanceof Dict d && d.map.isEmpty())) {
      throw bad(g.path() + ": tensor metadata " + typeName(metadata) + " (e.g. a negative or conjugate view) is "
          + "not supported in a state dict");
    }
    return new TensorCall(a.get(0), offset, size, stride, dtype);
  }

  private long nonNegative(Global g, Object o, String what) {
    if (!(o instanceof Long v) || v < 0) {
      throw bad(g.path() + ": " + what + ": expected a non-negative int below 2^63, found "
          + (o instanceof Long || o instanceof BigInteger ? o : typeName(o)));
    }
    return v;
  }

  private long[] ints(Global g, Object o, String what) {
    if (!(o instanceof Tuple t)) {
      throw bad(g.path() + ": " + what + ": expected a tuple of ints, found " + typeName(o));
    }
    long[] out = new long[t.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = nonNegative(g, t.get(i), what + " item " + i);
    }
    return out;
  }
}
