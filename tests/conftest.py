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
# torch's OpenMP threads sleep while they wait instead of spinning (read when torch loads; this process and
# every one it starts): two pytest-xdist workers, each running torch on every core, spun on each other's
# cores, and a pair of `ser-hf evaluate` runs took 50-85 s instead of 7 (same results, same thread counts)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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


def pytest_collection_modifyitems(config, items):
    """Test files holding a ``slow`` test first, then the others by their number of tests (the order
    pytest-xdist gives by default); each file's tests stay together and in their order.

    ``make test`` runs ``--dist loadfile --no-loadscope-reorder``: each worker takes the next file
    in this order. xdist's own order (by number of tests alone) left the minutes-long files of few
    tests (the bench smoke test, the core-only venv) to the end, the other worker idle meanwhile."""
    files: dict[Path, list] = {}
    for item in items:
        files.setdefault(item.path, []).append(item)

    def heavy_first(path: Path) -> tuple[bool, int]:
        tests = files[path]
        return (not any(t.get_closest_marker("slow") for t in tests), -len(tests))

    items[:] = [item for path in sorted(files, key=heavy_first) for item in files[path]]
