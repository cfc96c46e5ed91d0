"""Speech too noisy for the model: ``classify`` and ``timeline`` estimate how far the speech stands above
the noise and warn once per clip or recording under ``NOISY_SNR_DB`` (session 43: a probe's call under
steady line noise drifted to ``disgust``/``fearful`` without a word)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.inference.levels import NOISY_SNR_DB, snr_db

SR = 16000
TOLD = "noisy speech"


def with_noise(wave: np.ndarray, snr: float, seed: int = 1) -> np.ndarray:
    """``wave`` plus white noise at ``snr`` dB against its mean power (silences included)."""
    power = float(np.mean(wave.astype(np.float64) ** 2))
    noise = np.random.default_rng(seed).standard_normal(wave.size) * np.sqrt(power / 10 ** (snr / 10))
    return (wave + noise).astype(np.float32)


@pytest.fixture(scope="module")
def clf(model_dir) -> EmotionClassifier:
    return EmotionClassifier(model_dir, device="cpu")


def test_the_estimate_falls_with_the_noise_and_ignores_digital_silence():
    speech = make_speechlike(3.0)
    clean, n20, n0 = snr_db(speech), snr_db(with_noise(speech, 20)), snr_db(with_noise(speech, 0))
    assert clean is not None and n20 is not None and n0 is not None
    assert clean > n20 > NOISY_SNR_DB > n0, (clean, n20, n0)
    # pauses of digital zeros are no noise floor: the clip reads as its speech does, not as clean
    gapped = np.concatenate(
        [with_noise(speech, 0), np.zeros(3 * SR, np.float32), with_noise(speech, 0, seed=2)]
    )
    assert snr_db(gapped) < NOISY_SNR_DB
    assert snr_db(np.zeros(SR, np.float32)) is None  # digital silence: nothing to tell


def test_classify_warns_once_for_a_noisy_clip_naming_it_and_not_for_a_clean_one(clf, tmp_path, caplog):
    speech = make_speechlike(3.0)
    sf.write(tmp_path / "clean.wav", speech, SR)
    sf.write(tmp_path / "noisy.wav", with_noise(speech, 0), SR)
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        clf.classify(tmp_path / "clean.wav")
    assert TOLD not in caplog.text, caplog.text
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        clf.classify(tmp_path / "noisy.wav")
    told = [r.getMessage() for r in caplog.records if TOLD in r.getMessage()]
    assert len(told) == 1, caplog.text
    estimate = snr_db(with_noise(speech, 0))
    assert "noisy.wav" in told[0] and f"{estimate:.1f} dB" in told[0] and "disgust" in told[0], told[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):  # in a batch: the noisy clip alone, once
        clf.classify_batch([tmp_path / "clean.wav", tmp_path / "noisy.wav"])
        clf.classify(tmp_path / "noisy.wav", warn=False)  # a caller that warns itself turns it off
    told = [r.getMessage() for r in caplog.records if TOLD in r.getMessage()]
    assert len(told) == 1 and "noisy.wav" in told[0] and "clean.wav" not in told[0], told


def _call(noise_db: float | None) -> np.ndarray:
    """16 s: loud turns and quiet ones (20 dB softer) with pauses, steady white noise at ``noise_db`` dBFS."""
    rng = np.random.default_rng(0)
    parts = []
    for k in range(4):
        turn = make_speechlike(2.0, seed=k) * (1.0 if k % 2 == 0 else 0.1)
        parts += [turn, np.zeros(2 * SR, np.float32)]
    x = np.concatenate(parts)
    if noise_db is not None:
        x = x + (rng.standard_normal(x.size) * 10 ** (noise_db / 20)).astype(np.float32)
    return x


def test_a_timeline_warns_once_when_its_quiet_speech_drowns_though_its_loud_speech_does_not(
    clf, tmp_path, caplog
):
    # the quiet turns peak about 10 dB over the noise, the loud ones about 30
    sf.write(tmp_path / "call.wav", _call(-46.0), SR)
    sf.write(tmp_path / "clean_call.wav", _call(None), SR)
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        clean = clf.timeline(tmp_path / "clean_call.wav", min_speech_s=None)
    assert TOLD not in caplog.text, caplog.text
    assert clean.snr_db is not None and clean.snr_db >= NOISY_SNR_DB
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        tl = clf.timeline(tmp_path / "call.wav", min_speech_s=None)
    told = [r.getMessage() for r in caplog.records if TOLD in r.getMessage()]
    assert len(told) == 1 and "call.wav" in told[0], caplog.text  # one warning a recording, not a window
    classified = [w for w in tl.windows if not w["silent"]]
    under = [w for w in classified if w["snr_db"] < NOISY_SNR_DB]
    assert f"in {len(under)} of {len(classified)} classified windows" in told[0], told[0]
    loud = max(w["snr_db"] for w in classified)
    assert loud > NOISY_SNR_DB > tl.snr_db, (loud, tl.snr_db)  # the loud turns alone would pass
    assert tl.to_dict()["snr_db"] == tl.snr_db
    assert all(w["snr_db"] is None for w in tl.windows if w["silent"])
