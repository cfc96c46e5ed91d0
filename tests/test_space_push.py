"""``ser-hf push-space`` against the local TEST FIXTURE server in ``tests/fake_hub.py`` (not the
real Hub, and no Space is built or run there).

demo/requirements.txt asked for ``ser-hf[demo]>=0.1.0``, which no index holds (ser-hf is not on
PyPI), so a Space made of demo/ failed at its ``pip install -r requirements.txt``, and the package
had no way to put the demo on the Hub. A Space's build mounts requirements.txt alone (the Space's
other files are copied in after the install), so the wheel is named by its URL on the Hub: the
test resolves the uploaded requirements.txt with pip (``--dry-run``, nothing installed) against the
fake server, as the Space's build would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fake_hub import FakeHub

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = REPO_ROOT / "demo"
SPACE = "user/ser-demo"


def _cli(hub: FakeHub, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = hub.client_env(home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, "-m", "ser_hf.cli", "push-space", *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as server:
        yield server


@pytest.fixture(scope="module")
def space(hub, tmp_path_factory):
    """The demo pushed once, with a model named by its Hub id."""
    home = tmp_path_factory.mktemp("space")
    proc = _cli(hub, home, "--repo-id", SPACE, "--model", "user/ser-model")
    assert proc.returncode == 0, f"routes the fake hub lacked: {hub.unhandled}\n{proc.stderr[-4000:]}"
    return {"home": home, "stdout": proc.stdout, "files": dict(hub.repos[("space", SPACE)].commits[-1].files)}


def test_the_space_holds_the_demo_and_a_wheel_of_ser_hf(space, hub):
    repo = hub.repos[("space", SPACE)]
    assert repo.sdk == "gradio" and not repo.private
    files = space["files"]
    assert files["app.py"].content == (DEMO / "app.py").read_bytes()
    assert files["README.md"].content == (DEMO / "README.md").read_bytes()  # sdk: gradio, app_file
    assert files["packages.txt"].content == (DEMO / "packages.txt").read_bytes()  # ffmpeg
    clips = {f"examples/{p.name}" for p in (DEMO / "examples").glob("*.flac")}
    assert clips and clips <= set(files)
    wheels = [p for p in files if p.startswith("wheels/")]
    assert len(wheels) == 1 and wheels[0].startswith("wheels/ser_hf-") and wheels[0].endswith(".whl")
    assert repo.variables == {"SER_HF_MODEL": "user/ser-model"}
    assert f"{hub.url}/spaces/{SPACE}" in space["stdout"]


def test_the_spaces_requirements_resolve_with_pip_to_the_uploaded_wheel(space, hub, tmp_path):
    """What the Space's build does (``pip install -r requirements.txt``, from an empty folder): here a
    dry run without dependencies, so nothing is installed."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")

    files = space["files"]
    requirements = files["requirements.txt"].content.decode()
    assert "ser-hf[demo]>=" not in requirements  # the line no index can resolve
    assert "gradio>=6.0,<7" in requirements  # the demo's other lines are kept
    from packaging.requirements import Requirement

    lines = [line for line in requirements.splitlines() if line.strip() and not line.startswith(("#", "-"))]
    ours = [line for line in lines if Requirement(line).name == "ser-hf"]
    # the other lines come from PyPI (no index here): only ser-hf's is resolved offline
    assert len(ours) == 1 and all(Requirement(line).url is None for line in lines if line not in ours)
    (tmp_path / "requirements.txt").write_text(ours[0] + "\n")
    report = tmp_path / "report.json"
    env = hub.client_env(tmp_path / "home")
    (tmp_path / "home").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
         "--no-index", "--no-cache-dir", "-r", str(tmp_path / "requirements.txt"), "--report", str(report)],
        env=env, cwd=tmp_path / "home", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (item,) = json.loads(report.read_text())["install"]
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (item["metadata"]["name"], item["metadata"]["version"]) == ("ser-hf", version)
    assert item["requested_extras"] == ["demo"]
    (wheel_path,) = [p for p in files if p.startswith("wheels/")]
    assert item["download_info"]["url"] == f"{hub.url}/spaces/{SPACE}/resolve/main/{wheel_path}"
    assert item["download_info"]["archive_info"]["hashes"]["sha256"] == files[wheel_path].sha256

    # the wheel is this package: its code, and the default model it serves without --model
    (tmp_path / "w.whl").write_bytes(files[wheel_path].content)
    with zipfile.ZipFile(tmp_path / "w.whl") as whl:
        names = set(whl.namelist())
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"ser_hf/__init__.py", "ser_hf/cli/push_space.py", "ser_hf/hub/space.py"} <= names
    assert any(
        n.startswith("ser_hf/bundled/turn_encoder_2_voices_crops/") and n.endswith(".safetensors")
        for n in names
    )
    assert "Provides-Extra: demo" in metadata


def test_a_repush_from_a_package_drops_the_wheel_and_a_private_space_needs_one(space, hub):
    home = space["home"]
    refused = _cli(hub, home, "--repo-id", "user/private-demo", "--private")
    assert refused.returncode == 2 and "--package" in refused.stderr, refused.stderr[-2000:]
    assert ("space", "user/private-demo") not in hub.repos  # refused before anything was created

    package = "ser-hf[demo] @ git+https://github.com/someone/ser_hf.git@v0.1.0"
    proc = _cli(hub, home, "--repo-id", SPACE, "--package", package)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = hub.repos[("space", SPACE)].commits[-1].files
    assert not [p for p in files if p.startswith("wheels/")]
    lines = [
        line
        for line in files["requirements.txt"].content.decode().splitlines()
        if "ser-hf" in line.split("#")[0]
    ]
    assert lines == [package]


def test_the_spaces_requirements_keep_pip_options_first_and_the_demos_other_lines():
    from ser_hf.hub.space import space_requirements

    demo = "# comment\n--extra-index-url https://download.pytorch.org/whl/cpu\nser-hf[demo]>=0.1.0\ngradio>=6.0,<7\n"
    lines = space_requirements(demo, "ser-hf[demo] @ https://x/ser_hf-0.1.0-py3-none-any.whl").splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert body == [
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        "ser-hf[demo] @ https://x/ser_hf-0.1.0-py3-none-any.whl",
        "gradio>=6.0,<7",
    ]
