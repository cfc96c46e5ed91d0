"""Shared test set-up: offline Hub, no telemetry, small generated audio.

Everything here runs on a 2-core CPU without network; no test needs ../shared.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")
# the per-clip feature cache goes to a folder of this test session, never the user's ~/.cache
if "SER_HF_CACHE" not in os.environ:
    import tempfile

    os.environ["SER_HF_CACHE"] = tempfile.mkdtemp(prefix="ser_hf_test_cache_")
# numba's on-disk cache of librosa's kernels (the pitch tracker's among them), one per pytest-xdist
# worker: two workers compiling into the fresh venv's one cache at once segfaulted in librosa.yin
if "PYTEST_XDIST_WORKER" in os.environ and "NUMBA_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix=f"numba_{os.environ['PYTEST_XDIST_WORKER']}_")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "demo" / "examples"


class Pipe:
    """A stream that cannot seek back (a socket, a pipe): read() gives its bytes once."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data


def make_tone(freq: float = 220.0, seconds: float = 1.0, sr: int = 16000, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_speechlike(seconds: float = 1.5, sr: int = 16000, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """A voiced-speech-like signal: harmonics of a wobbling F0, syllable-rate envelope, a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    env = 0.5 * (1 + np.sin(2 * np.pi * 4 * t - np.pi / 2))
    x = env * x + 0.02 * rng.standard_normal(t.size)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def save_tiny_bilstm(folder: Path, labels: list[str]) -> Path:
    """A tiny untrained (seeded) CNN-BiLSTM-Attention with ``labels``, saved with its extractor."""
    import torch

    from ser_hf.training.presets import build_model

    torch.manual_seed(0)
    model, fe = build_model(
        "seed-logmel-bilstm",
        labels,
        feature_overrides={"max_frames": None, "n_mels": 32},
        conv_channels=[4, 8],
        lstm_hidden_size=8,
    )
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny CNN-BiLSTM of 4 classes saved once per test module (``save_tiny_bilstm``); a module that
    needs another model defines its own ``model_dir``."""
    return save_tiny_bilstm(tmp_path_factory.mktemp("model"), ["neutral", "happy", "sad", "angry"])


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def tone() -> np.ndarray:
    return make_tone()


@pytest.fixture
def speechlike() -> np.ndarray:
    return make_speechlike()
