#!/usr/bin/env python3
"""Adds a training reference to a reference directory written by export_reference.py: labels for one case,
every pretraining loss term of TFLxmertForPreTraining computed separately (the way HF computes them inside
call, which only returns the total), HF's own total; with --gradients the gradient of HF's total with respect
to every trainable variable (tf.GradientTape, training=False); and with --step (implies --gradients) one
optimizer step (plain Adam, no weight decay, no clipping, dropout off) from those gradients, with the loss before
and after the step and every updated weight.

Usage: export_training_reference.py --ref DIR [--case b3_padded] [--seed 0] [--gradients] [--step]
Writes DIR/training/ (manifest.json, labels/*.npy, with --gradients gradients.safetensors, with --step
updated.safetensors). Read by io.github.tflxmert.parity.LossParityTest and TrainingStepParityTest.
"""
import argparse
import json
import os
import platform
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
import transformers  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from transformers import TFLxmertForPreTraining  # noqa: E402

ADAM = dict(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-6)


def stripped(name):
    name = name[:-2] if name.endswith(":0") else name
    return name.split("/", 1)[1]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_labels(cfg, inputs, rng):
    b, s = inputs["input_ids"].shape
    n = inputs["visual_feats"].shape[1]
    # Every position gets a real label: HF's TF loss has no -100 masking (a -100 label fails on CPU).
    labels = {
        "masked_lm_labels": rng.integers(0, cfg["vocab_size"], size=(b, s)).astype(np.int32),
        "matched_label": rng.integers(0, 2, size=(b,)).astype(np.int32),
        "ans": rng.integers(0, cfg["num_qa_labels"], size=(b,)).astype(np.int32),
        "obj_labels.obj": rng.integers(0, cfg["num_object_labels"], size=(b, n)).astype(np.int32),
        "obj_labels.obj_conf": rng.random((b, n)).astype(np.float32),
        "obj_labels.attr": rng.integers(0, cfg["num_attr_labels"], size=(b, n)).astype(np.int32),
        "obj_labels.attr_conf": rng.random((b, n)).astype(np.float32),
        "obj_labels.feat": rng.random((b, n, cfg["visual_feat_dim"])).astype(np.float32),
        "obj_labels.feat_conf": (rng.random((b, n)) > 0.3).astype(np.float32),
    }
    return labels


def loss_terms(model, cfg, inputs, labels, training=False):
    """Every loss term as HF's TFLxmertForPreTraining.call computes it, plus HF's own total."""
    out = model(**inputs, training=training, return_dict=True)
    lx = model.lxmert(**inputs, training=training, return_dict=True)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    huber = keras.losses.Huber(delta=1.0)
    w = cfg["visual_loss_normalizer"]
    terms = {}
    terms["masked_lm"] = ce(tf.reshape(labels["masked_lm_labels"], [-1]),
                            tf.reshape(out["prediction_logits"], [-1, cfg["vocab_size"]]))
    terms["matched"] = ce(tf.reshape(labels["matched_label"], [-1]),
                          tf.reshape(out["cross_relationship_score"], [-1, 2]))
    heads = model.obj_predict_head(lx.vision_output)
    for key, fct, num, shape in (("obj", ce, cfg["num_object_labels"], (-1,)),
                                 ("attr", ce, cfg["num_attr_labels"], (-1,)),
                                 ("feat", huber, cfg["visual_feat_dim"], (-1, cfg["visual_feat_dim"]))):
        l = fct(tf.reshape(labels[f"obj_labels.{key}"], shape), tf.reshape(heads[key], [-1, num]))
        conf = tf.reshape(labels[f"obj_labels.{key}_conf"], [-1])
        terms[f"visual_{key}"] = tf.reduce_mean(l * conf) * w
    terms["qa"] = ce(tf.reshape(labels["ans"], [-1]), tf.reshape(out["question_answering_score"],
                                                                  [-1, cfg["num_qa_labels"]]))
    return terms


