#!/usr/bin/env python3
"""Writes the question-answering reference (parity-tests/fixtures/qa/) with HF's PyTorch LxmertForQuestionAnswering.

A QA-only checkpoint as unc-nlp/lxmert-vqa-uncased ships one (lxmert.* + answer_head.*, config.json with
architectures ["LxmertForQuestionAnswering"]), at the tiny fixture's widths, with seeded weights, and every output
of PyTorch's model on a few input cases, as a reference directory (docs/reference-format.md):

  model/          config.json (id2label: one made-up answer per label), pytorch_model.bin (save_pretrained,
                  safe_serialization=False: the zip format, as the VQA checkpoint's), vocab.txt
  model-st/       the same model as model.safetensors with PyTorch names (save_pretrained's default), config, vocab
  cases/<case>/   inputs; outputs: question_answering_score, language/vision_output, pooled_output, every hidden
                  state and attention HF returns, and the cross layers' three attentions HF computes and drops
                  (cross_encoder_vision_attentions.i, cross_encoder_language_self_attentions.i,
                  cross_encoder_vision_self_attentions.i), taken from PyTorch's own LxmertAttention calls by
                  forward hooks that make them return their probabilities
  manifest.json   format tf-lxmert-reference/2, config, cases, files, versions, the CPU, and the script's checks

The outputs are PyTorch's (float32, CPU, eager). Differences from HF's TF model that the Java port (which follows TF)
meets here: PyTorch masks with finfo(float32).min instead of -10000 and has no stable_softmax 1e-9 (both vanish in
float32 at these sizes), and hard-codes LayerNorm eps 1e-12 (the config says 1e-12 too).

Usage: parity-tests/python/install_torch.sh && ~/.cache/tf-lxmert/torch-venv/bin/python \
           parity-tests/python/export_qa_reference.py [--out DIR] [--seed 0]
"""
import argparse
import json
import os
import platform
import shutil
import sys

import numpy as np
import safetensors
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))

# The tiny fixture's widths (TFLxmertModelTester), with two cross layers (so the cross layers' attentions are held
# on a layer whose inputs come from another cross layer), one language layer and 64 positions to keep the files small.
CONFIG = dict(
    vocab_size=300, hidden_size=28, num_attention_heads=2, intermediate_size=64, hidden_act="gelu",
    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=64,
    type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
    num_qa_labels=12, num_object_labels=16, num_attr_labels=4, l_layers=1, x_layers=2, r_layers=1,
    visual_feat_dim=128, visual_pos_dim=4, visual_loss_normalizer=6.67,
)
ANSWERS = ["yes", "no", "red", "blue", "green", "cube", "sphere", "cylinder", "one", "two", "three", "man"]

CASES = [
    dict(name="b1_equal", batch=1, text=8, regions=8, pad_text=False, visual_mask=False, token_types=False,
         description="batch 1, text length = region count, no padding, no visual mask"),
    dict(name="b3_padded", batch=3, text=12, regions=9, pad_text=True, visual_mask=False, token_types=True,
         description="batch 3, padded text (zeros in attention_mask), text length != region count, token types"),
    dict(name="b2_visual_mask", batch=2, text=10, regions=7, pad_text=True, visual_mask=True, token_types=True,
         description="padded text and a visual_attention_mask with zeros"),
]

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("what is the man holding color shape how many are there a on of in with cube sphere cylinder red blue "
         "green yes no one two three left right table cat dog ? .").split()


