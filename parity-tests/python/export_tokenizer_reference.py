#!/usr/bin/env python3
"""Writes the tokenizer parity fixture: a deterministic hostile corpus and what Hugging Face's slow
`LxmertTokenizer` (the target of io.github.tflxmert.tokenizer.LxmertTokenizer) and fast `LxmertTokenizerFast`
make of it, for several vocabularies and settings.

Usage: export_tokenizer_reference.py [--out DIR] [--seed N] [--count N]
  DIR defaults to parity-tests/fixtures/tokenizer. The BERT vocabulary is read from the committed copy there
  (--vocab to override; its sha256 is checked, see SOURCE.md) and copied to DIR, so regenerating needs nothing
  beyond the pinned reference environment.

Files written to DIR (gzip'd JSON lines, one object a line; read by TokenizerParityTest):
  corpus.jsonl.gz        {"i": n, "text": str} or {"i": n, "text": str, "pair": str}, the corpus
  cases-<config>.jsonl.gz  per corpus entry (every entry for full configs, a fixed subset otherwise):
        {"i": n, "tokens": slow tokenize(text) [+ "pair_tokens"], "ids", "type_ids", "mask": slow __call__,
         "fast": {"tokens", "ids", "type_ids", "offsets"} only where the fast tokenizer's tokens/ids/type ids differ,
         "offsets": fast offsets ([start, end] in code points, per token incl. [CLS]/[SEP]) where they agree}
  batch-<config>.jsonl.gz  batch/padding/truncation cases: {"name", "texts", "pairs", "padding", "truncation",
        "max_length", "ids", "type_ids", "mask"} (2-D, as the slow tokenizer returns them)
  decode-<config>.jsonl.gz {"ids", "skip_special_tokens", "clean_up_tokenization_spaces", "text"}
  methods.jsonl.gz       HF's special-token helpers per config on ids of corpus entries and edge cases:
        {"config", "ids0", "ids1" (or null), "build_inputs_with_special_tokens", "get_special_tokens_mask",
         "get_special_tokens_mask_already" (already_has_special_tokens=True on ids0),
         "create_token_type_ids_from_sequences"}; with ids1 and already_has_special_tokens=True HF raises
         ValueError, which every record with ids1 asserts
  save_pretrained.json   what save_pretrained and save_vocabulary write, per case (see SAVE_CASES): the files
        by name, JSON files as their text, vocabularies as sha256 and size (each equals its source vocabulary)
  save-input/            a model directory (tiny vocab.txt + a tokenizer_config.json with fields the tokenizer
                         does not use) that the "from_pretrained" case loads and saves again
  manifest.json          versions, configs, counts, sha256 of the vocabularies
  DISAGREEMENTS.md       slow-vs-fast disagreements per config, with examples
"""
import argparse
import gzip
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import unicodedata

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import LxmertTokenizer, LxmertTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

