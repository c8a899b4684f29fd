"""Writes the small SavedModels that savedmodel-loader's safety tests load (no Python at test time).

Each model is a tf.Module with one variable (so the export carries TF2's own saver functions, whose SaveV2 /
RestoreV2 / MergeV2Checkpoints must NOT be refused) and one signature, `serving_default`, taking a string
scalar `path` and returning `out`. The unsafe op sits in a different place in each model:

  read_file_in_function  ReadFile in the signature's own function (graph -> wrapper -> serve -> ReadFile)
  read_file_nested       ReadFile two tf.function calls deeper (serve -> middle -> inner -> ReadFile)
  write_file_in_cond     WriteFile in a tf.cond branch (If/StatelessIf then_branch attr -> branch function)
  restore_in_serving     RestoreV2 on the serving path (a checkpoint op outside the saver subgraph)
  safe                   no unsafe op: string length of the path plus the variable

Usage (from the repository root, with the pinned reference environment):
  /work/venv-ref/bin/python savedmodel-loader/src/test/python/make_unsafe_models.py \
      savedmodel-loader/src/test/resources/unsafe
Writes <name>.zip (entries "<name>/saved_model.pb", "<name>/variables/...") for each model.
"""
import os
import shutil
import sys
import tempfile

import tensorflow as tf


class Base(tf.Module):
    def __init__(self):
        super().__init__()
        self.v = tf.Variable(1.0, name="v")


@tf.function
def inner(p):
    return tf.io.read_file(p)


@tf.function
def middle(p):
    return inner(p)


def make(name):
    m = Base()
    spec = [tf.TensorSpec([], tf.string, name="path")]
    if name == "read_file_in_function":
        @tf.function(input_signature=spec)
        def serve(path):
            return {"out": tf.strings.length(tf.io.read_file(path)) + tf.cast(m.v, tf.int32)}
    elif name == "read_file_nested":
        @tf.function(input_signature=spec)
        def serve(path):
            return {"out": tf.strings.length(middle(path)) + tf.cast(m.v, tf.int32)}
    elif name == "write_file_in_cond":
        @tf.function(input_signature=spec)
        def serve(path):
            def write():
                tf.io.write_file(path, "x")
                return tf.constant(1)
            r = tf.cond(tf.strings.length(path) > 3, write, lambda: tf.constant(0))
            return {"out": r + tf.cast(m.v, tf.int32)}
    elif name == "restore_in_serving":
        @tf.function(input_signature=spec)
        def serve(path):
            (t,) = tf.raw_ops.RestoreV2(prefix=path, tensor_names=["v"], shape_and_slices=[""], dtypes=[tf.float32])
            return {"out": tf.cast(t + m.v, tf.int32)}
    elif name == "safe":
        @tf.function(input_signature=spec)
        def serve(path):
            return {"out": tf.strings.length(path) + tf.cast(m.v, tf.int32)}
    else:
        raise ValueError(name)
    m.serve = serve
    return m, serve


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name in ["read_file_in_function", "read_file_nested", "write_file_in_cond", "restore_in_serving", "safe"]:
        m, serve = make(name)
        tmp = tempfile.mkdtemp()
        d = os.path.join(tmp, name)
        tf.saved_model.save(m, d, signatures={"serving_default": serve.get_concrete_function()})
        # keep only what the loader needs; fingerprint.pb and empty assets/ are optional
        for extra in ("fingerprint.pb",):
            p = os.path.join(d, extra)
            if os.path.exists(p):
                os.remove(p)
        shutil.make_archive(os.path.join(out_dir, name), "zip", root_dir=tmp, base_dir=name)
        shutil.rmtree(tmp)
        print(name, os.path.getsize(os.path.join(out_dir, name + ".zip")), "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "savedmodel-loader/src/test/resources/unsafe")