def make_vocab(size):
    """A deterministic vocabulary of exactly `size` entries, specials first (as BERT's)."""
    vocab = list(SPECIAL)
    for w in WORDS + list("abcdefghijklmnopqrstuvwxyz0123456789,!'-"):
        if len(vocab) < size and w not in vocab:
            vocab.append(w)
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"][: max(0, size - len(vocab))]
    vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def randomise(model, seed):
    """Seeded values for every parameter (HF's own init leaves biases 0 and LayerNorm weights 1, which would hide a
    swapped bias or gamma; small normal Linear weights would make every attention nearly uniform)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = tuple(p.shape)
            if "LayerNorm" in name or "layer_norm" in name or name.startswith("answer_head.logit_fc.2."):
                val = (1.0 if name.endswith("weight") else 0.0) + 0.1 * rng.standard_normal(shape)
            elif name.endswith("bias"):
                val = 0.1 * rng.standard_normal(shape)
            elif "embeddings" in name:
                val = 0.5 * rng.standard_normal(shape)
            else:  # Linear weights [out, in]: keep activations O(1)
                val = rng.standard_normal(shape) / np.sqrt(shape[1])
            p.copy_(torch.from_numpy(val.astype(np.float32)))


def make_inputs(case, rng):
    b, s, n = case["batch"], case["text"], case["regions"]
    ids = rng.integers(5, CONFIG["vocab_size"], size=(b, s)).astype(np.int32)
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    mask = np.ones((b, s), np.int32)
    if case["pad_text"]:
        for i in range(1, b):
            keep = max(2, s - 3 * i)
            mask[i, keep:] = 0
            ids[i, keep:] = 0
    tt = np.zeros((b, s), np.int32)
    if case["token_types"]:
        tt[:, s // 2:] = 1
    feats = rng.random((b, n, CONFIG["visual_feat_dim"]), dtype=np.float32)
    x1, y1 = rng.random((b, n)) * 0.6, rng.random((b, n)) * 0.6
    x2, y2 = x1 + 0.05 + rng.random((b, n)) * 0.35, y1 + 0.05 + rng.random((b, n)) * 0.35
    inputs = dict(input_ids=ids, attention_mask=mask, token_type_ids=tt, visual_feats=feats,
                  visual_pos=np.stack([x1, y1, x2, y2], axis=-1).astype(np.float32))
    if case["visual_mask"]:
        vm = np.ones((b, n), np.int32)
        for i in range(b):
            vm[i, n - 2 - i:] = 0
        inputs["visual_attention_mask"] = vm
    return inputs


class CrossLayerAttentions:
    """Forward hooks on each cross layer's LxmertAttention modules: PyTorch computes four attentions per cross layer
    and returns one; the hooks make every call return its probabilities (the callers use only output[0] then, so
    the model's outputs do not change) and keep them, by output name."""

    def __init__(self, model):
        self.probs = {}
        self.handles = []
        for i, x in enumerate(model.lxmert.encoder.x_layers):
            calls = []  # visual_attention.att runs twice per layer: language queries first, then visual queries
            self.hook(x.visual_attention.att, lambda p, i=i, calls=calls: self.cross(i, calls, p))
            self.hook(x.lang_self_att.self, lambda p, i=i: self.keep(f"cross_encoder_language_self_attentions.{i}", p))
            self.hook(x.visn_self_att.self, lambda p, i=i: self.keep(f"cross_encoder_vision_self_attentions.{i}", p))

    def hook(self, module, sink):
        def pre(mod, args, kwargs):
            kwargs = dict(kwargs)
            kwargs["output_attentions"] = True
            return args, kwargs

        def post(mod, args, kwargs, output):
            sink(output[1])
            return output

        self.handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        self.handles.append(module.register_forward_hook(post, with_kwargs=True))

    def cross(self, i, calls, p):
        calls.append(p)
        name = "cross_encoder_attentions" if len(calls) % 2 == 1 else "cross_encoder_vision_attentions"
        self.keep(f"{name}.{i}", p)

    def keep(self, name, p):
        self.probs[name] = p.detach().numpy().copy()

    def take(self):
        out, self.probs = self.probs, {}
        return out


def run(model, hooks, inputs):
    """Every output of one forward pass, by reference name (numpy float32)."""
    base = {}
    h = model.lxmert.register_forward_hook(lambda mod, args, out: base.update(out=out))
    t = {k: torch.from_numpy(v.astype(np.int64) if v.dtype == np.int32 else v) for k, v in inputs.items()}
    with torch.no_grad():
        o = model(**t, output_hidden_states=True, output_attentions=True, return_dict=True)
    h.remove()
    out = {"question_answering_score": o.question_answering_score}
    b = base["out"]
    out.update(language_output=b.language_output, vision_output=b.vision_output, pooled_output=b.pooled_output)
    for name in ("language_hidden_states", "vision_hidden_states", "language_attentions", "vision_attentions",
                 "cross_encoder_attentions"):
        for i, x in enumerate(getattr(o, name)):
            out[f"{name}.{i}"] = x
    out = {k: v.detach().numpy().astype(np.float32) for k, v in out.items()}
    extra = hooks.take()
    for k, v in extra.items():
        if k.startswith("cross_encoder_attentions."):
            # The hook saw the same call HF returns from: the same tensor, bit for bit.
            assert np.array_equal(v, out[k]), k
        else:
            out[k] = v
    return out


def checks(inputs, out):
    """The writer's own consistency checks: every attention row sums to 1 and masked keys get 0."""
    worst_sum, worst_masked = 0.0, 0.0
    keys_mask = {"language": inputs["attention_mask"],
                 "vision": inputs.get("visual_attention_mask", np.ones(inputs["visual_feats"].shape[:2], np.int32))}
    for k, v in out.items():
        if "attentions" not in k:
            continue
        worst_sum = max(worst_sum, float(np.abs(v.sum(-1) - 1).max()))
        over = "language" if k.startswith(("language_", "cross_encoder_vision_attentions",
                                           "cross_encoder_language_self")) else "vision"
        m = keys_mask[over][:, None, None, :] == 0
        if m.any():
            worst_masked = max(worst_masked, float(np.abs(np.where(m, v, 0)).max()))
    return {"attention_row_sum_max_abs_error": worst_sum, "masked_attention_max": worst_masked}


def cpu():
    name, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name in ("", platform.machine(), platform.processor()):
                    name = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    flags = " ".join(x for x in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                                                  "avx512_bf16", "amx_tile") if x in have)
                    break
    except OSError:
        pass
    return {"machine": platform.machine(), "cpu": name, "isa_flags": flags}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "qa"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    config = transformers.LxmertConfig(**CONFIG, id2label=dict(enumerate(ANSWERS)),
                                       label2id={a: i for i, a in enumerate(ANSWERS)})
    config.architectures = ["LxmertForQuestionAnswering"]
    model = transformers.LxmertForQuestionAnswering(config).eval()
    randomise(model, args.seed)
    vocab = make_vocab(CONFIG["vocab_size"])
    for sub, safe in (("model", False), ("model-st", True)):
        d = os.path.join(out, sub)
        model.save_pretrained(d, safe_serialization=safe)
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab) + "\n")
    keys = list(torch.load(os.path.join(out, "model", "pytorch_model.bin"), weights_only=True).keys())
    assert all(k.startswith(("lxmert.", "answer_head.")) for k in keys), keys  # a QA-only checkpoint

    hooks = CrossLayerAttentions(model)
    rng = np.random.default_rng(args.seed + 1)
    cases, all_checks = [], {}
    for case in CASES:
        inputs = make_inputs(case, rng)
        outputs = run(model, hooks, inputs)
        entry = {"name": case["name"], "description": case["description"], "inputs": {}, "outputs": {}}
        for kind, arrays in (("inputs", inputs), ("outputs", outputs)):
            for k, a in arrays.items():
                rel = f"cases/{case['name']}/{kind}/{k}.npy"
                os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
                np.save(os.path.join(out, rel), np.ascontiguousarray(a))
                entry[kind][k] = {"file": rel, "shape": list(a.shape), "dtype": str(a.dtype)}
        cases.append(entry)
        all_checks[case["name"]] = checks(inputs, outputs)
    # A model reloaded from the .bin HF wrote gives the same numbers: the file holds what was run.
    reloaded = transformers.LxmertForQuestionAnswering.from_pretrained(os.path.join(out, "model")).eval()
    again = run(reloaded, CrossLayerAttentions(reloaded), make_inputs(CASES[0], np.random.default_rng(args.seed + 1)))
    first = {k: np.load(os.path.join(out, v["file"])) for k, v in cases[0]["outputs"].items()}
    assert all(np.array_equal(first[k], again[k]) for k in first), "reloaded model differs"

    manifest = {
        "format": "tf-lxmert-reference/2",
        "name": "qa",
        "description": "HF PyTorch LxmertForQuestionAnswering (QA-only checkpoint, PyTorch names), tiny widths, "
                       "outputs computed by PyTorch (eager, float32, CPU); written by "
                       "parity-tests/python/export_qa_reference.py",
        "config": dict(CONFIG, architectures=["LxmertForQuestionAnswering"]),
        "seed": args.seed,
        "files": {"model_dir": "model", "pt_model_dir": "model", "pytorch_model_bin": "model/pytorch_model.bin",
                  "safetensors_model_dir": "model-st", "pt_safetensors": "model-st/model.safetensors",
                  "config": "model/config.json", "vocab": "model/vocab.txt"},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "numpy": np.__version__,
                     "safetensors": safetensors.__version__},
        "machine": cpu(),
        "checks": all_checks,
        "cases": cases,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: {len(cases)} cases, checks {json.dumps(all_checks)}")


if __name__ == "__main__":
    sys.exit(main())