def hf_total(model, inputs, labels, training=False):
    obj = {k: (labels[f"obj_labels.{k}"], labels[f"obj_labels.{k}_conf"]) for k in ("obj", "attr", "feat")}
    out = model(**inputs, masked_lm_labels=labels["masked_lm_labels"], matched_label=labels["matched_label"],
                obj_labels=obj, ans=labels["ans"], training=training, return_dict=True)
    return out["loss"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--case", default="b3_padded")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gradients", action="store_true",
                    help="also record the gradient of HF's total loss for every trainable variable")
    ap.add_argument("--step", action="store_true", help="also record one Adam step (implies --gradients)")
    args = ap.parse_args()

    ref = os.path.abspath(args.ref)
    with open(os.path.join(ref, "manifest.json")) as f:
        manifest = json.load(f)
    cfg = manifest["config"]
    case = next(c for c in manifest["cases"] if c["name"] == args.case)
    inputs = {k: np.load(os.path.join(ref, e["file"])) for k, e in case["inputs"].items()}
    tf.random.set_seed(args.seed)
    model = TFLxmertForPreTraining.from_pretrained(os.path.join(ref, "model"), use_safetensors=False)

    out = os.path.join(ref, "training")
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "labels"))
    labels = make_labels(cfg, inputs, np.random.default_rng(1000 + args.seed))
    label_files = {}
    for k, arr in labels.items():
        rel = f"labels/{k}.npy"
        np.save(os.path.join(out, rel), arr, allow_pickle=False)
        label_files[k] = {"file": rel, "shape": list(arr.shape), "dtype": str(arr.dtype)}

    terms = {k: float(v.numpy()) for k, v in loss_terms(model, cfg, inputs, labels).items()}
    total = float(hf_total(model, inputs, labels).numpy())
    summed = float(np.sum(np.array(list(terms.values()), np.float32)))
    if abs(summed - total) > 1e-5:
        raise SystemExit(f"loss terms sum to {summed} but HF's total is {total}")
    entry = {
        "case": args.case,
        "labels": label_files,
        "loss_terms": terms,
        "hf_total_loss": total,
        "terms_sum_minus_hf_total": summed - total,
        "notes": "Terms computed with the same Keras losses as TFLxmertForPreTraining.call, training=False; "
                 "visual terms are mean(keras_loss * mask_conf) * visual_loss_normalizer; no -100 masking.",
    }

    entry["versions"] = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
    }
    entry["cpu"] = cpu_model()

    if args.step or args.gradients:
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            loss = hf_total(model, inputs, labels, training=False)
        grads = tape.gradient(loss, variables)
        missing = [stripped(v.name) for v, g in zip(variables, grads) if g is None]
        # The tied word embeddings get an IndexedSlices part (the embedding lookup): made dense, as the optimizer
        # applies it.
        dense = {stripped(v.name): np.ascontiguousarray(tf.convert_to_tensor(g).numpy())
                 for v, g in zip(variables, grads) if g is not None}
        save_file(dense, os.path.join(out, "gradients.safetensors"), metadata={"format": "tf"})
        entry["gradients"] = {
            "file": "gradients.safetensors",
            "of": "hf_total_loss (TFLxmertForPreTraining.call with every label, training=False)",
            "loss": float(loss.numpy()),
            "num_variables": len(variables),
            "variables_without_gradient": missing,
        }

    if args.step:
        opt = keras.optimizers.Adam(**ADAM)
        opt.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        updated = {stripped(v.name): np.ascontiguousarray(v.numpy()) for v in variables}
        save_file(updated, os.path.join(out, "updated.safetensors"), metadata={"format": "tf"})
        after = float(hf_total(model, inputs, labels).numpy())
        entry["step"] = {
            "optimizer": "tf_keras.optimizers.Adam (plain Adam: no weight decay, no clipping, one step, "
                         "dropout off via training=False)",
            "hyper_parameters": ADAM,
            "loss_before": float(loss.numpy()),
            "loss_after": after,
            "variables_without_gradient": missing,
            "updated_weights": "updated.safetensors",
            "num_variables": len(variables),
        }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(entry, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: terms {terms}, total {total}" + (", gradients" if "gradients" in entry else "") + (f", step {entry['step']['loss_before']} -> "
                                                          f"{entry['step']['loss_after']}" if args.step else ""))


if __name__ == "__main__":
    main()