FORMAT = "tf-lxmert-tokenizer-reference/1"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "tokenizer"))
REAL_VOCAB = "bert-base-uncased-vocab.txt"
REAL_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
TINY_VOCAB = "tiny-vocab.txt"
# tests/models/lxmert/test_tokenization_lxmert.py, ids in line order.
TINY_TOKENS = ["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",", "low", "lowest"]

# name -> (vocab file, tokenizer kwargs, which corpus entries: "all" or every k-th)
CONFIGS = {
    "uncased": (REAL_VOCAB, dict(model_max_length=512), "all"),
    "cased": (REAL_VOCAB, dict(do_lower_case=False, model_max_length=512), 3),
    "lower_keep_accents": (REAL_VOCAB, dict(do_lower_case=True, strip_accents=False, model_max_length=512), 5),
    "cased_strip_accents": (REAL_VOCAB, dict(do_lower_case=False, strip_accents=True, model_max_length=512), 5),
    "no_chinese_split": (REAL_VOCAB, dict(tokenize_chinese_chars=False, model_max_length=512), 7),
    "tiny": (TINY_VOCAB, dict(), 2),
}

# ---------------------------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------------------------
ENGLISH = ("the quick brown fox jumps over the lazy dog while a man in a red shirt is riding a bicycle near "
           "two children who are playing with a small white ball on the green grass of the city park at noon "
           "what color is the car how many people are standing next to the table is there a clock on the wall "
           "unaffable unwanted running lowest wanted visual question answering transformers tokenizer embeddings "
           "isn't don't can't won't i'm you're we've they'll it's o'clock e-mail state-of-the-art U.S.A. Mr. "
           "Dr. etc. 3.14 1,000,000 $5.99 50% #hashtag @user http://example.com/path?q=1&r=2 foo_bar C++ C# "
           "naïve café résumé fiancée coöperate Zürich São Paulo Ångström façade jalapeño piñata").split()
ACCENTED = ["café", "CAFÉ", "naïve", "Ångström", "ÀÉÎÕÜ", "àéîõü", "Ñandú", "crème brûlée", "Þórr", "Øresund",
            "Łódź", "Dvořák", "Škoda", "Ærøskøbing", "ŒUVRE", "Ğüzel", "İstanbul", "ışık", "IŞIK", "straße",
            "STRASSE", "Maße", "ẞ", "ﬁnance", "ﬂuﬀy", "ﬀ ﬃ ﬄ ﬅ ﬆ", "Ǆ ǅ ǆ Ǉ ǈ ǉ", "ΣΊΣΥΦΟΣ", "ὈΔΥΣΣΕΎΣ", "ﬀ",
            "e\u0301", "E\u0301", "a\u0308\u0304", "o\u0323\u0302", "u\u031b\u0303", "\u0301alone", "x\u0336y",
            "ḍ̇", "q\u0307\u0323", "Å", "\u212b", "\u2126", "K\u212a", "\u1e9b\u0323", "ﾊﾟﾝ", "ｆｕｌｌｗｉｄｔｈ",
            "Ｈｅｌｌｏ！", "①②③", "ⅷ Ⅻ", "²³¹", "½ ¾", "µ", "ŉ", "ǰ", "ΐ", "ﬓ", "Ꭰ ꭰ", "ᏸ", "Ɐ", "ꞵ Ꞵ"]
SCRIPTS = {
    "cjk": "我爱北京天安门。今天天气很好！日本語のテキストです。中文，标点；「引号」『書名』〔注〕【重要】",
    "cjk_ext": "𠀀𠀁𪜀𫝀𫠠𬺰丽丸乁你侮並",
    "hangul": "안녕하세요 세계! 한국어 텍스트입니다. 각 가각",
    "arabic": "مرحبا بالعالم، كيف حالك؟ العَرَبِيَّة ١٢٣٤٥ ﻻ ﷺ",
    "hebrew": "שָׁלוֹם עוֹלָם ״ציטוט״ ׳",
    "devanagari": "नमस्ते दुनिया। हिन्दी पाठ ॥ क़ ज़ फ़ ०१२३",
    "thai": "สวัสดีชาวโลก ภาษาไทย ๑๒๓ ฯลฯ",
    "cyrillic": "Привет, мир! Ёжик в ТУМАНЕ. Ѐ Ѝ ё й",
    "greek": "Γειά σου Κόσμε! ΟΔΟΣ ὁδός ἄνθρωπος ;·",
    "other": "ሰላም ዓለም ՀԱՅԵՐԵՆ ქართული ᚠᚢᚦ ꦗꦮ ᠮᠣᠩᠭᠣᠯ ⴰⵣⵓⵍ ᏣᎳᎩ",
}
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇩🇪", "🇯🇵🇺🇸", "❤️", "🧑🏿‍🚀", "👩‍❤️‍💋‍👨", "1️⃣", "#️⃣", "☺",
         "🫠", "🫶🏻", "🪬", "🛝", "🫧", "🤌", "👁️‍🗨️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "✌🏾", "🙇‍♀️"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1c", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
           "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u00ad", "\u061c", "\u180e",
           "\u2066", "\u2069", "\ufff9", "\ufffc", "\ufffd", "\ue000", "\uf8ff", "\U000f0000", "\U000e0001",
           "\U000e0041", "\U0001d173", "\u0378", "\U0010ffff", "\ufffe", "\uffff", "\U00013430", "\U000110bd"]
SPACES = [" ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u1680", "\u2000", "\u2002", "\u2003", "\u2007", "\u2009",
          "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
          "\x0b", "\x0c", "  ", "\t\t"]
