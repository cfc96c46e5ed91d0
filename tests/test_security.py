"""Issue 6 items 2 (atomic save, corrupt weights) and 4: loading is safe.

Pickled weights are refused everywhere (Python API, demo, CLI) and never unpickled; ``ser_hf`` code
never enables ``trust_remote_code`` itself nor calls ``torch.load`` without ``weights_only=True``; a
corrupt ``model.safetensors`` gives a ``SERError`` naming it; an interrupted save never leaves a
folder that loads mixed weights.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import REPO, make_speechlike

from ser_hf.errors import SERError
from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.training.presets import build_model

LABELS = ["neutral", "happy", "sad", "angry"]
PACKAGE = REPO / "ser_hf"


def _tiny(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(
        "seed-logmel-bilstm",
        LABELS,
        feature_overrides={"max_frames": None, "n_mels": 32},
        conv_channels=[4, 8],
        lstm_hidden_size=8,
    )


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory) -> Path:
    model, fe = _tiny()
    folder = tmp_path_factory.mktemp("good_model")
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


class _Payload:
    """Unpickling this runs ``exec``: it creates the marker file (what a malicious checkpoint does)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.fixture()
def pickle_dir(good_dir, tmp_path) -> tuple[Path, Path]:
    """A complete model folder whose only weights are a pickle carrying a code-running payload."""
    folder = tmp_path / "pickled_model"
    shutil.copytree(good_dir, folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "PWNED"
    torch.save({"payload": _Payload(marker)}, folder / "pytorch_model.bin")
    assert not marker.exists()
    return folder, marker


def test_the_pickle_payload_is_live(pickle_dir):
    """Guard for the tests below: this file really runs code when unpickled without weights_only."""
    folder, marker = pickle_dir
    torch.load(folder / "pytorch_model.bin", weights_only=False)
    assert marker.exists()


def test_pickled_weights_refused_by_the_python_api(pickle_dir):
    folder, marker = pickle_dir
    with pytest.raises(SERError) as err:
        EmotionClassifier(folder, device="cpu")
    assert str(folder) in str(err.value)
    assert "pytorch_model.bin" in str(err.value) and "safetensors" in str(err.value)
    with pytest.raises(SERError):
        EmotionClassifier.from_pretrained(str(folder), device="cpu")
    assert not marker.exists()


def test_pickled_weights_refused_by_the_demo(pickle_dir):
    from test_demo import load_app

    folder, marker = pickle_dir
    app = load_app()
    classifier, message = app.load_classifier(str(folder))
    assert classifier is None
    assert "pytorch_model.bin" in message and "safetensors" in message
    assert not marker.exists()


def test_pickled_weights_refused_by_predict_cli(pickle_dir, tmp_path, capsys):
    import soundfile as sf

    from ser_hf.cli import main

    folder, marker = pickle_dir
    clip = tmp_path / "clip.wav"
    sf.write(clip, make_speechlike(1.0), 16000)
    # in-process (the subprocess path is covered by test_bad_inputs): main() is what `ser-hf` runs
    code = main(["predict", "--model", str(folder), "--device", "cpu", str(clip)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("ser-hf predict: error:") and "pytorch_model.bin" in err and "safetensors" in err
    assert not marker.exists()


# ----------------------------------------------------------------------------- static checks
def _package_sources() -> dict[Path, str]:
    files = sorted(p for p in PACKAGE.rglob("*.py") if "bundled" not in p.parts)
    assert len(files) > 10
    return {p: p.read_text() for p in files}


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """Calls whose function is ``name`` or ``something.name``."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr == name) or (
                isinstance(f, ast.Name) and f.id == name
            ):
                out.append(node)
    return out


def test_no_code_enables_trust_remote_code_by_itself():
    """``trust_remote_code=True`` may appear in docs and messages, never as a literal call argument."""
    offenders = []
    for path, text in _package_sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if (
                        kw.arg == "trust_remote_code"
                        and isinstance(kw.value, ast.Constant)
                        and kw.value.value
                    ):
                        offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_every_torch_load_uses_weights_only():
    offenders = []
    for path, text in _package_sources().items():
        for call in _calls(ast.parse(text), "load"):
            f = call.func
            if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch"):
                continue
            weights_only = [kw for kw in call.keywords if kw.arg == "weights_only"]
            if not (
                weights_only
                and isinstance(weights_only[0].value, ast.Constant)
                and weights_only[0].value.value
            ):
                offenders.append(f"{path.name}:{call.lineno}")
        # aliases (``from torch import load``) would dodge the check above: there must be none
        assert not re.search(r"from torch import[^\n]*\bload\b", text), path.name
        assert "pickle.load" not in text, path.name
    assert offenders == []


# ----------------------------------------------------------------------------- corrupt weights
@pytest.mark.parametrize("damage", ["truncated_half", "truncated_header", "random_bytes", "empty"])
def test_corrupt_safetensors_gives_a_clear_error(good_dir, tmp_path, damage):
    folder = tmp_path / damage
    shutil.copytree(good_dir, folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    damaged = {
        "truncated_half": data[: len(data) // 2],
        "truncated_header": data[:30],
        "random_bytes": os.urandom(4096),
        "empty": b"",
    }[damage]
    weights.write_bytes(damaged)
    with pytest.raises(SERError) as err:
        EmotionClassifier.from_pretrained(folder, device="cpu")
    assert "model.safetensors" in str(err.value)
    assert "corrupt or truncated" in str(err.value)


# ----------------------------------------------------------------------------- atomic save
def _fake_trainer(model, fe) -> SimpleNamespace:
    """What ``save_final_model`` uses of a trainer: the accelerator's unwrap and the extractor."""
    return SimpleNamespace(
        model=model, feature_extractor=fe, accelerator=SimpleNamespace(unwrap_model=lambda m: m)
    )


def _scores(folder: Path) -> list[dict]:
    return EmotionClassifier(folder, device="cpu").classify(make_speechlike(1.0, seed=7))


def test_crash_while_writing_the_new_model_keeps_the_old_one(tmp_path, monkeypatch):
    from ser_hf.training import saving

    old_model, old_fe = _tiny(seed=0)
    out = tmp_path / "model"
    saving.save_final_model(_fake_trainer(old_model, old_fe), out)
    before = _scores(out)

    new_model, new_fe = _tiny(seed=1)

    def crash(self, *args, **kwargs):  # the weights are already in the temp folder: half a save
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(type(new_fe), "save_pretrained", crash)
    with pytest.raises(OSError, match="simulated"):
        saving.save_final_model(_fake_trainer(new_model, new_fe), out)
    assert _scores(out) == before  # the previous model, untouched
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp or backup folder left


def test_crash_while_moving_files_never_loads_mixed_weights(tmp_path, monkeypatch):
    from ser_hf.training import saving

    old_model, old_fe = _tiny(seed=0)
    out = tmp_path / "model"
    saving.save_final_model(_fake_trainer(old_model, old_fe), out)
    before = _scores(out)
    new_model, new_fe = _tiny(seed=1)
    real_replace, moved = os.replace, []

    def replace_then_crash(src, dst):
        if moved:  # the first file goes in, the second move fails
            raise OSError("killed mid-save (simulated)")
        moved.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(saving.os, "replace", replace_then_crash)
    with pytest.raises(OSError, match="simulated"):
        saving.save_final_model(_fake_trainer(new_model, new_fe), out)
    monkeypatch.undo()
    assert moved and moved[0] != "config.json"  # config.json moves last
    # half-written: the folder refuses to load instead of mixing old and new files, and says where
    # the previous model is; that backup is complete and gives the old scores
    with pytest.raises(SERError, match="previous-model"):
        EmotionClassifier(out, device="cpu")
    assert _scores(out / saving.PREVIOUS_MODEL_DIR) == before
    saving.save_final_model(_fake_trainer(new_model, new_fe), out)  # a retry completes it
    assert _scores(out) != before and not (out / saving.PREVIOUS_MODEL_DIR).exists()


def test_a_model_of_another_family_saved_over_a_folder_leaves_none_of_the_old_code(tmp_path):
    from ser_hf.training import saving

    out = tmp_path / "model"
    compact, fe = build_model("compact", LABELS)
    saving.save_model_folder(compact, fe, out)
    assert (out / "modeling_compact.py").is_file()
    (out / "turn_encoder_LICENSE.txt").write_text("an encoder's licence, as a turn-encoder model ships it")
    model, fe = _tiny(seed=1)
    saving.save_model_folder(model, fe, out)
    fresh = tmp_path / "fresh"
    saving.save_model_folder(model, fe, fresh)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in fresh.iterdir())
    assert _scores(out) == _scores(fresh)


# ----------------------------------------------------------------------------- untrusted folders
@pytest.fixture()
def evil_dir(good_dir, tmp_path) -> tuple[Path, Path]:
    """A model folder of an unregistered type whose auto_map names its own code (what a downloaded
    folder can carry): importing that code creates the marker file."""
    import json

    folder = tmp_path / "evil"
    shutil.copytree(good_dir, folder)
    marker = tmp_path / "MARKER"
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "evil_type"
    config["auto_map"] = {"AutoConfig": "evil_code.C", "AutoModelForAudioClassification": "evil_code.M"}
    (folder / "config.json").write_text(json.dumps(config))
    extractor = json.loads((folder / "preprocessor_config.json").read_text())
    extractor["auto_map"] = {"AutoFeatureExtractor": "evil_code.F"}
    (folder / "preprocessor_config.json").write_text(json.dumps(extractor))
    (folder / "evil_code.py").write_text(f"open({str(marker)!r}, 'w').close()\nC = M = F = None\n")
    return folder, marker


def _cli(argv: list[str], capsys, monkeypatch) -> tuple[int, str]:
    """``ser-hf ARGV`` in-process with "y" answers waiting on stdin (transformers' remote-code prompt
    reads them: a piped "y" ran the folder's code)."""
    import io

    from ser_hf.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("y\ny\ny\n"))
    code = main(argv)
    return code, capsys.readouterr().err


def _corpus(tmp_path: Path) -> Path:
    import soundfile as sf

    for emotion in ("happy", "sad"):
        (tmp_path / "corpus" / emotion).mkdir(parents=True)
        sf.write(tmp_path / "corpus" / emotion / "a.wav", make_speechlike(1.0), 16000)
    return tmp_path / "corpus"


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_evaluate_and_export_never_run_a_folders_code(command, evil_dir, tmp_path, capsys, monkeypatch):
    """`ser-hf evaluate/export --model FOLDER` loaded without trust_remote_code=False: with "y" on
    stdin transformers RAN the folder's code (then a raw traceback). predict refused it already."""
    folder, marker = evil_dir
    argv = {
        "evaluate": ["--corpus", f"mine={_corpus(tmp_path)}", "--out", str(tmp_path / "out")],
        "export": ["--out", str(tmp_path / "m.onnx")],
    }[command]
    code, err = _cli([command, "--model", str(folder), *argv], capsys, monkeypatch)
    assert not marker.exists()
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"ser-hf {command}: error: {folder}:")
    assert "code of its own" in err and "evil_code" in err and "--trust-remote-code" in err


