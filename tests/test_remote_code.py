"""A saved folder classifies in a FRESH process where `ser_hf` cannot be imported
(`trust_remote_code=True`), with the same scores as in this process, for both families."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from conftest import make_speechlike
from test_pipeline import TINY, as_dict, save_tiny_model
from transformers import pipeline

REMOTE_FILES = {"configuration_ser.py", "modeling_ser.py", "feature_extraction_ser.py", "errors.py"}

# Runs in the child: block `ser_hf` whatever sys.path holds (an editable install would put it
# there), prove it is blocked, then classify through the remote code in each folder.
CHILD = r"""
import importlib.abc, json, sys

class BlockSerHf(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "ser_hf" or name.startswith("ser_hf."):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, BlockSerHf())
try:
    import ser_hf  # noqa: F401
    raise SystemExit("ser_hf was importable")
except ImportError:
    pass

from transformers import pipeline

wav, folders = sys.argv[1], sys.argv[2:]
results = {}
for folder in folders:
    classifier = pipeline("audio-classification", model=folder, trust_remote_code=True, device="cpu")
    results[folder] = {
        "model_module": type(classifier.model).__module__,
        "extractor_module": type(classifier.feature_extractor).__module__,
        "scores": {r["label"]: r["score"] for r in classifier(wav, top_k=None)},
    }
assert "ser_hf" not in sys.modules
print("RESULT" + json.dumps(results))
"""


def classify_without_ser_hf(wav: Path, folders: list[Path], tmp_path: Path) -> dict[str, dict]:
    """Run ``CHILD`` on ``wav`` with each folder in a fresh ``python -I`` where ``ser_hf`` is blocked;
    returns ``{folder: {"model_module", "extractor_module", "scores"}}``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    }
    # remote code is copied into HF_MODULES_CACHE: keep it inside the test's folder
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    child = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(wav), *map(str, folders)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    line = next(s for s in child.stdout.splitlines() if s.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    return {family: save_tiny_model(family, tmp_path_factory.mktemp(family)) for family in TINY}


def test_saved_folder_holds_code_weights_and_auto_map(folders):
    modeling = {
        "cnn_bilstm_attention": "modeling_ser.",
        "cnn_transformer": "modeling_ser.",
        "compact": "modeling_compact.",
    }
    for family, folder in folders.items():
        names = {p.name for p in folder.iterdir()}
        assert REMOTE_FILES <= names
        assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= names
        config = json.loads((folder / "config.json").read_text())
        assert config["auto_map"]["AutoConfig"].startswith("configuration_ser.")
        assert config["auto_map"]["AutoModelForAudioClassification"].startswith(modeling[family])
        extractor = json.loads((folder / "preprocessor_config.json").read_text())
        assert extractor["auto_map"]["AutoFeatureExtractor"] == "feature_extraction_ser.SERFeatureExtractor"
        # the copied sources must not reach back into the package
        for name in REMOTE_FILES:
            source = (folder / name).read_text()
            assert "import ser_hf" not in source and "from ser_hf" not in source


def test_fresh_process_without_package_gives_same_scores(folders, tmp_path):
    wav = tmp_path / "speech.wav"
    sf.write(wav, make_speechlike(seconds=1.3, seed=11), 16000, subtype="FLOAT")
    remote = classify_without_ser_hf(wav, [folders[family] for family in TINY], tmp_path)
    for family, folder in folders.items():
        result = remote[str(folder)]
        # the classes really came from the folder's copied code
        assert result["model_module"].startswith("transformers_modules."), result
        assert result["extractor_module"].startswith("transformers_modules."), result
        local = as_dict(
            pipeline("audio-classification", model=str(folder), device="cpu")(str(wav), top_k=None)
        )
        assert local.keys() == result["scores"].keys()
        assert max(abs(local[k] - result["scores"][k]) for k in local) <= 1e-5, (family, local, result)