PUNCT = ["!", "\"", "#", "$", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/", ":", ";", "<", "=", ">", "?",
         "@", "[", "\\", "]", "^", "_", "`", "{", "|", "}", "~", "¡", "¿", "«", "»", "‹", "›", "\u201c", "\u201d",
         "\u2018", "\u2019", "„", "‚", "–", "—", "―", "…", "‥", "·", "•", "‰", "‱", "′", "″", "§", "¶", "†", "‡",
         "※", "⁂", "、", "。", "〃", "〈", "〉", "《", "》", "「", "」", "『", "』", "【", "】", "〜", "・", "！",
         "？", "，", "．", "：", "；", "﹏", "﹖", "¦", "¬", "°", "±", "×", "÷", "€", "£", "¥", "¢", "©", "®", "™",
         "→", "∀", "∑", "√", "∞", "≈", "≠", "≤", "♠", "♥", "✓", "✗", "★", "☆", "⌘", "⏎", "\u0f04", "\u2e3a",
         "\u2e52", "\u2e5d", "\U00016fe2", "\U0001e95e"]
NUMBERS = ["0", "7", "42", "2024", "3.14159", "-17", "1e-9", "1,234,567.89", "0x1F", "١٢٣", "४२", "๔๒", "٣.١٤",
           "１２３", "Ⅻ", "½", "²", "𝟘𝟙𝟚", "𝟏𝟐"]
SUPPLEMENTARY = ["𝐀𝐁𝐂", "𝒶𝒷𝒸", "𝔄𝔅", "𝕏", "𝓗𝓮𝓵𝓵𝓸", "𐐀𐐁 𐐨𐐩", "𞤀𞤁 𞤢", "𖹀 𖹠", "𑢠 𑣀", "𐲀 𐳀",
                 "𓀀𓀁", "𒀀", "𝄞", "🀄", "🃏", "𐌰𐌱", "𐍈"]
# Code points new in Unicode 14 (Python 3.11) that Java 17 (Unicode 13) does not know.
UNICODE14 = ["\U00010570\U00010597", "\U000105a0 \U00010579", "\u2c2f\u2c5f", "\ua7c0\ua7c1", "\ua7d0\ua7d1",
             "\ua7d6\ua7d8", "a\u0898\u0301", "e\u0899\u0323", "o\u0323\u089a\u0301", "\u1734", "ᜃ\u1715",
             "\u1ac1x", "\u1dfa", "\u0c3c\u0c15", "\U0001e2ae", "\U00011070", "\u061d", "\u0870\u0871",
             "\U0001fae0\U0001faf6", "\U0001f6dd", "\u2e5d", "\u20c0", "\U0001e290", "\U00012f90",
             "\U0002b738\U0002b739", "\U00011f00", "\U0001aff0", "\u0d04"]
SPECIAL = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[mask]", "[Mask]", "[cls]", "[MASK", "MASK]", "[ MASK ]",
           "[[MASK]]", "[MASK][MASK]", "x[MASK]y", "[MA\u200bSK]", "[MASK\u0301]", "[CLS]\u00e9", "##", "##ing",
           "[unused0]", "[unused1]", "<s>", "</s>", "<mask>", "[CLS][SEP]", "[SEP]]", "[[SEP]"]
LONG_WORDS = ["a" * 100, "b" * 101, "x" * 250, "supercalifragilisticexpialidocious" * 3,
              "pneumonoultramicroscopicsilicovolcanoconiosis", "é" * 99 + "ab", "ab" + "e\u0301" * 60,
              "の" * 120, "😀" * 60, "𝐀" * 99, "𝐀" * 101, "a\u0301" * 99, "z" * 99 + "[MASK]"]
ATOM_POOLS = [ENGLISH, ENGLISH, ENGLISH, ACCENTED, list(SCRIPTS.values()), EMOJI, CONTROL, SPACES, PUNCT, NUMBERS,
              SUPPLEMENTARY, UNICODE14, SPECIAL, LONG_WORDS]

