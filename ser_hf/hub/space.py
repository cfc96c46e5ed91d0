"""Put the demo on the Hub as a Gradio Space that installs (``ser-hf push-space``).

A Space installs its packages with ``pip install -r requirements.txt`` before its files are copied
in (the builder mounts requirements.txt alone), and ``ser-hf`` is not on PyPI: the committed
``demo/requirements.txt`` line ``ser-hf[demo]>=0.1.0`` does not resolve there. :func:`push_space`
uploads the demo folder (``app.py``, ``README.md`` with the Space configuration, ``packages.txt``,
``examples/``) together with a wheel of this checkout of ``ser_hf`` (:func:`build_wheel`, in
``wheels/``) and a ``requirements.txt`` whose ``ser-hf`` line names that wheel by its URL on the Hub
with its sha256 (:func:`wheel_requirement`): pip downloads it during the build and checks the hash,
and a new wheel changes the line, so the builder does not reuse the layer of the old one.

A private Space's build cannot download its own files (pip has no token there), so a private Space
takes ``package=``: a requirement the build can reach (``ser-hf[demo] @ git+https://...`` of a
public fork), written in place of the wheel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, hf_hub_url

from ..errors import SERError
from .repos import check_repo_id, check_token, create_repo, hub_errors

# the checkout this package was imported from (a clone or an editable install)
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO_ROOT / "demo"
DEFAULT_SPACE_COMMIT_MESSAGE = "Upload the ser_hf demo"
WHEELS_DIR = "wheels"
MODEL_VARIABLE = "SER_HF_MODEL"  # demo/app.py reads the model from it
# what a wheel is built from: the package and what pyproject.toml names (readme, licence files)
_WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "ser_hf")
_SER_HF_LINE = re.compile(r"^\s*ser[-_.]hf\s*(\[|@|[<>=!~;]|$)", re.IGNORECASE)
_DEMO_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".gradio", "flagged", "requirements.txt")


@dataclass(frozen=True)
class SpacePush:
    """What :func:`push_space` uploaded: the Space's page, the commit and the ``ser-hf`` requirement."""

    url: str
    commit_url: str
    requirement: str
    wheel: str | None


