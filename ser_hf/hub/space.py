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

A Space runs on a CPU unless its owner pays for a GPU, and PyPI's torch for Linux is the CUDA build
(gigabytes of NVIDIA libraries: a slow build that can run out of disk), so the requirements start with
``--extra-index-url https://download.pytorch.org/whl/cpu`` (``torch_index=``: another PyTorch index,
or None for PyPI's torch on a GPU Space); pip takes ``2.x+cpu`` there over PyPI's ``2.x``.

A model folder of one's own (``model=`` a folder, validated by loading it as the Space will) goes up
in ``model/`` (:data:`SPACE_MODEL_DIR`), and the Space variable ``SER_HF_MODEL`` says ``model``, which
``app.py`` reads as the folder beside it. A Hub id or a bundled model's name is checked first
(:func:`check_served_model`), and the demo's card says which model the Space serves (:func:`space_readme`).
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
SPACE_MODEL_DIR = "model"  # a model folder of one's own, in the Space; demo/app.py finds it beside itself
# PyTorch's index of CPU-only wheels: what a Space (a CPU machine by default) needs instead of PyPI's CUDA torch
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
_TORCH_INDEX_NAME = re.compile(r"^(cpu|cu\d+|rocm\d+(\.\d+)*)$")
# what of a model folder the Space needs to serve it (no .py: the Space loads it without running its code;
# no run records: split.json names every training clip)
_SPACE_MODEL_FILES = ("config.json", "preprocessor_config.json", "README.md")
_SPACE_MODEL_SUFFIXES = (".safetensors", ".safetensors.index.json", "_LICENSE.txt")
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
    # what SER_HF_MODEL was set to (``model`` for an uploaded folder); None: left as it was
    model: str | None = None
    model_files: tuple[str, ...] = ()  # the files uploaded in model/
    torch_index: str | None = None  # the index line added to requirements.txt


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


def torch_index_url(value: str | None) -> str | None:
    """The index URL ``--torch-index`` names: a URL as given, ``cpu`` / ``cu124`` / ``rocm6.2`` as
    PyTorch's index of that build, ``none`` (or None) as no index (PyPI's torch)."""
    if value is None or value.strip().lower() in ("", "none"):
        return None
    value = value.strip()
    if _TORCH_INDEX_NAME.match(value.lower()):
        return f"https://download.pytorch.org/whl/{value.lower()}"
    if re.match(r"^https?://\S+$", value):
        return value
    raise SERError(
        "give a package index URL (https://download.pytorch.org/whl/cpu), a PyTorch build's name "
        "(cpu, cu124, rocm6.2), or none for PyPI's torch (a GPU Space)",
        source=f"--torch-index {value}",
    )


def space_requirements(
    demo_requirements: str, requirement: str, torch_index: str | None = CPU_TORCH_INDEX
) -> str:
    """The Space's ``requirements.txt``: the demo's, its ``ser-hf`` line replaced by ``requirement``
    and its comments by one saying where ser-hf comes from (the other lines, gradio's and any
    ``--extra-index-url``, kept), with ``--extra-index-url torch_index`` first unless the demo's
    lines name a PyTorch index of their own (theirs is kept) or ``torch_index`` is None."""
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
    own_index = any("download.pytorch.org" in line for line in options)
    if torch_index is not None and not own_index:
        header += (
            "# torch from PyTorch's CPU wheels (the index line below): a Space runs on a CPU, and PyPI's\n"
            "# torch is the CUDA build; `ser-hf push-space --torch-index none` leaves the line out.\n"
            if torch_index == CPU_TORCH_INDEX
            else "# torch from the index line below (`ser-hf push-space --torch-index`; none leaves it out).\n"
        )
        options.insert(0, f"--extra-index-url {torch_index}")
    lines = [*options, requirement, *(line for line in kept if line not in options)]
    return header + "\n".join(lines) + "\n"