HANDWRITTEN = [
    "UNwant\u00E9d,running", "I was born in 92000, and this is falsé.", "Hello world!", "", " ", "   ", "\t", "\n",
    "\r\n", "\u3000", "\u00a0\u00a0", "\u200b", "\x00", "\ufffd", "\u2028", " \u2029 ", "\t\n\r  \x0b\x0c",
    "[CLS]", "[CLS] hello [SEP]", "hello [MASK] world", "[MASK]", "[mask]", "[MASK][MASK]", "a[MASK]b",
    "[UNK] is unknown", "[PAD][PAD]", "[SEP]alone", "Hello[SEP]World", "[cls] lower", "[ CLS ]",
    "HeLLo WoRLD", "İstanbul", "i̇stanbul", "I\u0307", "ı", "İ", "ŞİŞLİ", "ΣΑΣ", "ΟΔΟΣ.", "σς", "Σ", "ß", "ẞ",
    "STRAẞE", "ﬁ", "ﬃ", "Ǳ", "ǲ", "ǳ", "ɐ", "Å", "\u212b", "e\u0301", "\u00e9", "\u0301", " \u0301 ", "a \u0301b",
    "\u0300\u0301\u0302", "한국어", "한", "中文", "中a文b", "ｱｲｳ", "😀😃", "👨‍👩‍👧", "🇺🇳",
    "don't", "I'm here.", "It's 5 o'clock.", "Hello ,world !", "a ' b", "can 't", "we 've", "they 're",
    "x" * 100, "x" * 101, "é" * 100, "é" * 101, "𝐀" * 100, "𝐀" * 101, "a" * 60 + "." + "b" * 60,
    "\U0001f600", "\U00010570", "\U0001fae0", "a\u0898\u0301", "\u1734",
    "The [MASK] is on the table.", "what is the man holding?", "Is there a dog? No.",
    "nice.Shop", "e.g.", "C:\\path\\to\\file.txt", "<html><body>hi</body></html>", "{\"json\": [1, 2]}",
]


def make_atom(rng):
    pool = rng.choice(ATOM_POOLS)
    atom = rng.choice(pool)
    r = rng.random()
    if r < 0.15:
        atom = atom.upper()
    elif r < 0.3:
        atom = atom.capitalize()
    elif r < 0.35 and len(atom) > 4:
        i = rng.randrange(len(atom))
        atom = atom[:i] + atom[i:].swapcase()
    return atom


def random_code_point_string(rng, n):
    """Any code point of any plane except surrogates: assigned, unassigned, private use, noncharacters."""
    out = []
    for _ in range(n):
        plane = rng.random()
        if plane < 0.5:
            cp = rng.randrange(0x20, 0x3000)
        elif plane < 0.75:
            cp = rng.randrange(0x3000, 0x10000)
        elif plane < 0.95:
            cp = rng.randrange(0x10000, 0x30000)
        else:
            cp = rng.randrange(0x30000, 0x110000)
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0x41
        out.append(chr(cp))
    return "".join(out)


def make_text(rng):
    kind = rng.random()
    if kind < 0.08:
        return random_code_point_string(rng, rng.randrange(1, 25))
    if kind < 0.12:
        # combining-mark soup on random bases
        bases = "aAeEiIoOuUnNcCsSzZ" + "αΑωΩиИ" + "ᄀ가"
        marks = [chr(c) for c in list(range(0x300, 0x370)) + [0x898, 0x899, 0x1ab0, 0x1dc0, 0x20d0, 0x302a, 0x1734]]
        return "".join(rng.choice(bases) + "".join(rng.choice(marks) for _ in range(rng.randrange(0, 4)))
                       for _ in range(rng.randrange(1, 6)))
    n = rng.randrange(1, 12)
    parts = []
    for _ in range(n):
        parts.append(make_atom(rng))
        sep = rng.random()
        if sep < 0.6:
            parts.append(" ")
        elif sep < 0.75:
            parts.append(rng.choice(SPACES))
        elif sep < 0.85:
            parts.append(rng.choice(PUNCT))
        elif sep < 0.9:
            parts.append(rng.choice(CONTROL))
        # else: glued to the next atom
    text = "".join(parts)
    if rng.random() < 0.1:
        text = rng.choice(SPACES) + text + rng.choice(SPACES)
    if rng.random() < 0.05:
        text = unicodedata.normalize(rng.choice(["NFD", "NFKC", "NFKD"]), text)
    return text


def build_corpus(seed, count):
    rng = random.Random(seed)
    corpus = []
    seen = set()

    def add(text, pair=None):
        key = (text, pair)
        if key in seen:
            return
        seen.add(key)
        entry = {"i": len(corpus), "text": text}
        if pair is not None:
            entry["pair"] = pair
        corpus.append(entry)

    for t in HANDWRITTEN:
        add(t)
    for pool in (ACCENTED, list(SCRIPTS.values()), EMOJI, CONTROL, SPACES, PUNCT, NUMBERS, SUPPLEMENTARY, UNICODE14,
                 SPECIAL, LONG_WORDS):
        for t in pool:
            add(t)
            add("x" + t + "y")
    for t in CONTROL + SPACES:
        add("a" + t + "b")
    add("what is in the image?", "a cat sitting on a mat")
    add("UNwant\u00E9d,running", "lowest low")
    add("", "")
    add("question", "")
    add("", "answer")
    while len(corpus) < count:
        text = make_text(rng)
        if rng.random() < 0.12:
            add(text, make_text(rng))
        else:
            add(text)
    return corpus


