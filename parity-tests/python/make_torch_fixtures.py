#!/usr/bin/env python3
"""Writes the PyTorch-checkpoint fixtures (parity-tests/fixtures/torch/) with real torch.save, from PyPI's torch.

Valid files (read by PytorchWeightSource, compared with what torch.load gives here):
  tiny-zip/       HF's LxmertForPreTraining(config of fixtures/tiny/model-pt) with the weights of
                  fixtures/tiny/model-pt/model.safetensors, written by HF's save_pretrained(safe_serialization=False):
                  pytorch_model.bin in the zip format (folder pytorch_model/), the decoder sharing the word
                  embeddings' storage, and the config.json HF writes.
  tiny-legacy/    the same state dict by torch.save(..., _use_new_zipfile_serialization=False), plus config.json.
  dtypes.bin      float32/float16/bfloat16/float64 (special values), an nn.Parameter, a 0-d and an empty tensor,
                  int64 and uint16 (the latter as UntypedStorage + _rebuild_tensor_v3); zip, folder archive/.
  dtypes-legacy.bin   the same without uint16 (the legacy format has no UntypedStorage tensors).
  views.bin, views-legacy.bin   tensors sharing storages: offsets, slices with steps, transposes, a 0-stride
                  expand, float16/bfloat16 strided views, a 0-d view at the end of its storage, an empty view.
  *-expected.safetensors   what torch.load gives for each file: every tensor .contiguous(), floats as float32.
Hostile files (hostile/, each refused by the Java reader with the message the tests check): see HOSTILE below.

The manifest (manifest.json) records the versions, the CPU, how each file was made and its sha256. The zip
files are byte-for-byte reproducible; the legacy format names storages by their memory address, so rerunning
changes those keys (and the bytes that hold them).

Usage: parity-tests/python/install_torch.sh && ~/.cache/tf-lxmert/torch-venv/bin/python \
           parity-tests/python/make_torch_fixtures.py [OUT_DIR [--compare COMMITTED_DIR]]
       (default OUT_DIR: parity-tests/fixtures/torch). With --compare, writes OUT_DIR afresh and checks it against
       the committed files: the same names, the same bytes, and for the legacy files (whose storage keys are
       addresses) the same tensors under torch.load and the same length; exits 1 on a difference.
"""
import collections
import hashlib
import io
import json
import os
import pickle
import platform
import shutil
import struct
import sys
import zipfile

import numpy as np
import safetensors
import safetensors.torch
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
TINY_PT = os.path.join(HERE, "..", "fixtures", "tiny", "model-pt")
MAGIC = 0x1950A86A20F9469CFC6C  # torch/serialization.py MAGIC_NUMBER
SYS_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}


def expected(path, sd):
    """What torch.load(weights_only=True) gives for the file, written as safetensors (floats as float32)."""
    loaded = torch.load(path, weights_only=True)
    assert list(loaded.keys()) == list(sd.keys()), path
    out = {}
    for k, v in loaded.items():
        assert torch.equal(v, sd[k]) or (v.is_floating_point() and torch.equal(v.isnan(), sd[k].isnan())), k
        out[k] = (v.float() if v.is_floating_point() else v).contiguous().clone()
    safetensors.torch.save_file(out, path.rsplit(".", 1)[0] + "-expected.safetensors", metadata={"format": "pt"})