def test_no_loader_runs_a_folders_code(evil_dir, monkeypatch):
    """Every other place that loads a model folder: distill's teacher, fusion members, --backbone,
    the Python API, a model card's parameter count."""
    import io

    import numpy as np

    from ser_hf.hub.cards import _trained_parameters
    from ser_hf.inference.fusion import build_fusion
    from ser_hf.training.backbone import build_backbone_model
    from ser_hf.training.distill import teacher_probabilities
    from ser_hf.training.evaluation import load_model

    folder, marker = evil_dir
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n" * 20))
    for load in (
        lambda: teacher_probabilities(folder, [np.zeros(16000, np.float32)], LABELS),
        lambda: build_fusion([folder, folder]),
        lambda: build_backbone_model(str(folder), LABELS),
        lambda: load_model(folder, "cpu"),
        lambda: EmotionClassifier(folder, device="cpu"),  # refused before, with transformers' words
    ):
        with pytest.raises(Exception) as err:
            load()
        assert not marker.exists()
        assert isinstance(err.value, SERError) and "code of its own" in str(err.value)
    _trained_parameters(folder)  # counts the weights file instead
    assert not marker.exists()


def test_every_from_pretrained_goes_through_the_safe_loader():
    """`from_pretrained` without trust_remote_code=False asks on stdin and runs the folder's code on
    "y"; without use_safetensors=True it unpickles. Only training/loading.py calls it (and passes
    both for weights); `from_config` passes trust_remote_code; no transformers `pipeline(...)`."""
    offenders = []
    for path, text in _package_sources().items():
        tree = ast.parse(text)
        for call in _calls(tree, "from_pretrained") + _calls(tree, "from_config") + _calls(tree, "pipeline"):
            where = f"{path.relative_to(PACKAGE)}:{call.lineno}"
            owner = call.func.value if isinstance(call.func, ast.Attribute) else None
            if isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "super":
                continue  # a class's own override handing on to transformers' (with its kwargs)
            keywords = {kw.arg: kw.value for kw in call.keywords}
            trusted = keywords.get("trust_remote_code")
            if trusted is None or (isinstance(trusted, ast.Constant) and trusted.value):
                offenders.append(where)
            elif getattr(call.func, "attr", "") == "from_pretrained" and path.name != "loading.py":
                offenders.append(where)
            elif (
                "Model" in ast.unparse(owner or call.func)
                and getattr(call.func, "attr", "") == "from_pretrained"
            ):
                if ast.unparse(keywords.get("use_safetensors", ast.Constant(None))) != "True":
                    offenders.append(f"{where} (use_safetensors)")
    assert offenders == []