# ---------------------------------------------------------------------------------------------------------------
# Reference outputs
# ---------------------------------------------------------------------------------------------------------------
def load_pair(out_dir, vocab, kwargs):
    path = os.path.join(out_dir, vocab)
    slow = LxmertTokenizer(path, **kwargs)
    fast = LxmertTokenizerFast(vocab_file=path, **kwargs)
    return slow, fast


_VOCABS = {}


def _vocab_of(slow):
    # get_vocab() copies the whole vocabulary; build it once per tokenizer.
    if id(slow) not in _VOCABS:
        _VOCABS[id(slow)] = slow.get_vocab()
    return _VOCABS[id(slow)]


def encode_case(slow, fast, entry):
    text, pair = entry["text"], entry.get("pair")
    rec = {"i": entry["i"], "tokens": slow.tokenize(text)}
    if pair is not None:
        rec["pair_tokens"] = slow.tokenize(pair)
    enc = slow(text, pair) if pair is not None else slow(text)
    rec["ids"] = enc["input_ids"]
    rec["type_ids"] = enc["token_type_ids"]
    rec["mask"] = enc["attention_mask"]
    fenc = fast(text, pair, return_offsets_mapping=True) if pair is not None else fast(text, return_offsets_mapping=True)
    ftokens = fast.convert_ids_to_tokens(fenc["input_ids"])
    offsets = [list(o) for o in fenc["offset_mapping"]]
    slow_tokens = [slow.cls_token] + rec["tokens"] + [slow.sep_token] + (
        rec["pair_tokens"] + [slow.sep_token] if pair is not None else [])
    agree = (fenc["input_ids"] == rec["ids"] and fenc["token_type_ids"] == rec["type_ids"]
             and fenc["attention_mask"] == rec["mask"])
    if agree:
        rec["offsets"] = offsets
    else:
        rec["fast"] = {"tokens": ftokens, "ids": fenc["input_ids"], "type_ids": fenc["token_type_ids"],
                       "offsets": offsets}
    vocab = _vocab_of(slow)
    assert slow.convert_ids_to_tokens(rec["ids"]) == [t if t in vocab else slow.unk_token for t in slow_tokens], entry
    return rec, agree


BATCH_CASES = [
    dict(name="longest", texts=["a short one", "a much longer sentence with many more words in it", ""],
         padding="longest", truncation=False, max_length=None),
    dict(name="max_length_pad", texts=["hello world", "x"], padding="max_length", truncation=False, max_length=12),
    dict(name="max_length_pad_truncate", texts=["hello world " * 10, "short"], padding="max_length",
         truncation="longest_first", max_length=9),
    dict(name="truncate_only", texts=["the quick brown fox jumps over the lazy dog", "tiny"], padding=False,
         truncation=True, max_length=6),
    dict(name="truncate_model_max", texts=["word " * 600, "end"], padding="longest", truncation=True,
         max_length=None),
    dict(name="pad_model_max", texts=["a b c", "d"], padding="max_length", truncation=False, max_length=None),
    dict(name="pairs_longest_first", texts=["what is the man holding in his left hand?", "color?", "a b c d e f"],
         pairs=["a red umbrella and a newspaper", "blue and green and yellow and red", "g"],
         padding="longest", truncation="longest_first", max_length=10),
    dict(name="pairs_longest_first_odd", texts=["one two three four five six seven", "a b"],
         pairs=["eight nine ten eleven", "c d e f g h i j k l m"], padding="max_length",
         truncation="longest_first", max_length=11),
    dict(name="pairs_only_first", texts=["one two three four five six seven eight", "alpha beta gamma delta"],
         pairs=["short", "x y"], padding="longest", truncation="only_first", max_length=8),
    dict(name="pairs_only_second", texts=["short", "q"],
         pairs=["one two three four five six seven eight nine", "p q r s t u v w"], padding="max_length",
         truncation="only_second", max_length=9),
    dict(name="pairs_no_truncation", texts=["a", "b c d"], pairs=["e f", "g"], padding="longest",
         truncation=False, max_length=None),
    dict(name="hostile_batch", texts=["[MASK] İstanbul 😀", "\u3000\u200b", "ﬁnance ΟΔΟΣ", "x" * 150 + " ok"],
         padding="longest", truncation="longest_first", max_length=7),
    dict(name="exact_fit", texts=["a b c"], pairs=["d e"], padding="max_length", truncation="longest_first",
         max_length=8),
]


