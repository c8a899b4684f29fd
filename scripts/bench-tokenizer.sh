#!/usr/bin/env bash
# Tokenizer throughput, Java (io.github.tflxmert.tokenizer.LxmertTokenizer) vs Hugging Face's fast Rust tokenizer,
# both single-threaded, on the same corpus (the hostile parity corpus twice + 4,000 English paragraphs).
# Usage: scripts/bench-tokenizer.sh   (PYTHON=... to pick the reference venv; default parity-tests/python/.venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
py="${PYTHON:-$root/parity-tests/python/.venv/bin/python}"
corpus="$(mktemp --suffix=.jsonl.gz)"
trap 'rm -f "$corpus"' EXIT
# TokenizerBenchmark is in lxmert-tokenizer's test sources (no main in the library jar); its class path is the
# module's classes, its test classes and its dependencies (lxmert-arrays from the reactor, Jackson).
mvn -q -B -ntp -pl lxmert-tokenizer -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
"$py" parity-tests/python/bench_tokenizer.py --write-corpus "$corpus"
vocab=parity-tests/fixtures/tokenizer/bert-base-uncased-vocab.txt
cp="lxmert-tokenizer/target/test-classes:lxmert-tokenizer/target/classes:$(cat lxmert-tokenizer/target/bench.classpath)"
java_line="$(java -XX:ActiveProcessorCount=1 -Xmx1g -cp "$cp" \
  io.github.tflxmert.tokenizer.TokenizerBenchmark "$vocab" "$corpus" 5 7 | grep '^RESULT')"
rust_line="$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$py" parity-tests/python/bench_tokenizer.py \
  --corpus "$corpus" --warmup 2 --rounds 7 | grep '^RESULT')"
echo "$java_line"
echo "$rust_line"
j="$(sed -E 's/.*median_tokens_per_s=([0-9]+).*/\1/' <<<"$java_line")"
r="$(sed -E 's/.*median_tokens_per_s=([0-9]+).*/\1/' <<<"$rust_line")"
awk -v j="$j" -v r="$r" 'BEGIN { printf "java/rust throughput ratio (median tokens/s): %.2f\n", j / r }'
