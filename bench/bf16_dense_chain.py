#!/usr/bin/env python3
"""What bfloat16 matmuls reach on this machine, without LXMERT around them.

A chain of L encoder-shaped layers (four [768,768] and a [768,3072] + [3072,768] Dense per layer, exact GELU,
float32 residual + LayerNorm), M rows, 2 intra/inter-op threads, in one of three forms:
  fed32   float32 kernels passed as function arguments (as Python's variables are read)
  fed16   bfloat16 kernels passed as arguments, MatMul + BiasAdd (oneDNN packs them on every call)
  const16 bfloat16 kernels as Const nodes inside the function (oneDNN packs them once and keeps them)
Prints p50 / min ms and the achieved GFLOP/s. Run with the pinned venv:
  ~/.cache/tf-lxmert/venv/bin/python bench/bf16_dense_chain.py const16 1024 12
"""
import sys
import time

import numpy as np
import tensorflow as tf


def main():
    mode = sys.argv[1]
    rows = int(sys.argv[2])
    layers = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    iters = int(sys.argv[4]) if len(sys.argv) > 4 else 15
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    if mode == "fed16":
        tf.config.optimizer.set_experimental_options({"remapping": False})
    dtype = tf.float32 if mode == "fed32" else tf.bfloat16
    rng = np.random.default_rng(0)
    shapes = [(768, 768)] * 4 + [(768, 3072), (3072, 768)]
    weights = [[(tf.cast(rng.standard_normal(s, dtype=np.float32) * 0.02, dtype).numpy(),
                 tf.cast(rng.standard_normal(s[1], dtype=np.float32) * 0.02, dtype).numpy())
                for s in shapes] for _ in range(layers)]

    def layer_norm(x):
        mean, var = tf.nn.moments(x, [-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + 1e-12)

    def body(x, kernel):
        h = x
        for l in range(layers):
            a = tf.cast(h, dtype)
            attn = None
            for i in range(4):
                k, b = kernel(l, i)
                y = tf.nn.bias_add(tf.matmul(a, k), b)
                attn = y if attn is None else attn + y
            h = layer_norm(h + tf.cast(attn, tf.float32))
            k, b = kernel(l, 4)
            f = tf.nn.gelu(tf.nn.bias_add(tf.matmul(tf.cast(h, dtype), k), b), approximate=False)
            k, b = kernel(l, 5)
            h = layer_norm(h + tf.cast(tf.nn.bias_add(tf.matmul(f, k), b), tf.float32))
        return h

    x = tf.constant(rng.standard_normal((rows, 768), dtype=np.float32))
    if mode == "const16":
        fn = tf.function(lambda x: body(x, lambda l, i: (tf.constant(weights[l][i][0]),
                                                          tf.constant(weights[l][i][1]))))
        args = [x]
    else:
        flat = [tf.constant(t) for layer in weights for kb in layer for t in kb]
        fn = tf.function(lambda x, *w: body(x, lambda l, i: (w[(l * 6 + i) * 2], w[(l * 6 + i) * 2 + 1])))
        args = [x] + flat
    for _ in range(4):
        fn(*args).numpy()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn(*args).numpy()
        times.append(time.perf_counter() - t0)
    p50 = float(np.median(times))
    flop = 2.0 * rows * layers * sum(a * b for a, b in shapes)
    print(f"{mode} rows={rows} layers={layers}: p50 {p50 * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms, "
          f"{flop / p50 / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