def batch_case(slow, case):
    kw = dict(padding=case["padding"], truncation=case["truncation"])
    if case["max_length"] is not None:
        kw["max_length"] = case["max_length"]
    if "pairs" in case:
        enc = slow(case["texts"], case["pairs"], **kw)
    else:
        enc = slow(case["texts"], **kw)
    out = dict(case)
    out["ids"] = enc["input_ids"]
    out["type_ids"] = enc["token_type_ids"]
    out["mask"] = enc["attention_mask"]
    return out


def decode_cases(slow, records):
    out = []
    n = len(slow)
    extra = [[0, 1, 2, 3], [101, 7592, 1010, 2088, 999, 102], [n - 1, n, n + 5], [1037, 1005, 1038, 2064, 1005,
                                                                                     1056, 1012]]
    id_lists = [r["ids"] for r in records[::14]] + extra
    for ids in id_lists:
        for skip in (False, True):
            for clean in (True, False):
                out.append({"ids": ids, "skip_special_tokens": skip, "clean_up_tokenization_spaces": clean,
                            "text": slow.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean)})
    return out


METHOD_CONFIGS = ("uncased", "tiny")


def method_cases(name, slow, corpus, records):
    """HF's build_inputs_with_special_tokens, get_special_tokens_mask and create_token_type_ids_from_sequences on
    the ids of every 40th corpus entry (pairs included) and on edge cases: empty lists, ids with special tokens
    already in them, ids past the vocabulary."""
    n = len(slow)
    by_index = {r["i"]: r for r in records}
    inputs = []
    for entry in corpus[::40]:
        ids0 = slow.encode(entry["text"], add_special_tokens=False)
        ids1 = slow.encode(entry["pair"], add_special_tokens=False) if "pair" in entry else None
        inputs.append((ids0, ids1))
        if entry["i"] in by_index:
            inputs.append((by_index[entry["i"]]["ids"], None))  # already formatted: [CLS] ... [SEP]
    special = sorted(set(slow.all_special_ids))
    inputs += [([], None), ([], []), (special, None), (special, special), ([0, 1, 2, n - 1, n, n + 5], [n + 1]),
               (list(range(20)), list(range(5)))]
    rows = []
    for ids0, ids1 in inputs:
        row = {"config": name, "ids0": ids0, "ids1": ids1,
               "build_inputs_with_special_tokens": slow.build_inputs_with_special_tokens(ids0, ids1),
               "get_special_tokens_mask": slow.get_special_tokens_mask(ids0, ids1),
               "get_special_tokens_mask_already": slow.get_special_tokens_mask(ids0, already_has_special_tokens=True),
               "create_token_type_ids_from_sequences": slow.create_token_type_ids_from_sequences(ids0, ids1)}
        if ids1 is not None:
            try:
                slow.get_special_tokens_mask(ids0, ids1, already_has_special_tokens=True)
                sys.exit(f"{name}: get_special_tokens_mask(ids0, ids1, already_has_special_tokens=True) no longer "
                         "raises; the Java tokenizer refuses it as HF did")
            except ValueError:
                pass
        rows.append(row)
    return rows


