"""Anti-aliased polyphase rate conversion between integer rates."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly

from emgse.errors import EmgseError


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Resample ``x`` along ``axis`` from ``fs_in`` to ``fs_out`` (``scipy.signal.resample_poly``)."""
    if fs_in == fs_out:
        return x
    if fs_in != int(fs_in) or fs_out != int(fs_out) or fs_in <= 0 or fs_out <= 0:
        raise EmgseError(f"cannot resample between {fs_in} Hz and {fs_out} Hz (integer rates only)")
    g = gcd(int(fs_in), int(fs_out))
    return resample_poly(x, int(fs_out) // g, int(fs_in) // g, axis=axis)
