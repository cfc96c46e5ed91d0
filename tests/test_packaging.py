"""What the sdist and the wheel say and ship, checked on the files (no build): MANIFEST.in read by
setuptools' own template reader, pyproject's licence metadata, LICENSE, ``python -m ser_hf``."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"  # apache.org's LICENSE-2.0.txt, unmodified


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_sdist_ships_a_test_suite_that_runs_and_the_licence(monkeypatch):
    """The sdist took tests/test_*.py (setuptools' default) but not conftest.py or fake_hub.py, which
    every test imports, nor the files the tests read, and no LICENSE: there was no MANIFEST.in."""
    from setuptools.command.egg_info import FileList

    monkeypatch.chdir(REPO)  # the template's patterns are globbed from the project's root, as sdist does
    files = FileList()
    for line in (REPO / "MANIFEST.in").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            files.process_template_line(line)
    shipped = {Path(f).as_posix() for f in files.files}
    needed = {p.relative_to(REPO).as_posix() for p in (REPO / "tests").glob("*.py")}
    needed |= {p.relative_to(REPO).as_posix() for p in (REPO / "demo" / "examples").glob("*.flac")}
    needed |= {"tests/conftest.py", "tests/fake_hub.py", "LICENSE", "README.md", "constraints.txt"}
    needed |= {"model_card.md", "Makefile", "demo/app.py", "demo/requirements.txt", "demo/README.md"}
    needed |= {"scripts/train.py", "benchmarks/functionals_cv.py", "benchmarks/ensemble_cv.py"}
    needed |= {"benchmarks/bench_robustness.py"}
    needed |= {
        f"benchmarks/results/{run}/cv_results.json"
        for run in (
            "cv_fusion",
            "cv_speech_stats",
            "xc_turn_encoder_2_voices_crops",
            "cv3_transformer_seed42",
        )
    }
    assert needed <= shipped, sorted(needed - shipped)
    assert not {f for f in shipped if f.startswith("tests/_artifacts/") or "__pycache__" in f}


def test_the_licence_is_an_spdx_expression_with_its_files_and_the_apache_text():
    """pyproject's `license = {text = ...}` is deprecated (setuptools stops reading it by 2027-02-18)
    and there was no LICENSE file, although Apache-2.0 requires its text to ship with the code."""
    text = (REPO / "LICENSE").read_bytes()
    assert hashlib.md5(text).hexdigest() == APACHE_2_MD5, "LICENSE is not the unmodified Apache-2.0 text"
    project = _pyproject()["project"]
    licence = project["license"]
    assert isinstance(licence, str) and "Apache-2.0" in licence.split(" AND ")
    # the bundled weights' terms are part of what the wheel holds
    assert {"CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0"} <= set(licence.split(" AND "))
    licenses = pytest.importorskip("packaging.licenses")
    assert licenses.canonicalize_license_expression(licence) == licence
    for pattern in project["license-files"]:
        assert list(REPO.glob(pattern)), pattern
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]  # PEP 639
    assert any(
        r.replace(" ", "").startswith("setuptools>=77") for r in _pyproject()["build-system"]["requires"]
    )


def test_python_m_ser_hf_runs_the_cli():
    """`python -m ser_hf` said "No module named ser_hf.__main__"."""
    proc = subprocess.run(
        [sys.executable, "-m", "ser_hf", "--version"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.startswith("ser-hf "), proc.stderr[-2000:]