def test_pickled_weights_refused_by_evaluate_and_export(pickle_dir, tmp_path, capsys, monkeypatch):
    """`ser-hf evaluate --model FOLDER` with only pytorch_model.bin ended in a raw UnpicklingError
    traceback (torch.load weights_only); export said "no file named model.safetensors"."""
    folder, marker = pickle_dir
    for argv in (
        [
            "evaluate",
            "--model",
            str(folder),
            "--corpus",
            f"mine={_corpus(tmp_path)}",
            "--out",
            str(tmp_path / "o"),
        ],
        ["export", "--model", str(folder), "--out", str(tmp_path / "m.onnx")],
    ):
        code, err = _cli(argv, capsys, monkeypatch)
        assert code == 2 and "Traceback" not in err, err[-2000:]
        assert err.startswith(f"ser-hf {argv[0]}: error: {folder}: only pickled weights (pytorch_model.bin)")
        assert "safetensors only because pickle files can run code" in err
        assert not marker.exists()


@pytest.mark.parametrize("text", ["[" * 200000, "[1, 2]", "{not json"])
def test_an_unreadable_config_json_is_named(text, good_dir, tmp_path, capsys, monkeypatch):
    """A config.json nested 200,000 deep was "the weights do not fit config.json (another model's
    config...): maximum recursion depth exceeded"."""
    from ser_hf.training.evaluation import load_model

    folder = tmp_path / "deep"
    shutil.copytree(good_dir, folder)
    (folder / "config.json").write_text(text)
    config = folder / "config.json"
    for load in (lambda: EmotionClassifier(folder, device="cpu"), lambda: load_model(folder, "cpu")):
        with pytest.raises(SERError, match="config.json cannot be read") as err:
            load()
        assert str(err.value).startswith(f"{config}: ")
        assert "weights do not fit" not in str(err.value)
    if text.startswith("[["):
        assert "nested too deeply" in str(err.value)
    code, err = _cli(
        ["export", "--model", str(folder), "--out", str(tmp_path / "m.onnx")], capsys, monkeypatch
    )
    assert code == 2 and err.startswith(f"ser-hf export: error: {config}: config.json cannot be read")
