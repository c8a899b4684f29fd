#!/usr/bin/env python3
"""Writes the inputs of HF's slow LXMERT integration test (test_modeling_tf_lxmert.py,
test_inference_masked_lm) and its published expected slice, so the Java test can run it against a real
unc-nlp/lxmert-base-uncased directory without re-implementing numpy's MT19937.

Usage: write_integration_inputs.py OUT_DIR
"""
import json
import os
import sys

import numpy as np


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    input_ids = np.array([[101, 345, 232, 328, 740, 140, 1695, 69, 6078, 1588, 102]], np.int32)
    np.random.seed(0)
    visual_feats = np.random.rand(1, 10, 2048).astype(np.float32)
    np.random.seed(0)
    visual_pos = np.random.rand(1, 10, 4).astype(np.float32)
    np.save(os.path.join(out, "input_ids.npy"), input_ids)
    np.save(os.path.join(out, "visual_feats.npy"), visual_feats)
    np.save(os.path.join(out, "visual_pos.npy"), visual_pos)
    expected = {
        "source": "transformers tests/models/lxmert/test_modeling_tf_lxmert.py, TFLxmertModel on "
                  "unc-nlp/lxmert-base-uncased; language_output[0, :3, :3], atol 1e-4",
        "language_output_slice": [[0.24170142, -0.98075, 0.14797261],
                                  [1.2540525, -0.83198136, 0.5112344],
                                  [1.4070463, -1.1051831, 0.6990401]],
        "atol": 1e-4,
        "numpy": np.__version__,
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
