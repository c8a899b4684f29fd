"""The project's tolerance model on the Python side, the same rule as io.github.tflxmert.parity.Tolerance:
element-wise |actual - expected| <= atol + rtol * |expected| (torch.testing.assert_close's float32 defaults),
NaN only where NaN is expected, infinities exactly. Used by the reference writer's self-checks, the drift check
of regenerated fixtures and the check of Java exports loaded in Python."""
import platform

import numpy as np

RTOL = 1.3e-6
ATOL = 1e-5
# How many times Python's own eager-vs-traced deviation a tensor may deviate under the noise rule.
NOISE_FACTOR = 2.0


def max_abs(a, b):
    """Largest |a - b| over finite pairs (0 for empty arrays)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    finite = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a - b)[finite])) if finite.any() else 0.0


def check(actual, expected, rtol=RTOL, atol=ATOL, noise=None):
    """None when `actual` matches `expected` under the tolerance model (or, where the fixed tolerance breaks,
    within NOISE_FACTOR x `noise`, Python's own deviation for the tensor); else a one-line reason."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        return f"shape {a.shape}, expected {e.shape}"
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    if (nan_a != nan_e).any():
        return f"NaN misplaced at {np.argwhere(nan_a != nan_e)[0].tolist()}"
    inf = np.isinf(a64) | np.isinf(e64)
    if (inf & (a64 != e64)).any():
        return f"infinity misplaced at {np.argwhere(inf & (a64 != e64))[0].tolist()}"
    finite = ~(nan_a | inf)
    over = finite & (np.abs(a64 - e64) > atol + rtol * np.abs(e64))
    if not over.any():
        return None
    d = max_abs(a64, e64)
    if noise and d <= NOISE_FACTOR * noise:
        return None
    i = np.argwhere(over)[0].tolist()
    return (f"{int(over.sum())} of {a.size} elements over atol {atol:g} + rtol {rtol:g} * |expected| (max abs "
            f"{d:.3g}; first at {i}: {float(a64[tuple(i)])!r} vs {float(e64[tuple(i)])!r})")


def machine():
    """The CPU that computed a reference: model name and the instruction-set flags that change TF's kernels."""
    info = {"machine": platform.machine(), "cpu": "", "isa_flags": ""}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        for line in text.splitlines():
            if line.startswith("model name") and not info["cpu"]:
                info["cpu"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                keep = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile",
                        "amx_bf16", "amx_int8")
                info["isa_flags"] = " ".join(k for k in keep if k in flags)
                break
    except OSError:
        pass
    return info
