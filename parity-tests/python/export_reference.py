#!/usr/bin/env python3
"""Writes a tf-lxmert reference directory: a random-initialised TFLxmertForPreTraining saved every way
Hugging Face saves it, plus every output of the Python model on a fixed list of input cases.

Usage:
  export_reference.py --preset tiny --out DIR            # the HF test's tiny config
  export_reference.py --preset wide --out DIR            # a second, differently shaped config
  export_reference.py --config cfg.json --cases cases.json --seed 7 --out DIR
  export_reference.py --set hidden_size=64 --set num_attention_heads=4 ... --out DIR

The format of DIR is documented in the README ("Reference directory format") and read by
io.github.tflxmert.reference.ReferenceDirectory on the Java side.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
import transformers  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402
from transformers import LxmertConfig, TFLxmertForPreTraining  # noqa: E402
from transformers.modeling_tf_pytorch_utils import (  # noqa: E402
    convert_tf_weight_name_to_pt_weight_name, load_pytorch_state_dict_in_tf2_model)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tolerance  # noqa: E402

FORMAT = "tf-lxmert-reference/2"

PRESETS = {
    # TFLxmertModelTester in tests/models/lxmert/test_modeling_tf_lxmert.py
    "tiny": dict(
        vocab_size=300, hidden_size=28, num_attention_heads=2, intermediate_size=64, hidden_act="gelu",
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
        type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
        num_qa_labels=30, num_object_labels=16, num_attr_labels=4, l_layers=2, x_layers=1, r_layers=1,
        visual_feat_dim=128, visual_pos_dim=4, visual_loss_normalizer=6.67,
    ),
    # Every dimension different from tiny, so no code can be tuned to one shape; a LayerNorm eps large enough
    # (1e-3) that a port ignoring the config's eps fails parity (at 1e-6 the difference drowns in float32 noise).
    "wide": dict(
        vocab_size=211, hidden_size=32, num_attention_heads=4, intermediate_size=48, hidden_act="gelu",
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=128,
        type_vocab_size=3, initializer_range=0.02, layer_norm_eps=1e-3, pad_token_id=0,
        num_qa_labels=13, num_object_labels=11, num_attr_labels=7, l_layers=3, x_layers=2, r_layers=2,
        visual_feat_dim=72, visual_pos_dim=4, visual_loss_normalizer=6.67,
    ),
    # LXMERT-base widths (unc-nlp/lxmert-base-uncased: 768 hidden, 12 heads, vocab 30522, 2048 features, 9500
    # answers) with one layer of each kind: real shapes held against Python in CI's live step.
    "base-widths": dict(
        vocab_size=30522, hidden_size=768, num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
        type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
        num_qa_labels=9500, num_object_labels=1600, num_attr_labels=400, l_layers=1, x_layers=1, r_layers=1,
        visual_feat_dim=2048, visual_pos_dim=4, visual_loss_normalizer=6.67,
    ),
}

# Each case: batch, text length, regions, and which masks/token types it exercises.
DEFAULT_CASES = [
    dict(name="b1_equal", batch=1, text=10, regions=10, pad_text=False, visual_mask=False, token_types=False,
         description="batch 1, text length = region count, no padding, no visual mask"),
    dict(name="b3_padded", batch=3, text=14, regions=9, pad_text=True, visual_mask=False, token_types=True,
         description="batch 3, padded text (zeros in attention_mask), text length != region count, token types"),
    dict(name="b2_visual_mask", batch=2, text=12, regions=7, pad_text=True, visual_mask=True, token_types=True,
         description="visual_attention_mask with zeros and N != S (eager HF fails here; reference is traced)"),
    dict(name="b1_long", batch=1, text=70, regions=36, pad_text=False, visual_mask=False, token_types=True,
         description="long text (70 tokens) with 36 regions"),
]

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("a the cat dog man woman red blue green small large cube sphere cylinder left right is are there "
         "what color shape how many on of in with near table chair person sitting standing holding white "
         "black yellow metal rubber big tiny front behind next to and or not yes no one two three four five "
         "car tree sky grass water street sign building window door light pole shirt hat hand head food "
         "plate cup bowl ball bat glove player field snow ski board train bus bike horse cow sheep bird "
         "kite umbrella bag phone laptop screen clock wall floor room bed pillow book vase flower plant").split()


def make_vocab(size):
    """A deterministic WordPiece vocabulary of exactly `size` entries (specials first, like BERT)."""
    vocab = list(SPECIAL)
    for w in WORDS:
        if len(vocab) >= size:
            break
        if w not in vocab:
            vocab.append(w)
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789.,?!'-":
        if len(vocab) >= size:
            break
        if ch not in vocab:  # each token once: ids must be unique
            vocab.append(ch)
    for ch in "abcdefghijklmnopqrstuvwxyz":
        if len(vocab) >= size:
            break
        vocab.append("##" + ch)
    i = 0
    while len(vocab) < size:
        vocab.append(f"[unused{i}]")
        i += 1
    return vocab


def stripped(name):
    """Variable name without the model-name component and without ':0' (the Java graph's names)."""
    name = name[:-2] if name.endswith(":0") else name
    return name.split("/", 1)[1]


def randomise(model, seed):
    """Overwrites every weight with seeded values. Keras' own init leaves biases at 0 and LayerNorm
    gammas at 1, which would hide a swapped bias/gamma; these values do not."""
    rng = np.random.default_rng(seed)
    for v in sorted(model.weights, key=lambda w: w.name):
        leaf = stripped(v.name).rsplit("/", 1)[1]
        shape = tuple(v.shape)
        if leaf == "gamma":
            val = 1.0 + 0.1 * rng.standard_normal(shape)
        elif leaf in ("beta", "bias"):
            val = 0.1 * rng.standard_normal(shape)
        elif leaf in ("weight", "embeddings"):
            val = 0.5 * rng.standard_normal(shape)
        else:  # Dense kernels [in, out]: keep activations O(1)
            val = rng.standard_normal(shape) / np.sqrt(shape[0])
        v.assign(val.astype(np.float32))


def make_inputs(case, cfg, rng):
    b, s, n = case["batch"], case["text"], case["regions"]
    v = cfg["vocab_size"]
    ids = rng.integers(5, v, size=(b, s), dtype=np.int64).astype(np.int32)
    ids[:, 0] = 2  # [CLS]
    ids[:, -1] = 3  # [SEP]
    mask = np.ones((b, s), np.int32)
    if case["pad_text"]:
        for i in range(1, b):
            keep = max(2, s - 3 * i)
            mask[i, keep:] = 0
            ids[i, keep:] = 0
    tt = np.zeros((b, s), np.int32)
    if case["token_types"]:
        for i in range(b):
            tt[i, s // 2:] = 1
        if cfg["type_vocab_size"] > 2:
            tt[:, -2:] = cfg["type_vocab_size"] - 1
    feats = rng.random((b, n, cfg["visual_feat_dim"]), dtype=np.float32)
    x1 = rng.random((b, n)) * 0.6
    y1 = rng.random((b, n)) * 0.6
    x2 = x1 + 0.05 + rng.random((b, n)) * 0.35
    y2 = y1 + 0.05 + rng.random((b, n)) * 0.35
    pos = np.stack([x1, y1, x2, y2], axis=-1).astype(np.float32)
    inputs = dict(input_ids=ids, attention_mask=mask, token_type_ids=tt, visual_feats=feats, visual_pos=pos)
    if case["visual_mask"]:
        vm = np.ones((b, n), np.int32)
        for i in range(b):
            vm[i, n - 2 - i:] = 0
        inputs["visual_attention_mask"] = vm
    return inputs


def int_spec(name):
    return tf.TensorSpec((None, None), tf.int32, name=name)


def traced_functions(model, cfg):
    """The reference runs through tf.function with fully dynamic shapes. Eager HF code raises on a
    visual_attention_mask when N != S (a dead reshape uses the text length); traced, the dead op is pruned."""
    feats = tf.TensorSpec((None, None, cfg["visual_feat_dim"]), tf.float32, name="visual_feats")
    pos = tf.TensorSpec((None, None, 4), tf.float32, name="visual_pos")

    def run(input_ids, attention_mask, token_type_ids, visual_feats, visual_pos, visual_attention_mask=None):
        out = model(input_ids=input_ids, visual_feats=visual_feats, visual_pos=visual_pos,
                    attention_mask=attention_mask, visual_attention_mask=visual_attention_mask,
                    token_type_ids=token_type_ids, output_attentions=True, output_hidden_states=True,
                    return_dict=True, training=False)
        res = {}
        for k in ("prediction_logits", "cross_relationship_score", "question_answering_score"):
            res[k] = out[k]
        lx = model.lxmert(input_ids=input_ids, visual_feats=visual_feats, visual_pos=visual_pos,
                          attention_mask=attention_mask, visual_attention_mask=visual_attention_mask,
                          token_type_ids=token_type_ids, output_attentions=True, output_hidden_states=True,
                          return_dict=True, training=False)
        res["language_output"] = lx.language_output
        res["vision_output"] = lx.vision_output
        res["pooled_output"] = lx.pooled_output
        for group in ("language_hidden_states", "vision_hidden_states", "language_attentions",
                      "vision_attentions", "cross_encoder_attentions"):
            for i, t in enumerate(out[group]):
                res[f"{group}.{i}"] = t
        heads = model.obj_predict_head(lx.vision_output)
        for k, t in heads.items():
            res[f"obj_predict_head.{k}"] = t
        return res

    with_mask = tf.function(
        lambda ids, am, tt, f, p, vm: run(ids, am, tt, f, p, vm),
        input_signature=[int_spec("input_ids"), int_spec("attention_mask"), int_spec("token_type_ids"), feats, pos,
                         int_spec("visual_attention_mask")])
    without_mask = tf.function(
        lambda ids, am, tt, f, p: run(ids, am, tt, f, p),
        input_signature=[int_spec("input_ids"), int_spec("attention_mask"), int_spec("token_type_ids"), feats, pos])
    return with_mask, without_mask, run


def write_npy(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)


def tensor_entry(rel, arr):
    return {"file": rel, "shape": list(arr.shape), "dtype": str(arr.dtype)}


def h5_listing(path):
    lines = []
    with h5py.File(path, "r") as f:
        for k, v in sorted(f.attrs.items()):
            lines.append(f"attr /{k} = {v.tolist() if hasattr(v, 'tolist') else v!r}")
        for gname in [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]:
            g = f[gname]
            lines.append(f"group /{gname}")
            for k, v in sorted(g.attrs.items()):
                vals = [x.decode() if isinstance(x, bytes) else x for x in np.asarray(v).tolist()] \
                    if np.asarray(v).size else []
                lines.append(f"  attr {k} ({len(vals)} entries)")
                for i, x in enumerate(vals):
                    lines.append(f"    [{i}] {x}")
        lines.append("datasets:")

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                lines.append(f"  /{name} {obj.dtype} {list(obj.shape)}")
        f.visititems(visit)
    return "\n".join(lines) + "\n"


def pt_state_dict(model):
    """PyTorch-format state dict, converted by HF's own name rule (kernels transposed, tied decoder absent)."""
    out = {}
    for v in model.weights:
        pt_name, transpose = convert_tf_weight_name_to_pt_weight_name(
            v.name, start_prefix_to_remove="", tf_weight_shape=v.shape)
        arr = v.numpy()
        if transpose is not None and getattr(transpose, "name", str(transpose)) != "NO" and arr.ndim == 2:
            arr = arr.T
        out[pt_name] = np.ascontiguousarray(arr)
    return out


max_abs = tolerance.max_abs


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), help="a built-in config")
    ap.add_argument("--config", help="JSON file with LxmertConfig fields (overrides the preset)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override one config field")
    ap.add_argument("--cases", help="JSON file with a list of input cases (default: the built-in four)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", help="name recorded in the manifest (default: the preset)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--saved-model", choices=("dir", "zip", "none"), default="dir",
                    help="write the SavedModel as a directory (default), as saved_model.zip (what the committed "
                         "fixtures use, to stay small), or not at all")
    args = ap.parse_args()

    cfg = dict(PRESETS[args.preset]) if args.preset else dict(PRESETS["tiny"])
    if args.config:
        with open(args.config) as f:
            cfg.update(json.load(f))
    for kv in args.set:
        k, v = kv.split("=", 1)
        cfg[k] = json.loads(v)
    cases = DEFAULT_CASES
    if args.cases:
        with open(args.cases) as f:
            cases = json.load(f)

    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tf.random.set_seed(args.seed)
    np.random.seed(args.seed)

    config = LxmertConfig(**cfg)
    model = TFLxmertForPreTraining(config)
    model.build_in_name_scope()
    randomise(model, args.seed)

    model_dir = os.path.join(out, "model")
    model.save_pretrained(model_dir, safe_serialization=False)  # tf_model.h5 + config.json
    h5_path = os.path.join(model_dir, "tf_model.h5")
    st_dir = os.path.join(out, "model-safetensors")
    model.save_pretrained(st_dir, safe_serialization=True)  # TF-format model.safetensors
    shutil.move(os.path.join(st_dir, "model.safetensors"), os.path.join(model_dir, "model.safetensors"))
    shutil.rmtree(st_dir)
    vocab = make_vocab(cfg["vocab_size"])
    with open(os.path.join(model_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")

    # PyTorch-format safetensors, in its own directory (HF picks model.safetensors by name).
    pt_dir = os.path.join(out, "model-pt")
    os.makedirs(pt_dir)
    save_file(pt_state_dict(model), os.path.join(pt_dir, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(os.path.join(model_dir, "config.json"), pt_dir)
    shutil.copy(os.path.join(model_dir, "vocab.txt"), pt_dir)

    listings = os.path.join(out, "listings")
    os.makedirs(listings)
    with open(os.path.join(listings, "tf_model_h5.txt"), "w") as f:
        f.write(h5_listing(h5_path))

    with_mask, without_mask, run_eager = traced_functions(model, cfg)
    reloaded = {fmt: TFLxmertForPreTraining.from_pretrained(d, use_safetensors=st)
                for fmt, d, st in (("h5", model_dir, False), ("tf_safetensors", model_dir, True))}
    # from_pretrained on a PT-format model.safetensors fails in transformers 4.57.6 (it iterates a safe_open
    # handle, which safetensors does not support), so load it through the same HF converter from a dict.
    pt_model = TFLxmertForPreTraining(LxmertConfig(**cfg))
    pt_model.build_in_name_scope()
    _, info = load_pytorch_state_dict_in_tf2_model(
        pt_model, load_file(os.path.join(pt_dir, "model.safetensors")), tf_inputs=False,
        allow_missing_keys=False, output_loading_info=True)
    if info["missing_keys"] or info["unexpected_keys"] or info["mismatched_keys"]:
        raise SystemExit(f"PT-format safetensors did not load cleanly: {info}")
    reloaded["pt_safetensors"] = pt_model

    rng = np.random.default_rng(args.seed + 1)
    manifest_cases = []
    checks = {}
    for case in cases:
        inputs = make_inputs(case, cfg, rng)
        args6 = [inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"], inputs["visual_feats"],
                 inputs["visual_pos"]]
        if "visual_attention_mask" in inputs:
            res = with_mask(*args6, inputs["visual_attention_mask"])
        else:
            res = without_mask(*args6)
        res = {k: v.numpy() for k, v in res.items()}
        cdir = os.path.join("cases", case["name"])
        entry = {"name": case["name"], "description": case.get("description", ""), "inputs": {}, "outputs": {}}
        for k, arr in inputs.items():
            rel = f"{cdir}/inputs/{k}.npy"
            write_npy(os.path.join(out, rel), arr)
            entry["inputs"][k] = tensor_entry(rel, arr)
        for k, arr in res.items():
            rel = f"{cdir}/outputs/{k}.npy"
            write_npy(os.path.join(out, rel), arr)
            entry["outputs"][k] = tensor_entry(rel, arr)
        manifest_cases.append(entry)

        c = {}
        main_keys = ("prediction_logits", "cross_relationship_score", "question_answering_score")
        # Eager, where HF's eager code can run it (no visual mask, or N == S): Python's own noise per tensor, the
        # deviation between two runs of the same model that differ only in how TensorFlow executes them.
        noise = {}
        if "visual_attention_mask" not in inputs or case["regions"] == case["text"]:
            eager = run_eager(*[tf.constant(a) for a in args6], inputs.get("visual_attention_mask"))
            noise = {k: max_abs(eager[k].numpy(), res[k]) for k in res}
            c["eager_vs_traced_max_abs"] = max(noise.values())
            for k, d in noise.items():
                entry["outputs"][k]["python_noise"] = {"max_abs": d, "source": "eager_vs_traced"}
        # Reloaded checkpoints (h5, TF safetensors, PT-format safetensors) give the same outputs.
        if "visual_attention_mask" not in inputs or case["regions"] == case["text"]:
            for fmt, m in reloaded.items():
                o = m(input_ids=inputs["input_ids"], visual_feats=inputs["visual_feats"],
                      visual_pos=inputs["visual_pos"], attention_mask=inputs["attention_mask"],
                      token_type_ids=inputs["token_type_ids"],
                      visual_attention_mask=inputs.get("visual_attention_mask"), training=False)
                c[f"reload_{fmt}_max_abs"] = max(max_abs(o[k].numpy(), res[k]) for k in main_keys)
                for k in main_keys:
                    why = tolerance.check(o[k].numpy(), res[k], noise=noise.get(k))
                    if why:
                        raise SystemExit(f"{fmt} reload differs from the model on {case['name']} {k}: {why}")
        checks[case["name"]] = c

    # HF's eager code cannot run some cases (a visual mask with N != S): there, Python's own noise per tensor is
    # the largest eager-vs-traced deviation of that tensor over the cases it could run, and says so.
    measured = [c for c in manifest_cases if any("python_noise" in e for e in c["outputs"].values())]
    for entry in manifest_cases:
        if entry in measured:
            continue
        for k, e in entry["outputs"].items():
            ds = [c["outputs"][k]["python_noise"]["max_abs"] for c in measured if k in c["outputs"]]
            if ds:
                e["python_noise"] = {"max_abs": max(ds), "source": "eager_vs_traced, largest over the cases eager "
                                                                   "HF code can run (it cannot run this one)"}

    saved_model_entry = None
    if args.saved_model != "none":
        # The serving signature returns hidden states and attentions (stacked) only when the config flags
        # are on at export time, so export with them on.
        model.config.output_hidden_states = True
        model.config.output_attentions = True
        sm_parent = os.path.join(out, "sm-export")
        model.save_pretrained(sm_parent, saved_model=True, safe_serialization=True)
        sm_dir = os.path.join(out, "saved_model")
        shutil.move(os.path.join(sm_parent, "saved_model"), sm_dir)
        shutil.rmtree(sm_parent)
        model.config.output_hidden_states = False
        model.config.output_attentions = False
        cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
        shown = subprocess.run([cli, "show", "--dir", os.path.join(sm_dir, "1"), "--all"], capture_output=True,
                               text=True, check=True).stdout
        with open(os.path.join(listings, "saved_model_signatures.txt"), "w") as f:
            f.write(shown)
        # Run every case through the SavedModel's serving_default and compare with the traced reference.
        loaded = tf.saved_model.load(os.path.join(sm_dir, "1"))
        fn = loaded.signatures["serving_default"]
        for entry, case in zip(manifest_cases, cases):
            inp = {k: np.load(os.path.join(out, e["file"])) for k, e in entry["inputs"].items()}
            if "visual_attention_mask" not in inp:
                inp["visual_attention_mask"] = np.ones(inp["visual_feats"].shape[:2], np.int32)
            o = fn(**{k: tf.constant(v) for k, v in inp.items()})
            ref = {k: np.load(os.path.join(out, e["file"])) for k, e in entry["outputs"].items()}
            d = max(max_abs(o[k].numpy(), ref[k]) for k in
                    ("prediction_logits", "cross_relationship_score", "question_answering_score"))
            hs = o["language_hidden_states"].numpy()
            d = max(d, max(max_abs(hs[i], ref[f"language_hidden_states.{i}"]) for i in range(hs.shape[0])))
            checks[case["name"]]["saved_model_vs_traced_max_abs"] = d
            for k in ("prediction_logits", "cross_relationship_score", "question_answering_score"):
                why = tolerance.check(o[k].numpy(), ref[k])
                if why:
                    raise SystemExit(f"SavedModel differs from the traced model on {case['name']} {k}: {why}")
        del loaded, fn
        if args.saved_model == "zip":
            # Stored entries are deflated; paths inside start with "1/" (the version directory).
            shutil.make_archive(os.path.join(out, "saved_model"), "zip", root_dir=sm_dir)
            shutil.rmtree(sm_dir)
        saved_model_entry = {"dir": "saved_model" if args.saved_model == "dir" else None,
                             "zip": "saved_model.zip" if args.saved_model == "zip" else None, "version": 1, "signatures": ["serving_default", "int64_serving"],
                             "config_output_hidden_states": True, "config_output_attentions": True}

    manifest = {
        "format": FORMAT,
        "name": args.name or args.preset or "custom",
        "seed": args.seed,
        "config": cfg,
        "reference_path": "tf.function with input_signature of fully dynamic shapes (batch, text length and "
                          "region count None), training=False, output_attentions and output_hidden_states on; "
                          "obj_predict_head outputs by calling the head on vision_output inside the same function",
        "files": {
            "model_dir": "model",
            "tf_model_h5": "model/tf_model.h5",
            "tf_safetensors": "model/model.safetensors",
            "pt_model_dir": "model-pt",
            "pt_safetensors": "model-pt/model.safetensors",
            "config": "model/config.json",
            "vocab": "model/vocab.txt",
            "h5_listing": "listings/tf_model_h5.txt",
            "saved_model_listing": "listings/saved_model_signatures.txt" if saved_model_entry else None,
        },
        "saved_model": saved_model_entry,
        "checks": checks,
        "machine": tolerance.machine(),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "tf_keras": tf_keras.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
            "h5py": h5py.__version__,
        },
        "cases": manifest_cases,
    }
    manifest["sha256"] = {rel: sha256(os.path.join(out, rel)) for rel in
                          ("model/tf_model.h5", "model/model.safetensors", "model-pt/model.safetensors")}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {out}: {len(manifest_cases)} cases, checks {json.dumps(checks)}")


if __name__ == "__main__":
    main()