def tiny_model(out):
    config = transformers.LxmertConfig.from_json_file(os.path.join(TINY_PT, "config.json"))
    model = transformers.LxmertForPreTraining(config).eval()
    weights = safetensors.torch.load_file(os.path.join(TINY_PT, "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert missing == ["cls.predictions.decoder.weight"] and not unexpected, (missing, unexpected)  # tied
    model.tie_weights()
    zdir = os.path.join(out, "tiny-zip")
    model.save_pretrained(zdir, safe_serialization=False)
    for f in os.listdir(zdir):
        if f not in ("pytorch_model.bin", "config.json"):
            os.remove(os.path.join(zdir, f))
    ldir = os.path.join(out, "tiny-legacy")
    os.makedirs(ldir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(ldir, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    model.config.to_json_file(os.path.join(ldir, "config.json"))
    for d in (zdir, ldir):
        loaded = torch.load(os.path.join(d, "pytorch_model.bin"), weights_only=True)
        for k, v in weights.items():
            assert torch.equal(loaded[k], v), (d, k)
        dec, emb = loaded["cls.predictions.decoder.weight"], loaded["lxmert.embeddings.word_embeddings.weight"]
        assert dec.untyped_storage().data_ptr() == emb.untyped_storage().data_ptr(), "decoder should share storage"


def dtype_tensors(with_uint16):
    special = [0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"), 1e-45, 3.4e38, 1 / 3]
    sd = collections.OrderedDict()
    sd["f32"] = torch.tensor(special, dtype=torch.float32)
    sd["f16"] = torch.tensor(special + [65504.0, 2.0 ** -24, 2.0 ** -14], dtype=torch.float16).view(13, 1)
    sd["bf16"] = torch.tensor(special + [1e38, -7.0], dtype=torch.bfloat16).view(3, 4)
    sd["f64"] = torch.tensor([[0.1, 1e-300], [1e300, -1 / 3], [1e-40, 2.5]], dtype=torch.float64)
    sd["param.weight"] = torch.nn.Parameter(torch.linspace(-1, 1, 5), requires_grad=True)
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["ids"] = torch.arange(4, dtype=torch.int64)
    if with_uint16:
        sd["u16"] = torch.tensor([1, 2, 65535], dtype=torch.int32).to(torch.uint16)
    return sd


def view_tensors():
    base = torch.arange(60, dtype=torch.float32) / 7
    grid = base.view(6, 10)
    half = (base * 3).half().view(6, 10)
    bf = (base - 4).bfloat16().view(6, 10)
    ones = torch.tensor([1.0, 2.0, 3.0, 4.0])
    sd = collections.OrderedDict()
    sd["whole"] = grid
    sd["offset"] = base[10:22].view(3, 4)
    sd["strided"] = grid[:, ::3]
    sd["transposed"] = grid.t()
    sd["sub"] = grid[1:5, 2:9:2]
    sd["scalar_view"] = base[59]
    sd["empty_view"] = base[5:5]
    sd["expanded"] = ones.view(1, 4).expand(3, 4)
    sd["half_sub"] = half[2:, 1::4]
    sd["half_whole"] = half
    sd["bf16_t"] = bf.t()[2:5]
    assert not sd["strided"].is_contiguous() and sd["offset"].storage_offset() == 10
    return sd


def save_both(out, name, sd_zip, sd_legacy):
    # Saved through a file object: the zip folder is "archive/", as for torch.save(obj, io.BytesIO()).
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        torch.save(sd_zip, f)
    torch.save(sd_legacy, os.path.join(out, name + "-legacy.bin"), _use_new_zipfile_serialization=False)
    expected(os.path.join(out, name + ".bin"), sd_zip)
    expected(os.path.join(out, name + "-legacy.bin"), sd_legacy)


# ------------------------------------------------------------------------------------------------ hostile files

class Storage:
    """Stands for a storage in a hand-made pickle: its persistent id is whatever the hostile file needs."""

    def __init__(self, *pid):
        self.pid = ("storage",) + pid


class Tensor:
    """Pickles as torch.save pickles a tensor: _rebuild_tensor_v2(storage, offset, size, stride, False, {})."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce_ex__(self, protocol):
        return torch._utils._rebuild_tensor_v2, self.args


class Call:
    """Pickles as a call of func(*args): what a malicious pickle does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce_ex__(self, protocol):
        return self.func, self.args


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, Storage) else None


def dumps(obj):
    b = io.BytesIO()
    Pickler(b, protocol=2).dump(obj)
    return b.getvalue()


def zip_file(path, pkl, storages):
    """Writes the records torch.save writes, through PyTorch's own archive writer, around a hand-made pickle."""
    w = torch._C.PyTorchFileWriter(path)
    w.write_record("data.pkl", pkl, len(pkl))
    w.write_record(".format_version", "1", 1)
    w.write_record(".storage_alignment", "64", 2)
    w.write_record("byteorder", "little", 6)
    for key, data in storages.items():
        w.write_record("data/" + key, data, len(data))
    w.write_end_of_file()


def legacy_file(path, state, storages, magic=MAGIC, counts=None):
    """The legacy format as _legacy_save writes it (pure Python): 5 pickles, then per storage count + bytes."""
    with open(path, "wb") as f:
        for obj in (magic, 1001, SYS_INFO):
            f.write(pickle.dumps(obj, protocol=2))
        f.write(dumps(state))
        keys = sorted(storages)
        f.write(pickle.dumps(keys, protocol=2))
        for k in keys:
            data, numel = storages[k]
            f.write(struct.pack("<q", numel if counts is None else counts[k]))
            f.write(data)


F32 = np.arange(6, dtype="<f4").tobytes()  # 6 float32 elements: 24 bytes

HOSTILE = {
    "os_system.bin": "a state dict whose value is os.system('echo pwned') (GLOBAL os system, REDUCE)",
    "posix_system.bin": "the same as Python's pickler writes it on Linux (GLOBAL posix system)",
    "builtins_eval.bin": "builtins.eval of a string that would run a shell command",
    "whole_module.bin": "torch.save of a whole nn.Linear: GLOBAL torch.nn.modules.linear.Linear",
    "reduce_storage_type.bin": "REDUCE calling torch.FloatStorage (an allowed global, but not a function)",
    "storage_size_lies.bin": "a storage declared as 1000 float32 elements whose entry holds 24 bytes",
    "view_beyond_storage.bin": "a (2, 3) view at offset 4 of a 6-element storage",
    "missing_storage.bin": "a tensor whose storage key has no data/<key> entry",
    "compressed.bin": "a torch.save archive rewritten with deflated entries",
    "truncated.bin": "the first 60% of views.bin",
    "protocol4.bin": "torch.save(..., pickle_protocol=4): FRAME and other opcodes weights_only does not implement",
    "legacy_wrong_magic.bin": "the legacy format with a magic number off by one",
    "legacy_count_lies.bin": "the legacy format with a storage's element count 7 where the pickle says 6",
    "legacy_truncated.bin": "views-legacy.bin cut inside its last storage",
}


def hostile(out):
    h = os.path.join(out, "hostile")
    os.makedirs(h, exist_ok=True)
    p = lambda n: os.path.join(h, n)  # noqa: E731
    os_system = (b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00xcos\nsystem\n"
                 b"X\x0a\x00\x00\x00echo pwned\x85Ru.")
    zip_file(p("os_system.bin"), os_system, {})
    zip_file(p("posix_system.bin"), dumps({"x": Call(os.system, "echo pwned")}), {})
    zip_file(p("builtins_eval.bin"), dumps({"x": Call(eval, "__import__('os').system('echo pwned')")}), {})
    torch.manual_seed(0)
    torch.save(torch.nn.Linear(2, 2), p("whole_module.bin"))
    zip_file(p("reduce_storage_type.bin"), b"\x80\x02ctorch\nFloatStorage\n)R.", {})
    zip_file(p("storage_size_lies.bin"),
             dumps(collections.OrderedDict(w=Tensor(Storage(torch.FloatStorage, "0", "cpu", 1000), 0, (2, 3), (3, 1)))),
             {"0": F32})
    zip_file(p("view_beyond_storage.bin"),
             dumps(collections.OrderedDict(w=Tensor(Storage(torch.FloatStorage, "0", "cpu", 6), 4, (2, 3), (3, 1)))),
             {"0": F32})
    zip_file(p("missing_storage.bin"),
             dumps(collections.OrderedDict(w=Tensor(Storage(torch.FloatStorage, "7", "cpu", 6), 0, (6,), (1,)))),
             {"0": F32})
    with zipfile.ZipFile(os.path.join(out, "views.bin")) as src, \
            zipfile.ZipFile(p("compressed.bin"), "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():  # a fixed timestamp, so that the file is reproducible
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    with open(os.path.join(out, "views.bin"), "rb") as f:
        data = f.read()
    with open(p("truncated.bin"), "wb") as f:
        f.write(data[:len(data) * 6 // 10])
    torch.save(collections.OrderedDict(w=torch.ones(2)), p("protocol4.bin"), pickle_protocol=4)
    legacy_state = collections.OrderedDict(w=Tensor(Storage(torch.FloatStorage, "0", "cpu", 6, None), 0, (6,), (1,)))
    legacy_file(p("legacy_wrong_magic.bin"), legacy_state, {"0": (F32, 6)}, magic=MAGIC + 1)
    legacy_file(p("legacy_count_lies.bin"), legacy_state, {"0": (F32, 6)}, counts={"0": 7})
    with open(os.path.join(out, "views-legacy.bin"), "rb") as f:
        data = f.read()
    with open(p("legacy_truncated.bin"), "wb") as f:
        f.write(data[:-100])
    verdicts = {}
    for name in HOSTILE:
        try:
            torch.load(p(name), weights_only=True)
            verdicts[name] = "accepted"
        except Exception as e:  # noqa: BLE001 - what torch itself says, for the manifest
            lines = [ln for ln in str(e).splitlines() if ln.strip()] or [""]
            said = next((ln for ln in lines if "GLOBAL" in ln or "Unsupported" in ln), lines[0])
            verdicts[name] = "refused: " + type(e).__name__ + ": " + said.strip()[:240]
    # The two pure-Python legacy writers' output is what torch.load reads when nothing lies:
    legacy_file(p("_check.bin"), legacy_state, {"0": (F32, 6)})
    assert torch.equal(torch.load(p("_check.bin"), weights_only=True)["w"], torch.arange(6.0))
    os.remove(p("_check.bin"))
    return verdicts


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def same_tensor(a, b):
    """Bit for bit, with the same view of its storage."""
    bits = lambda t: t.contiguous().flatten().view(torch.uint8)  # noqa: E731
    return (a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
            and a.storage_offset() == b.storage_offset() and torch.equal(bits(a), bits(b)))


def compare(fresh, committed):
    """Differences between a fresh run and the committed fixtures (see the module docstring)."""
    def listing(d):
        return sorted(os.path.relpath(os.path.join(r, n), d) for r, _, ns in os.walk(d) for n in ns)
    problems = []
    if listing(fresh) != listing(committed):
        problems.append(f"file lists differ: {sorted(set(listing(fresh)) ^ set(listing(committed)))}")
    for rel in sorted(set(listing(fresh)) & set(listing(committed))):
        a, b = os.path.join(fresh, rel), os.path.join(committed, rel)
        if rel == "manifest.json" or sha256(a) == sha256(b):
            continue
        legacy = rel.endswith(".bin") and not zipfile.is_zipfile(a)
        if legacy and os.path.getsize(a) == os.path.getsize(b):
            if "hostile/" in rel:
                continue  # a truncated legacy file: its keys moved, its length did not
            sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
            if list(sa) == list(sb) and all(same_tensor(sa[k], sb[k]) for k in sa):
                continue
        problems.append(f"{rel}: differs from the committed file")
    return problems


def main():
    args = sys.argv[1:]
    committed = None
    if "--compare" in args:
        i = args.index("--compare")
        committed = args[i + 1]
        del args[i:i + 2]
    out = args[0] if args else os.path.join(HERE, "..", "fixtures", "torch")
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tiny_model(out)
    save_both(out, "dtypes", dtype_tensors(True), dtype_tensors(False))
    views = view_tensors()
    save_both(out, "views", views, views)
    verdicts = hostile(out)
    files = {}
    for root, _, names in sorted(os.walk(out)):
        for n in sorted(names):
            path = os.path.join(root, n)
            rel = os.path.relpath(path, out)
            files[rel] = {"bytes": os.path.getsize(path), "sha256": sha256(path)}
            if n.endswith(".bin") and zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    files[rel]["format"] = "zip, folder " + z.namelist()[0].split("/")[0] + "/"
            elif n.endswith(".bin"):
                files[rel]["format"] = "legacy (or not a checkpoint)"
            if rel.startswith("hostile/"):
                files[rel]["what"] = HOSTILE[n]
                files[rel]["torch.load(weights_only=True)"] = verdicts[n]
    manifest = {
        "made_by": "parity-tests/python/make_torch_fixtures.py (torch.save from PyPI's torch; no Hub data)",
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "safetensors": safetensors.__version__, "transformers": transformers.__version__},
        "cpu": cpu(),
        "source_weights": "fixtures/tiny/model-pt/model.safetensors",
        "reproducible": "zip files byte for byte; legacy files name storages by memory address, so those keys "
                        "change from run to run",
        "files": files,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    for rel, info in files.items():
        print(f"{rel}: {info['bytes']} bytes")
    if committed is not None:
        problems = compare(out, committed)
        for p in problems:
            print("DIFFERENT:", p)
        print(f"compared with {committed}: {'ok' if not problems else str(len(problems)) + ' difference(s)'}")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