# The config the "from_pretrained" case reads: fields LxmertTokenizer does not use (HF writes them back), the
# values HF reads and re-emits as written (1e30 as a float, empty lists), keys whose code point order differs from
# UTF-16 order, and the private fields save_pretrained drops.
SAVE_INPUT_CONFIG = {
    "do_lower_case": True, "model_max_length": 1e30, "never_split": [], "additional_special_tokens": [],
    "foo": {"b": [1, 2.5, "x", 1e-07, -0.0], "a": None, "\uff61": 1, "\U0001f600": 2},
    "use_fast": True, "tokenizer_class": "BertTokenizer", "name_or_path": "unc-nlp/lxmert-base-uncased",
    "special_tokens_map_file": "special_tokens_map.json",
}
# name -> (vocab file, LxmertTokenizer kwargs) or "from_pretrained" (save-input/ read back).
SAVE_CASES = {
    "uncased": (REAL_VOCAB, dict(model_max_length=512)),
    "tiny_defaults": (TINY_VOCAB, dict()),
    # a special token that is a vocabulary word, additional ones (one non-ASCII, with a control char) past it
    "tiny_everything": (TINY_VOCAB, dict(do_lower_case=False, strip_accents=True, tokenize_chinese_chars=False,
                                         never_split=["[X]", "ab"], mask_token="want", model_max_length=7,
                                         additional_special_tokens=["<e>", "<\u00e9\x1b\U0001f600>"],
                                         clean_up_tokenization_spaces=False)),
    "tiny_no_basic": (TINY_VOCAB, dict(do_basic_tokenize=False, strip_accents=False)),
    "from_pretrained": "from_pretrained",
}


def saved_files(directory, source_vocab):
    files = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.endswith("vocab.txt"):
            with open(path, "rb") as f, open(source_vocab, "rb") as g:
                data = f.read()
                assert data == g.read(), f"{name}: save_vocabulary changed the vocabulary"
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        else:
            with open(path, encoding="utf-8") as f:
                files[name] = f.read()
    return files


