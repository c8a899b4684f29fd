#!/usr/bin/env python3
"""Writes the small HDF5 files the reliability tests need and cannot write from Java (jhdf has no float16 and
no empty string-array attributes). Each file follows the layout tf-keras' legacy HDF5 weights format uses
(root attribute layer_names, one group per layer with weight_names, datasets at <layer>/<full weight name>),
written by h5py as Keras does, so the reader sees what a real checkpoint looks like.

Usage: parity-tests/python/make_hostile_files.py [OUT_DIR]   (default: parity-tests/fixtures/hostile)
Needs numpy and h5py (the reference venv has both). The outputs are committed; rerunning must not change them
except for HDF5 timestamps, which h5py does not write by default (track_times is off below).
"""
import os
import sys

import h5py
import numpy as np


def keras_file(path, layers):
    """layers: list of (layer name, list of (weight name, numpy array, dataset kwargs)) or None for no attr."""
    with h5py.File(path, "w", libver="earliest", track_order=False) as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.18.0"
        f.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        for name, weights in layers:
            g = f.create_group(name, track_order=False)
            if weights is None:
                continue
            if weights:
                g.attrs["weight_names"] = np.array([w.encode() for w, _, _ in weights])
            else:
                g.attrs["weight_names"] = np.array([], dtype=np.float32)  # what Keras writes for no weights
            for w, arr, kw in weights:
                g.create_dataset(w, data=arr, track_times=False, **kw)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "hostile")
    os.makedirs(out, exist_ok=True)
    p = "model/lxmert/"
    f16 = np.array([0.0, -0.0, 1.0, -2.0, 65504.0, 2.0 ** -14, 2.0 ** -24, np.inf, -np.inf, np.nan, 1 / 3, -1.5],
                   dtype=np.float16)
    f64 = np.array([0.0, -0.0, 1.0, 1 / 3, 1e-40, 3.4028234663852886e38, 1e300, -1e300, np.nan, 0.1],
                   dtype=np.float64)
    f32be = np.array([1.5, -2.25, 3.4e38, 1e-45], dtype=">f4")
    f64be = np.array([[0.1, -0.2], [1e-300, 2.5]], dtype=">f8")
    chunked = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    keras_file(os.path.join(out, "dtypes.h5"), [
        ("lxmert", [
            (p + "f16:0", f16, {}),
            (p + "f64:0", f64, {}),
            (p + "f32be:0", f32be, {}),
            (p + "f64be:0", f64be, {}),
            (p + "f32_chunked_gzip:0", chunked, {"chunks": (2, 2), "compression": "gzip"}),
            (p + "f16_chunked:0", chunked.astype(np.float16), {"chunks": (1, 4)}),
        ]),
        ("empty_layer", []),
    ])
    keras_file(os.path.join(out, "int_dataset.h5"), [
        ("lxmert", [(p + "ids:0", np.arange(6, dtype=np.int32), {})]),
    ])
    keras_file(os.path.join(out, "no_weight_names.h5"), [
        ("lxmert", [(p + "a:0", np.ones(3, np.float32), {})]),
        ("cls", None),
    ])
    with h5py.File(os.path.join(out, "dangling_weight_name.h5"), "w", libver="earliest") as f:
        f.attrs["layer_names"] = np.array([b"lxmert"])
        g = f.create_group("lxmert")
        g.attrs["weight_names"] = np.array([(p + "a:0").encode(), (p + "not_there:0").encode()])
        g.create_dataset(p + "a:0", data=np.ones(3, np.float32), track_times=False)
    with h5py.File(os.path.join(out, "missing_group.h5"), "w", libver="earliest") as f:
        f.attrs["layer_names"] = np.array([b"lxmert", b"answer_head"])
        g = f.create_group("lxmert")
        g.attrs["weight_names"] = np.array([(p + "a:0").encode()])
        g.create_dataset(p + "a:0", data=np.ones(3, np.float32), track_times=False)
    with h5py.File(os.path.join(out, "no_layer_names.h5"), "w", libver="earliest") as f:
        f.create_dataset("weights", data=np.ones(3, np.float32), track_times=False)
    for name in sorted(os.listdir(out)):
        print(f"{name}: {os.path.getsize(os.path.join(out, name))} bytes")


if __name__ == "__main__":
    main()
