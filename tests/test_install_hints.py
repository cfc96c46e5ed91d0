"""The command an error gives for a missing optional extra installs it: ser-hf is not on PyPI, so the
`pip install 'ser-hf[onnx]'` that every hint used to give answered "No matching distribution found".

The suite runs from a clone (an editable install, or the checkout on PYTHONPATH), where the hint is
`pip install -e '<this clone>[EXTRA]'`; the other ways ser_hf gets installed are simulated."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from ser_hf.cli import main
from ser_hf.errors import SERError, install_hint
from ser_hf.models import errors as model_errors

REPO = Path(__file__).resolve().parents[1]


def _this_clone(extra: str) -> str:
    return f"pip install -e {shlex.quote(f'{REPO}[{extra}]')}"


def _assert_working_hint(text: str, extra: str) -> None:
    """``text`` gives the command that installs ``extra`` from this clone, and nothing that pip cannot find."""
    assert _this_clone(extra) in text, text
    assert "ser-hf[" not in text, text
    # the command is one a shell runs as pip install -e PATH[EXTRA], PATH this clone (pyproject.toml in it)
    words = shlex.split(text[text.index("pip install") :].split(" (")[0])[:4]
    assert words[:3] == ["pip", "install", "-e"] and words[3] == f"{REPO}[{extra}]", words
    assert (REPO / "pyproject.toml").is_file()


@pytest.fixture
def fresh_source(monkeypatch):
    model_errors._install_source.cache_clear()
    yield
    model_errors._install_source.cache_clear()


def test_onnx_inference_without_onnxruntime_gives_a_command_that_installs_it(monkeypatch, tmp_path):
    from ser_hf.inference.onnx_runtime import make_session

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(SERError, match="ONNX inference needs onnxruntime") as err:
        make_session(tmp_path / "model.onnx")
    _assert_working_hint(str(err.value), "onnx")


def test_a_command_that_needs_a_missing_extra_prints_a_command_that_installs_it(
    monkeypatch, capsys, tmp_path
):
    monkeypatch.setitem(sys.modules, "onnx", None)
    rc = main(["export", "--out", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert rc == 2 and "ser-hf export" in err and "Traceback" not in err, err
    _assert_working_hint(err, "onnx")


def test_a_module_missing_inside_a_command_prints_a_command_that_installs_its_extra(monkeypatch, capsys):
    """The CLI's catch-all for an optional module that no explicit check caught."""
    import ser_hf.cli.corpus

    def needs_sklearn(argv):
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")

    monkeypatch.setattr(ser_hf.cli.corpus, "cli", needs_sklearn)
    rc = main(["corpus"])
    err = capsys.readouterr().err
    assert rc == 2 and "needs sklearn" in err and "Traceback" not in err, err
    _assert_working_hint(err, "train")


def test_compare_functionals_without_opensmile_give_a_command_that_installs_it(monkeypatch):
    from ser_hf.training.functionals import FunctionalsExtractor

    monkeypatch.setitem(sys.modules, "opensmile", None)
    monkeypatch.setattr("ser_hf.models.functionals_vector._FUNCTIONAL_TOOLS", {})
    with pytest.raises(SERError, match="need openSMILE") as err:
        FunctionalsExtractor("compare+ours")
    _assert_working_hint(str(err.value), "opensmile")


def test_the_hint_follows_how_ser_hf_was_installed(monkeypatch, fresh_source, tmp_path):
    site = tmp_path / "site-packages" / "ser_hf"  # an installed copy: no pyproject.toml beside it
    site.mkdir(parents=True)
    monkeypatch.setattr(model_errors, "_package_folder", lambda: site)
    clone = tmp_path / "my clone"  # a space in the path: the command quotes it
    clone.mkdir()
    (clone / "pyproject.toml").write_text('[project]\nname = "ser-hf"\n')
    record: dict = {"url": clone.as_uri(), "dir_info": {}}
    monkeypatch.setattr(model_errors, "_direct_url", lambda: record)

    # pip install /path/to/clone: the same folder with the extra
    assert install_hint("onnx") == f"pip install '{clone}[onnx]'"
    assert shlex.split(install_hint("onnx")) == ["pip", "install", f"{clone}[onnx]"]
    # pip install -e from a clone elsewhere
    model_errors._install_source.cache_clear()
    record["dir_info"] = {"editable": True}
    assert install_hint("train") == f"pip install -e '{clone}[train]'"
    # from git
    model_errors._install_source.cache_clear()
    record.clear()
    record.update(url="https://github.com/o/ser_hf.git", vcs_info={"vcs": "git", "requested_revision": "v1"})
    assert install_hint("demo") == "pip install 'ser-hf[demo] @ git+https://github.com/o/ser_hf.git@v1'"
    # the clone it came from is gone, or nothing is known: README's words, never a PyPI name
    model_errors._install_source.cache_clear()
    record.clear()
    record.update(url=(tmp_path / "gone").as_uri(), dir_info={})
    hint = install_hint("onnx")
    assert hint == "pip install '.[onnx]' in your clone of the ser_hf repository (ser-hf is not on PyPI)"
    # a saved model's remote code where ser_hf is not installed: the package it needs, from PyPI
    model_errors._install_source.cache_clear()
    monkeypatch.setattr(model_errors, "_package_folder", lambda: None)
    record.clear()
    assert install_hint("opensmile", ("opensmile",)) == "pip install opensmile"


def test_cards_for_the_hub_name_a_command_that_works_there():
    """A generated card's ComParE sets, read on the Hub where the model runs as remote code."""
    from ser_hf.hub.descriptions import FUNCTIONALS_DESCRIPTIONS

    for name in ("compare", "compare+ours"):
        assert "`pip install opensmile`" in FUNCTIONALS_DESCRIPTIONS[name]
    cards = [*sorted((REPO / "ser_hf" / "bundled").glob("*/README.md")), REPO / "model_card.md"]
    assert not [c for c in cards if "ser-hf[" in c.read_text()], "a card names ser-hf[...], not on PyPI"


def test_a_missing_file_of_the_package_names_a_reinstall_that_works(tmp_path):
    """`pip install --force-reinstall ser-hf` (the voice encoder's missing weights) found nothing on PyPI."""
    from ser_hf.models.voice_encoder import load_weights

    with pytest.raises(SERError, match="weights are missing") as err:
        load_weights(tmp_path / "voice_encoder.safetensors", "voice encoder")
    text = str(err.value)
    assert f"pip install --force-reinstall -e {shlex.quote(str(REPO))}" in text and "ser-hf)" not in text, (
        text
    )