def build_wheel(out_dir: str | Path, source: str | Path = REPO_ROOT) -> Path:
    """A wheel of ``ser_hf`` built from ``source`` (a clone: ``pyproject.toml`` beside ``ser_hf/``)
    into ``out_dir``, with ``pip wheel`` (offline when setuptools >= 77 is installed). The sources are
    copied to a temporary folder first, so the clone gets no ``build/`` or ``*.egg-info``."""
    source = Path(source)
    if not (source / "pyproject.toml").is_file() or not (source / "ser_hf").is_dir():
        raise SERError(
            "no ser_hf source tree here to build the Space's wheel from (this install is not a clone); "
            "run push-space from a clone (pip install -e /path/to/clone), or build a wheel there "
            "(pip wheel /path/to/clone --no-deps -w dist) and pass it with --wheel",
            source=str(source),
        )
    if importlib.util.find_spec("pip") is None:
        raise SERError(
            f"building the Space's wheel needs pip in this Python ({sys.executable}): python -m ensurepip, "
            "or build one elsewhere (uv build --wheel /path/to/clone) and pass it with --wheel",
            source=str(source),
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ser_hf_wheel_") as tmp:
        tree = Path(tmp) / "src"
        tree.mkdir()
        for name in _WHEEL_SOURCES:
            path = source / name
            if path.is_dir():
                shutil.copytree(path, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif path.is_file():
                shutil.copy2(path, tree / name)
        command = [sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "-w", tmp, "-q"]
        if _setuptools_builds_offline():
            command.append("--no-build-isolation")
        proc = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("ser_hf-*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise SERError(
                f"pip wheel failed ({' / '.join(tail) or f'exit {proc.returncode}'}); build a wheel yourself "
                "(pip wheel /path/to/clone --no-deps -w dist) and pass it with --wheel",
                source=str(source),
            )
        wheel = out_dir / wheels[-1].name
        shutil.move(str(wheels[-1]), wheel)
    return wheel


def _setuptools_builds_offline() -> bool:
    """Whether the installed setuptools can build the wheel (pyproject asks for >= 77): then pip
    needs no isolated build environment, and no network."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return False
    return major >= 77


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_requirement(repo_id: str, wheel: str | Path, endpoint: str | None = None) -> str:
    """``ser-hf[demo] @ <the wheel's URL in the Space>#sha256=<its hash>``: what the Space's build
    installs (pip checks the hash; a new wheel changes the line)."""
    wheel = Path(wheel)
    url = hf_hub_url(repo_id, f"{WHEELS_DIR}/{wheel.name}", repo_type="space", endpoint=endpoint)
    return f"ser-hf[demo] @ {url}#sha256={file_sha256(wheel)}"


def space_requirements(demo_requirements: str, requirement: str) -> str:
    """The Space's ``requirements.txt``: the demo's, its ``ser-hf`` line replaced by ``requirement``
    and its comments by one saying where ser-hf comes from (the other lines, gradio's and any
    ``--extra-index-url``, kept)."""
    kept = [
        line
        for line in demo_requirements.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and not _SER_HF_LINE.match(line)
    ]
    options = [line for line in kept if line.lstrip().startswith("-")]  # pip options go first
    header = (
        "# Written by `ser-hf push-space`: ser-hf (with its [demo] extra) from the requirement below;\n"
        "# demo/requirements.txt of the ser_hf repository explains the routes.\n"
    )
    lines = [*options, requirement, *(line for line in kept if line not in options)]
    return header + "\n".join(lines) + "\n"


def _check_wheel(wheel: str | Path) -> Path:
    wheel = Path(wheel)
    if not wheel.is_file():
        raise SERError(
            "no such wheel file; pass the path of a ser_hf-VERSION-py3-none-any.whl", source=str(wheel)
        )
    if not wheel.name.startswith("ser_hf-") or wheel.suffix != ".whl":
        raise SERError(
            "not a wheel of ser_hf (ser_hf-VERSION-py3-none-any.whl); build one with "
            "pip wheel /path/to/clone --no-deps -w dist",
            source=str(wheel),
        )
    return wheel


def _stage_demo(demo_dir: Path, stage: Path) -> str:
    """Copy the demo folder into ``stage`` (its requirements.txt aside) and return that file's text."""
    app = demo_dir / "app.py"
    if not app.is_file() or not (demo_dir / "README.md").is_file():
        raise SERError(
            "not the demo folder (it holds app.py and README.md with the Space configuration); "
            "pass --demo path/to/clone/demo",
            source=str(demo_dir),
        )
    shutil.copytree(demo_dir, stage, ignore=_DEMO_SKIP)
    requirements = demo_dir / "requirements.txt"
    return requirements.read_text(encoding="utf-8") if requirements.is_file() else ""


def push_space(
    repo_id: str,
    *,
    demo_dir: str | Path | None = None,
    wheel: str | Path | None = None,
    package: str | None = None,
    model: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str = DEFAULT_SPACE_COMMIT_MESSAGE,
) -> SpacePush:
    """Upload the demo as the Gradio Space ``repo_id`` (created when missing) that installs.

    Args:
        repo_id: ``user/name`` of the Space.
        demo_dir: the demo folder (default: ``demo/`` of this clone).
        wheel: a wheel of ser_hf to upload (default: one built from this clone, :func:`build_wheel`).
        package: a requirement for ser-hf that the Space's build can reach (e.g.
            ``ser-hf[demo] @ git+https://github.com/you/ser_hf.git``), written in place of a wheel;
            nothing is built or uploaded in ``wheels/``. Needed for a private Space.
        model: the model the Space serves (a Hub model id, or a bundled model's name), set as the
            Space variable ``SER_HF_MODEL``; default the model the package bundles.
        private: create the Space private (an existing public one is made private).

    Returns:
        :class:`SpacePush`: the Space's page, the commit and the requirement written.
    """
    check_repo_id(repo_id)
    if wheel is not None and package is not None:
        raise SERError(
            "give --wheel or --package, not both: --package installs ser-hf from elsewhere", source=repo_id
        )
    if private and package is None:
        raise SERError(
            "a private Space cannot install the wheel it holds (its build downloads it without a token); "
            "push it public, or pass --package with a requirement its build can reach, e.g. "
            "'ser-hf[demo] @ git+https://github.com/YOU/ser_hf.git' of a public fork",
            source=repo_id,
        )
    if model is not None and Path(model).exists():
        raise SERError(
            "--model takes a Hub model id or a bundled model's name, not a folder: upload the folder "
            "first (ser-hf push --model DIR --repo-id USER/NAME), then pass --model USER/NAME",
            source=str(model),
        )
    if model is not None and "/" in model:
        check_repo_id(model)
    demo_dir = Path(demo_dir) if demo_dir is not None else DEMO_DIR
    token = check_token(token)
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="ser_hf_space_") as tmp:
        stage = Path(tmp) / "space"
        demo_requirements = _stage_demo(demo_dir, stage)
        uploaded = None
        if package is None:
            built = _check_wheel(wheel) if wheel is not None else build_wheel(Path(tmp) / "dist")
            (stage / WHEELS_DIR).mkdir(exist_ok=True)
            uploaded = stage / WHEELS_DIR / built.name
            shutil.copy2(built, uploaded)
            package = wheel_requirement(repo_id, uploaded, endpoint=api.endpoint)
        (stage / "requirements.txt").write_text(
            space_requirements(demo_requirements, package), encoding="utf-8"
        )
        with hub_errors(f"push the demo Space {repo_id}", repo_id):
            create_repo(api, repo_id, private=private, repo_type="space", space_sdk="gradio")
            if model is not None:
                api.add_space_variable(repo_id, MODEL_VARIABLE, model)
            info = api.upload_folder(
                repo_id=repo_id,
                repo_type="space",
                folder_path=stage,
                commit_message=commit_message,
                delete_patterns=[f"{WHEELS_DIR}/*.whl"],  # an earlier version's wheel
            )
    url = f"{api.endpoint}/spaces/{repo_id}"
    return SpacePush(url, info.commit_url, package, uploaded.name if uploaded else None)