def stage_model(folder: str | Path, stage: Path) -> list[str]:
    """Copy what the Space needs of the model folder ``folder`` into ``stage`` (config,
    preprocessor config, safetensors weights, licences of shipped weights, the card; not its code or
    run records) and load the copy as the Space will, so a folder that would not serve is refused
    before anything is uploaded. Returns the names copied."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SERError(
            "a file, not a model folder: pass the folder `ser-hf train --output_dir` wrote "
            "(config.json, model.safetensors, preprocessor_config.json), a Hub id or a bundled model's name",
            source=str(folder),
        )
    if not (folder / "config.json").is_file():
        raise SERError(
            "no config.json, so not a model folder saved by ser_hf; pass the folder `ser-hf train "
            "--output_dir` wrote (config.json, model.safetensors, preprocessor_config.json), a Hub id "
            "(ser-hf push uploads a folder) or a bundled model's name",
            source=str(folder),
        )
    stage.mkdir(parents=True, exist_ok=True)
    names = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and (p.name in _SPACE_MODEL_FILES or p.name.endswith(_SPACE_MODEL_SUFFIXES))
    )
    for name in names:
        shutil.copy2(folder / name, stage / name)
    from ..inference.classifier import EmotionClassifier

    try:
        EmotionClassifier(str(stage), device="cpu")
    except SERError as err:  # said of the user's folder, not of the staged copy
        message = str(err).replace(str(stage), str(folder))
        if message.startswith(f"{folder}: "):
            message = message[len(str(folder)) + 2 :]
        raise SERError(
            f"the Space could not serve this model folder, so nothing was uploaded: {message}",
            source=str(folder),
        ) from err
    return names


def check_served_model(api: HfApi, model: str) -> None:
    """Refuse a Space variable ``model`` (not a folder here) that the Space could not load, before
    anything is uploaded rather than at the Space's start: a misspelt bundled model's name, or a name
    that is neither bundled nor a model on the Hub (a typo'd folder path like ``runs/mdoel`` reads as
    an owner/name). A bundled model's name passes (the Space's own install holds it)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    from ..inference.bundled import bundled_name, resolve_model_name

    if "/" in model:
        check_repo_id(model)
    else:
        resolve_model_name(model)  # a close misspelling of a bundled name: refused, naming it
        if bundled_name(model):
            return
    # a typo'd folder path offline was "cannot look up the model runs/mdoel ...: offline mode is on" alone
    shown = f"{model} (no folder {model!r} here, so a Hub id)" if "/" in model else model
    with hub_errors(f"look up the model {shown} the Space is to serve", model):
        try:
            api.model_info(model)
        except RepositoryNotFoundError as err:
            raise SERError(
                f"no folder {model!r} here and no model {model} on the Hub ({api.endpoint}), so nothing "
                "was uploaded: check the path (the folder ser-hf train wrote), the Hub id (ser-hf push "
                "uploads a folder; a private model needs a token that can read it) or the bundled "
                "model's name",
                source=model,
            ) from err


