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

# The start of every child: block `ser_hf` whatever sys.path holds (an editable install would put it
# there) and prove it is blocked.
BLOCK_SER_HF = r"""
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
"""

# Classifies through the remote code in each folder.
CHILD = (
    BLOCK_SER_HF
    + r"""
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
)


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


MODELS_DIR = Path(__file__).resolve().parents[1] / "ser_hf" / "models"

# Loads every class of each folder through transformers' own remote-code loader, then imports EVERY
# .py file of the folder from the copies that loader made.
IMPORT_ALL = (
    BLOCK_SER_HF
    + r"""
import importlib
from pathlib import Path
from transformers.dynamic_module_utils import get_class_from_dynamic_module

plan = json.loads(sys.argv[1])
results = {}
for folder, refs in plan.items():
    loaded, failed = set(), {}
    for ref in refs:
        try:  # transformers copies the class's file and its sibling imports to a package of their own
            module = sys.modules[get_class_from_dynamic_module(ref, folder).__module__]
        except Exception as err:
            failed[ref] = f"{type(err).__name__}: {err}"
            continue
        package = module.__name__.rsplit(".", 1)[0]
        for path in sorted(Path(module.__file__).parent.glob("*.py")):
            if path.stem == "__init__":
                continue
            try:
                importlib.import_module(f"{package}.{path.stem}")
                loaded.add(path.stem)
            except Exception as err:
                failed[f"{package}.{path.stem}"] = f"{type(err).__name__}: {err}"
    results[folder] = {"loaded": sorted(loaded), "failed": failed}
assert not any(m == "ser_hf" or m.startswith("ser_hf.") for m in sys.modules)
print("RESULT" + json.dumps(results))
"""
)


def sibling_closure(*modules: str) -> set[str]:
    """The ``.py`` files of ``ser_hf/models`` that ``modules`` need, following every single-dot
    import anywhere in each file (a lazy one inside a function counts), read from the syntax tree."""
    import ast

    needed, pending = set(), [f"{m}.py" for m in modules]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        for node in ast.walk(ast.parse((MODELS_DIR / name).read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                pending.append(f"{node.module}.py")
    return needed


def test_every_module_a_saved_model_needs_is_copied_and_imports_without_ser_hf(folders, tmp_path):
    """For every model type, the files ``save_pretrained`` copies (transformers' ``custom_object_save``
    for the config, the model and the extractor class) are exactly the modules those classes import,
    and each of them imports in a fresh process where ``ser_hf`` cannot be imported. A module split
    out of ``modeling_ser.py`` or ``feature_extraction_functionals.py`` that transformers did not copy,
    or that imports ``ser_hf``, fails here before a Hub user's ``pipeline(...)`` does."""
    from transformers.dynamic_module_utils import custom_object_save

    from ser_hf.models.auto import MODEL_TYPES

    plan = {}
    for classes in MODEL_TYPES:
        classes = [c for c in classes if c is not None]
        folder = tmp_path / "saved" / classes[0].model_type
        folder.mkdir(parents=True)
        for cls in classes:  # what save_pretrained does for a class registered for an Auto class
            custom_object_save(cls, folder)
        copied = {p.name for p in folder.glob("*.py")}
        assert copied == sibling_closure(*{c.__module__.rsplit(".", 1)[1] for c in classes}), classes
        plan[str(folder)] = [f"{c.__module__.rsplit('.', 1)[1]}.{c.__name__}" for c in classes]
    # the tiny models saved with save_pretrained hold every module their classes need, too
    for family, folder in folders.items():
        config = json.loads((folder / "config.json").read_text())
        refs = [config["auto_map"]["AutoConfig"], config["auto_map"]["AutoModelForAudioClassification"]]
        refs.append(
            json.loads((folder / "preprocessor_config.json").read_text())["auto_map"]["AutoFeatureExtractor"]
        )
        assert sibling_closure(*{r.split(".")[0] for r in refs}) <= {p.name for p in folder.glob("*.py")}, (
            family
        )
        plan[str(folder)] = refs
    assert {
        "modeling_layers.py",
        "modeling_base.py",
        "functionals_vector.py",
        "functionals_statistics.py",
    } <= {p.name for p in (tmp_path / "saved").rglob("*.py")}

    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    child = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_ALL, json.dumps(plan)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    results = json.loads(
        next(s for s in child.stdout.splitlines() if s.startswith("RESULT"))[len("RESULT") :]
    )
    for folder in plan:
        assert not results[folder]["failed"], (folder, results[folder]["failed"])
        assert set(results[folder]["loaded"]) == {p.stem for p in Path(folder).glob("*.py")}, folder
