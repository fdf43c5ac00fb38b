from __future__ import annotations

import numpy as np
import pytest

from moodshuffle.library.decode import resample


@pytest.mark.parametrize("rate", [48000, 44100, 32000, 22050, 8000])
def test_resample_matches_scipy_resample_poly_the_models_were_trained_with(rate):
    scipy_signal = pytest.importorskip("scipy.signal")  # scipy is a training/test tool, not a runtime one
    from math import gcd

    x = np.random.default_rng(rate).normal(size=rate).astype(np.float32)
    g = gcd(rate, 16000)
    ref = scipy_signal.resample_poly(x, 16000 // g, rate // g)
    out = resample(x, rate, 16000)
    assert out.shape == ref.shape and out.dtype == np.float32
    assert np.abs(out - ref).max() < 1e-4


def test_resample_keeps_a_tone_below_nyquist():
    t = np.arange(48000) / 48000
    out = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), 48000, 16000)
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz: bin = Hz
