#!/usr/bin/env python3
"""Single-threaded throughput of Hugging Face's fast (Rust) BERT/LXMERT tokenizer on the benchmark corpus, to
compare with io.github.tflxmert.tokenizer.TokenizerBenchmark (driven together by scripts/bench-tokenizer.sh).

  bench_tokenizer.py --write-corpus FILE   write the corpus (gzip'd JSON lines, {"text": ...}) and exit
  bench_tokenizer.py --corpus FILE         time LxmertTokenizerFast on it; prints one "RESULT" line

The corpus is the committed hostile parity corpus repeated, plus deterministic ordinary English (a fixed set of
sentences shuffled into 40-120-word paragraphs), so both sides tokenize exactly the same strings.
"""
import argparse
import gzip
import json
import os
import random
import statistics
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "tokenizer")

SENTENCES = """A man in a blue jacket is walking his dog along the river on a cold morning.
Two children are playing with a red ball in the park while their parents sit on a wooden bench.
What color is the umbrella that the woman near the bus stop is holding?
The kitchen has white cabinets, a stainless steel refrigerator and a small window above the sink.
How many people are standing next to the train, and are any of them carrying luggage?
Visual question answering requires a model to reason jointly about the image and the question.
The cross-modality encoder lets language tokens attend to object regions and vice versa.
Is there a clock on the wall behind the desk, or is it a painting?
A group of cyclists rides past the old stone church at the end of the village street.
She didn't expect the museum to be closed on a Tuesday afternoon in late September.
The pizza on the table has been cut into eight slices, but only three of them are left.
After the storm, the fishermen repaired their nets and counted the boats in the harbour.
It's unclear whether the giraffe is eating leaves from the tree or simply looking at the camera.
The quarterly report showed revenue of $4.2 million, up 12% from the same period last year.
Please describe the objects on the left side of the picture in as much detail as possible.""".split("\n")


def english(rng, paragraphs):
    out = []
    for _ in range(paragraphs):
        words = []
        target = rng.randrange(40, 121)
        while len(words) < target:
            words.extend(rng.choice(SENTENCES).split())
        out.append(" ".join(words[:target]))
    return out


def build_corpus():
    with gzip.open(os.path.join(FIXTURES, "corpus.jsonl.gz"), "rt", encoding="utf-8") as f:
        hostile = []
        for line in f:
            e = json.loads(line)
            hostile.append(e["text"])
            if "pair" in e:
                hostile.append(e["pair"])
    return hostile * 2 + english(random.Random(11), 4000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-corpus")
    ap.add_argument("--corpus")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    if args.write_corpus:
        texts = build_corpus()
        with gzip.open(args.write_corpus, "wt", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        print(f"wrote {len(texts)} strings to {args.write_corpus}", file=sys.stderr)
        return
    import tokenizers
    from transformers import LxmertTokenizerFast
    with gzip.open(args.corpus, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    fast = LxmertTokenizerFast(vocab_file=os.path.join(FIXTURES, "bert-base-uncased-vocab.txt"))
    backend = fast.backend_tokenizer
    # encode_batch on the Rust tokenizer (ids, type ids, mask, tokens and offsets, [CLS]/[SEP] added), no Python
    # per-token work; RAYON_NUM_THREADS=1 keeps it on one thread.
    tokens = sum(len(e.ids) - 2 for e in backend.encode_batch(texts))
    for _ in range(args.warmup):
        backend.encode_batch(texts)
    times = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        backend.encode_batch(texts)
        times.append(time.perf_counter() - t0)
    rates = sorted(tokens / t for t in times)
    print(f"RESULT rust tokenizers={tokenizers.__version__} strings={len(texts)} tokens={tokens} "
          f"median_tokens_per_s={statistics.median(rates):.0f} min={rates[0]:.0f} max={rates[-1]:.0f} "
          f"rounds={args.rounds}")


if __name__ == "__main__":
    main()