def space_readme(text: str, model: str | None, folder: bool) -> str:
    """The demo's ``README.md`` for a Space serving ``model``: its card's ``models:`` (the Hub models
    the Space page links to) names that Hub id, or is dropped for a folder uploaded into the Space or a
    bundled model other than the default it lists, and a line under the title says which model the
    Space serves (the text below describes the package's default). ``model`` None: unchanged."""
    if model is None:
        return text
    from huggingface_hub import SpaceCard

    from ..inference.bundled import BUNDLED_ALIASES, bundled_name

    card = SpaceCard(text)
    name = bundled_name(model)
    if folder:
        served, card.data.models = f"a model folder uploaded in `{SPACE_MODEL_DIR}/`", None
    elif name is None:  # a Hub id (owner/name, or a bare name the Hub holds)
        served, card.data.models = f"the Hub model `{model}` (linked above)", [model]
    else:
        served = f"the model bundled with ser_hf as `{name}`"
        if BUNDLED_ALIASES.get(name) != BUNDLED_ALIASES["default"]:
            card.data.models = None
    note = (
        f"> This Space serves {served} (`ser-hf push-space --model`); the description below is of "
        "the package's default model."
    )
    title, _, rest = card.text.lstrip("\n").partition("\n")
    card.text = (
        f"\n{title}\n\n{note}\n{rest}" if title.startswith("#") else f"\n{note}\n\n{card.text.lstrip()}"
    )
    return str(card)


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
    model: str | Path | None = None,
    torch_index: str | None = CPU_TORCH_INDEX,
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
        model: the model the Space serves: a model folder (loaded here first, then uploaded in
            ``model/``, :func:`stage_model`; a path that exists is a folder), a Hub model id or a
            bundled model's name; set as the Space variable ``SER_HF_MODEL`` (``model`` for a folder).
            Default: the Space's variable is left alone (a new Space serves the model the package
            bundles). A folder replaces the files of an earlier one in ``model/``; a Hub id or name
            deletes them.
        torch_index: the index the Space's build takes torch from (:func:`torch_index_url`: a URL,
            ``cpu``, ``cu124``, ...), written as ``--extra-index-url`` first in requirements.txt;
            default PyTorch's CPU wheels; None: no index line (PyPI's CUDA torch, for a GPU Space). A
            PyTorch index line of the demo's own requirements.txt is kept instead.
        private: create the Space private (an existing public one is made private).

    Returns:
        :class:`SpacePush`: the Space's page, the commit, the requirement written, the model.
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
    folder = Path(model).expanduser() if model is not None and Path(model).expanduser().exists() else None
    if model is not None and folder is None and str(model).startswith(("/", "./", "../", "~")):
        raise SERError(
            "no such model folder; check the path (a Hub model is named owner/name)", source=str(model)
        )
    torch_index = torch_index_url(torch_index)
    demo_dir = Path(demo_dir) if demo_dir is not None else DEMO_DIR
    token = check_token(token)
    api = HfApi(token=token)
    if model is not None and folder is None:
        check_served_model(api, str(model))
    with tempfile.TemporaryDirectory(prefix="ser_hf_space_") as tmp:
        stage = Path(tmp) / "space"
        model_files: list[str] = []
        if folder is not None:  # first: a folder that does not serve stops the push before any work
            model_files = stage_model(folder, Path(tmp) / SPACE_MODEL_DIR)
        demo_requirements = _stage_demo(demo_dir, stage)
        readme = stage / "README.md"
        served = None if model is None else str(model)
        readme.write_text(space_readme(readme.read_text("utf-8"), served, folder is not None), "utf-8")
        if folder is not None:
            shutil.rmtree(stage / SPACE_MODEL_DIR, ignore_errors=True)  # a model/ the demo folder held
            shutil.move(str(Path(tmp) / SPACE_MODEL_DIR), stage / SPACE_MODEL_DIR)
        uploaded = None
        if package is None:
            built = _check_wheel(wheel) if wheel is not None else build_wheel(Path(tmp) / "dist")
            (stage / WHEELS_DIR).mkdir(exist_ok=True)
            uploaded = stage / WHEELS_DIR / built.name
            shutil.copy2(built, uploaded)
            package = wheel_requirement(repo_id, uploaded, endpoint=api.endpoint)
        requirements = space_requirements(demo_requirements, package, torch_index)
        (stage / "requirements.txt").write_text(requirements, encoding="utf-8")
        variable = None if model is None else SPACE_MODEL_DIR if folder is not None else str(model)
        deleted = [f"{WHEELS_DIR}/*.whl"]  # an earlier version's wheel
        # an earlier folder's files: another folder's, or one the variable no longer names
        if model is not None:
            deleted.append(f"{SPACE_MODEL_DIR}/*")
        with hub_errors(f"push the demo Space {repo_id}", repo_id):
            create_repo(api, repo_id, private=private, repo_type="space", space_sdk="gradio")
            if variable is not None:
                api.add_space_variable(repo_id, MODEL_VARIABLE, variable)
            info = api.upload_folder(
                repo_id=repo_id,
                repo_type="space",
                folder_path=stage,
                commit_message=commit_message,
                delete_patterns=deleted,
            )
    url = f"{api.endpoint}/spaces/{repo_id}"
    added = f"--extra-index-url {torch_index}" in requirements.splitlines()
    return SpacePush(
        url,
        info.commit_url,
        package,
        uploaded.name if uploaded else None,
        model=variable,
        model_files=tuple(model_files),
        torch_index=torch_index if added else None,
    )