def save_cases(out):
    save_input = os.path.join(out, "save-input")
    os.makedirs(save_input, exist_ok=True)
    shutil.copyfile(os.path.join(out, TINY_VOCAB), os.path.join(save_input, "vocab.txt"))
    with open(os.path.join(save_input, "tokenizer_config.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(SAVE_INPUT_CONFIG, f, indent=2, ensure_ascii=False)
        f.write("\n")
    cases = {}
    for name, how in SAVE_CASES.items():
        if how == "from_pretrained":
            slow = LxmertTokenizer.from_pretrained(save_input)
            vocab, kwargs = "save-input/vocab.txt", None
        else:
            vocab, kwargs = how
            slow = LxmertTokenizer(os.path.join(out, vocab), **kwargs)
        source_vocab = os.path.join(out, vocab)
        with tempfile.TemporaryDirectory() as tmp:
            returned = slow.save_pretrained(os.path.join(tmp, "saved"))
            written = [os.path.basename(p) for p in returned if os.path.exists(p)]
            files = saved_files(os.path.join(tmp, "saved"), source_vocab)
            os.makedirs(os.path.join(tmp, "vocab"))
            (vocab_file,) = slow.save_vocabulary(os.path.join(tmp, "vocab"), filename_prefix="pre")
            prefixed = {os.path.basename(vocab_file): saved_files(os.path.join(tmp, "vocab"), source_vocab)[
                os.path.basename(vocab_file)]}
        cases[name] = {"vocab": vocab, "kwargs": kwargs, "written": written, "files": files,
                       "save_vocabulary_prefix": "pre", "save_vocabulary": prefixed}
    return cases


def write_jsonl_gz(path, rows):
    # mtime=0 and a fixed filename keep the gzip bytes deterministic.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            for row in rows:
                gz.write((json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def cps(s):
    return " ".join("U+%04X" % ord(c) for c in s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--count", type=int, default=5200)
    ap.add_argument("--vocab", default=os.path.join(DEFAULT_OUT, REAL_VOCAB),
                    help="the BERT uncased vocab.txt (default: the committed copy, see SOURCE.md)")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    if not os.path.isfile(args.vocab):
        sys.exit(f"{args.vocab}: missing; it is committed in parity-tests/fixtures/tokenizer (see SOURCE.md)")
    if sha256(args.vocab) != REAL_VOCAB_SHA256:
        sys.exit(f"{args.vocab}: sha256 {sha256(args.vocab)}, expected {REAL_VOCAB_SHA256} (see SOURCE.md)")
    real = os.path.join(out, REAL_VOCAB)
    if os.path.abspath(real) != os.path.abspath(args.vocab):
        shutil.copyfile(args.vocab, real)  # so that the output directory is self-contained
    with open(os.path.join(out, TINY_VOCAB), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(TINY_TOKENS) + "\n")

    corpus = build_corpus(args.seed, args.count)
    write_jsonl_gz(os.path.join(out, "corpus.jsonl.gz"), corpus)
    manifest = {
        "format": FORMAT,
        "generator": "parity-tests/python/export_tokenizer_reference.py",
        "seed": args.seed,
        "corpus_size": len(corpus),
        "pairs_in_corpus": sum(1 for e in corpus if "pair" in e),
        "versions": {"python": platform.python_version(), "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "unicodedata": unicodedata.unidata_version},
        "vocabularies": {REAL_VOCAB: sha256(real), TINY_VOCAB: sha256(os.path.join(out, TINY_VOCAB))},
        "configs": {},
    }
    summary = ["# Slow vs fast tokenizer disagreements", "",
               f"Generated by `parity-tests/python/export_tokenizer_reference.py` (transformers "
               f"{transformers.__version__}, tokenizers {tokenizers.__version__}, Python "
               f"{platform.python_version()}, Unicode {unicodedata.unidata_version}). The Java tokenizer follows the "
               "slow `LxmertTokenizer`; a disagreement means the fast (Rust) tokenizer gives other ids, type ids or "
               "mask for the same input.", ""]
    for name, (vocab, kwargs, subset) in CONFIGS.items():
        slow, fast = load_pair(out, vocab, kwargs)
        entries = corpus if subset == "all" else corpus[::subset]
        records, disagreements = [], []
        for entry in entries:
            rec, agree = encode_case(slow, fast, entry)
            records.append(rec)
            if not agree:
                disagreements.append((entry, rec))
        write_jsonl_gz(os.path.join(out, f"cases-{name}.jsonl.gz"), records)
        batches = [batch_case(slow, c) for c in BATCH_CASES]
        write_jsonl_gz(os.path.join(out, f"batch-{name}.jsonl.gz"), batches)
        decodes = decode_cases(slow, records)
        write_jsonl_gz(os.path.join(out, f"decode-{name}.jsonl.gz"), decodes)
        options = dict(do_lower_case=slow.do_lower_case, strip_accents=slow.basic_tokenizer.strip_accents,
                       tokenize_chinese_chars=slow.basic_tokenizer.tokenize_chinese_chars,
                       model_max_length=slow.model_max_length if slow.model_max_length < 10 ** 20 else None)
        manifest["configs"][name] = {"vocab": vocab, "options": options, "cases": len(records),
                                     "batch_cases": len(batches), "decode_cases": len(decodes),
                                     "slow_fast_disagreements": len(disagreements)}
        summary += [f"## {name}: {len(disagreements)} of {len(records)} strings", "",
                    f"vocab `{vocab}`, options `{json.dumps(options)}`", ""]
        for entry, rec in disagreements[:12]:
            text = entry["text"] + ((" ||| " + entry["pair"]) if "pair" in entry else "")
            shown = text if len(text) <= 80 else text[:80] + "…"
            summary += [f"- `{json.dumps(shown, ensure_ascii=True)}` ({cps(text[:12])}{' …' if len(text) > 12 else ''})",
                        f"  - slow: `{' '.join(slow.convert_ids_to_tokens(rec['ids']))[:200]}`",
                        f"  - fast: `{' '.join(rec['fast']['tokens'])[:200]}`"]
        if len(disagreements) > 12:
            summary.append(f"- … and {len(disagreements) - 12} more (every one is in cases-{name}.jsonl.gz under "
                           "\"fast\")")
        summary.append("")
        print(f"{name}: {len(records)} cases, {len(disagreements)} slow/fast disagreements", file=sys.stderr)
    methods = []
    for name in METHOD_CONFIGS:
        vocab, kwargs, subset = CONFIGS[name]
        slow = LxmertTokenizer(os.path.join(out, vocab), **kwargs)
        entries = corpus if subset == "all" else corpus[::subset]
        records = [r for r in read_jsonl_gz(os.path.join(out, f"cases-{name}.jsonl.gz"))]
        methods += method_cases(name, slow, entries, records)
    write_jsonl_gz(os.path.join(out, "methods.jsonl.gz"), methods)
    manifest["method_cases"] = {name: sum(1 for m in methods if m["config"] == name) for name in METHOD_CONFIGS}
    saves = save_cases(out)
    with open(os.path.join(out, "save_pretrained.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(saves, f, indent=2, ensure_ascii=False)
        f.write("\n")
    manifest["save_cases"] = sorted(saves)
    print(f"methods: {len(methods)} cases; save_pretrained: {len(saves)} cases", file=sys.stderr)
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out, "DISAGREEMENTS.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(summary))


if __name__ == "__main__":
    main()
