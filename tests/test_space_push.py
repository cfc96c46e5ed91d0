"""``ser-hf push-space`` against the local TEST FIXTURE server in ``tests/fake_hub.py`` (not the
real Hub, and no Space is built or run there).

demo/requirements.txt asked for ``ser-hf[demo]>=0.1.0``, which no index holds (ser-hf is not on
PyPI), so a Space made of demo/ failed at its ``pip install -r requirements.txt``, and the package
had no way to put the demo on the Hub. A Space's build mounts requirements.txt alone (the Space's
other files are copied in after the install), so the wheel is named by its URL on the Hub: the
test resolves the uploaded requirements.txt with pip (``--dry-run``, nothing installed) against the
fake server, as the Space's build would.

Two gaps a user hit after that (session 46): the requirements took PyPI's torch, the CUDA build
(gigabytes, a slow build that can run out of disk) on a Space that runs on a CPU, and ``--model DIR``
with a folder just trained was refused ("upload the folder first"). The Space's requirements now
start with PyTorch's CPU index (``--torch-index none`` leaves it out), and a folder goes up in
``model/``, loaded first, which the Space's ``app.py`` serves: checked here by running that
``app.py`` from a copy of the uploaded tree on a generated clip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import make_speechlike, save_tiny_bilstm
from fake_hub import FakeHub

from ser_hf.errors import SERError

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


def _hub_model(hub: FakeHub, repo_id: str) -> None:
    """A model repo on the fake Hub (push-space looks a served Hub id up before uploading), made
    through its create route as a user's ``ser-hf push`` would."""
    if ("model", repo_id) not in hub.repos:
        status, _, _ = hub._create_repo({"name": repo_id.split("/")[1]}, repo_id.split("/")[0])
        assert status == 200


def _card(text: bytes | str):
    from huggingface_hub import SpaceCard

    return SpaceCard(text.decode() if isinstance(text, bytes) else text)


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as server:
        yield server


@pytest.fixture(scope="module")
def space(hub, tmp_path_factory):
    """The demo pushed once, with a model named by its Hub id."""
    home = tmp_path_factory.mktemp("space")
    _hub_model(hub, "user/ser-model")
    proc = _cli(hub, home, "--repo-id", SPACE, "--model", "user/ser-model")
    assert proc.returncode == 0, f"routes the fake hub lacked: {hub.unhandled}\n{proc.stderr[-4000:]}"
    return {"home": home, "stdout": proc.stdout, "files": dict(hub.repos[("space", SPACE)].commits[-1].files)}


def test_the_space_holds_the_demo_and_a_wheel_of_ser_hf(space, hub):
    repo = hub.repos[("space", SPACE)]
    assert repo.sdk == "gradio" and not repo.private
    files = space["files"]
    assert files["app.py"].content == (DEMO / "app.py").read_bytes()
    # the demo's card (sdk: gradio, app_file), its models: naming the model served, and a line saying so
    card, demo = _card(files["README.md"].content), _card((DEMO / "README.md").read_bytes())
    assert card.data.models == ["user/ser-model"] != demo.data.models
    unlisted = {k: v for k, v in card.data.to_dict().items() if k != "models"}
    assert unlisted == {k: v for k, v in demo.data.to_dict().items() if k != "models"}
    note = next(line for line in card.text.splitlines() if line.startswith("> This Space serves"))
    assert "the Hub model `user/ser-model`" in note
    assert card.text.replace(note + "\n\n", "", 1) == demo.text
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


CPU_INDEX_LINE = "--extra-index-url https://download.pytorch.org/whl/cpu"


def test_the_spaces_requirements_take_torch_from_the_cpu_index_and_pip_reads_them(space, hub, tmp_path):
    """(Before the re-push below, which drops the wheel.) A Space runs on a CPU: its build must not install PyPI's CUDA torch. The requirements start
    with PyTorch's CPU index, once; pip reads the whole file (offline: ``--no-index``, so only the
    lines it cannot find on an index fail, gradio's, never the syntax)."""
    requirements = space["files"]["requirements.txt"].content.decode()
    body = [line for line in requirements.splitlines() if line.strip() and not line.startswith("#")]
    assert body[0] == CPU_INDEX_LINE
    assert sum("download.pytorch.org" in line for line in body) == 1
    (tmp_path / "home").mkdir()
    (tmp_path / "requirements.txt").write_text(requirements)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--no-deps", "--ignore-installed",
         "--no-index", "--no-cache-dir", "-r", str(tmp_path / "requirements.txt")],
        env=hub.client_env(tmp_path / "home"), cwd=tmp_path / "home", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "no such option" not in proc.stderr and "Invalid requirement" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert errors and all("gradio" in line for line in errors), proc.stderr[-3000:]


def test_a_repush_from_a_package_drops_the_wheel_and_a_private_space_needs_one(space, hub):
    home = space["home"]
    refused = _cli(hub, home, "--repo-id", "user/private-demo", "--private")
    assert refused.returncode == 2 and "--package" in refused.stderr, refused.stderr[-2000:]
    assert ("space", "user/private-demo") not in hub.repos  # refused before anything was created

    package = "ser-hf[demo] @ git+https://github.com/someone/ser_hf.git@v0.1.0"
    proc = _cli(hub, home, "--repo-id", SPACE, "--package", package, "--torch-index", "none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = hub.repos[("space", SPACE)].commits[-1].files
    assert not [p for p in files if p.startswith("wheels/")]
    # --torch-index none: no index line, PyPI's torch (a GPU Space)
    assert "download.pytorch.org" not in files["requirements.txt"].content.decode()
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


def test_the_spaces_torch_index_options():
    from ser_hf.errors import SERError
    from ser_hf.hub.space import space_requirements, torch_index_url

    demo = "ser-hf[demo]>=0.1.0\ngradio>=6.0,<7\n"
    req = "ser-hf[demo] @ https://x/ser_hf-0.1.0-py3-none-any.whl"

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert body(space_requirements(demo, req)) == [CPU_INDEX_LINE, req, "gradio>=6.0,<7"]
    assert body(space_requirements(demo, req, None)) == [req, "gradio>=6.0,<7"]
    own = (
        "--extra-index-url https://download.pytorch.org/whl/cu121\n" + demo
    )  # the user's own index: kept alone
    assert body(space_requirements(own, req)) == [own.splitlines()[0], req, "gradio>=6.0,<7"]
    assert torch_index_url("none") is None and torch_index_url("cpu") == CPU_INDEX_LINE.split()[1]
    assert torch_index_url("cu124") == "https://download.pytorch.org/whl/cu124"
    assert torch_index_url("https://my.mirror/simple") == "https://my.mirror/simple"
    with pytest.raises(SERError, match="--torch-index cpuu"):
        torch_index_url("cpuu")


OWN_LABELS = ["calm", "tense", "bright"]
OWN_SPACE = "user/own-model-demo"
PACKAGE = "ser-hf[demo] @ git+https://github.com/someone/ser_hf.git@v0.1.0"  # no wheel to build


@pytest.fixture(scope="module")
def own_model(tmp_path_factory) -> Path:
    """A model folder as training leaves it: the model, and run records that stay home."""
    folder = save_tiny_bilstm(tmp_path_factory.mktemp("runs") / "mymodel", OWN_LABELS)
    (folder / "split.json").write_text(json.dumps({"rows": [{"path": "/home/me/private/clip.wav"}]}))
    (folder / "training_args.bin").write_bytes(b"pickle")
    return folder


def test_a_trained_model_folder_goes_up_and_the_spaces_app_serves_it(hub, own_model, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = _cli(hub, home, "--repo-id", OWN_SPACE, "--model", str(own_model), "--package", PACKAGE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    repo = hub.repos[("space", OWN_SPACE)]
    files = repo.commits[-1].files
    uploaded = sorted(p for p in files if p.startswith("model/"))
    assert uploaded == ["model/config.json", "model/model.safetensors", "model/preprocessor_config.json"]
    for path in uploaded:
        assert files[path].content == (own_model / path.split("/", 1)[1]).read_bytes()
    assert repo.variables == {"SER_HF_MODEL": "model"}
    assert "model/" in proc.stdout
    card = _card(files["README.md"].content)  # no Hub model to link to: the model is in the Space
    assert card.data.models is None and "serves a model folder uploaded in `model/`" in card.text

    # the Space as it runs: its files in a folder, app.py started from elsewhere with its variable
    space_dir = tmp_path / "space"
    for path, stored in files.items():
        (space_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (space_dir / path).write_bytes(stored.content)
    import soundfile as sf

    sf.write(tmp_path / "clip.wav", make_speechlike(2.0, seed=3), 16000)
    script = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('space_app', sys.argv[1])\n"
        "app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)\n"
        "clf, error = app.load_classifier()\n"
        "assert error is None, error\n"
        "label = app.classify_file(sys.argv[2], clf)[0]\n"
        "print(json.dumps({'source': clf.source, 'labels': clf.labels, 'label': label}))\n"
    )
    env = {**os.environ, **repo.variables, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    ran = subprocess.run(
        [sys.executable, "-c", script, str(space_dir / "app.py"), str(tmp_path / "clip.wav")],
        env=env, cwd=home, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    served = json.loads(ran.stdout.strip().splitlines()[-1])
    assert Path(served["source"]) == space_dir / "model"
    assert served["labels"] == OWN_LABELS
    assert set(served["label"]) == set(OWN_LABELS) and abs(sum(served["label"].values()) - 1) < 1e-4

    # a Hub id afterwards: the variable names it, and the folder's files leave the Space
    _hub_model(hub, "user/ser-model")
    proc = _cli(hub, home, "--repo-id", OWN_SPACE, "--model", "user/ser-model", "--package", PACKAGE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not [p for p in repo.commits[-1].files if p.startswith("model/")]
    assert repo.variables == {"SER_HF_MODEL": "user/ser-model"}


def test_a_folder_that_is_no_model_is_refused_before_anything_is_uploaded(hub, own_model, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("train a model")
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (no_weights / name).write_bytes((own_model / name).read_bytes())
    for folder, fix in ((notes, "config.json"), (no_weights, "model.safetensors")):
        space_id = f"user/refused-{folder.name.replace('_', '-')}"
        proc = _cli(hub, tmp_path, "--repo-id", space_id, "--model", str(folder), "--package", PACKAGE)
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert str(folder) in proc.stderr and fix in proc.stderr and "saved by ser_hf" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert ("space", space_id) not in hub.repos
    missing = _cli(
        hub, tmp_path, "--repo-id", "user/refused-missing", "--model", str(tmp_path / "no_such_run")
    )
    assert missing.returncode == 2 and "no such model folder" in missing.stderr, missing.stderr[-2000:]
    assert ("space", "user/refused-missing") not in hub.repos


def test_a_model_the_space_could_not_load_is_refused_before_anything_is_uploaded(hub, tmp_path):
    """A folder path with a typo and no ./ (``runs/mdoel``) reads as a Hub id; before, the push went
    through and the Space failed at its start. Now a served Hub id is looked up first, and a bundled
    model's name is checked against the package's."""
    for model, said in (
        ("runs/mdoel", "no folder 'runs/mdoel' here and no model runs/mdoel on the Hub"),
        ("defualt", "did you mean 'default'"),
    ):
        space_id = f"user/refused-{model.replace('/', '-')}"
        proc = _cli(hub, tmp_path, "--repo-id", space_id, "--model", model, "--package", PACKAGE)
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
        assert ("space", space_id) not in hub.repos
    # a bundled model's name needs no Hub model; the card lists none but the default's
    proc = _cli(hub, tmp_path, "--repo-id", "user/fusion-demo", "--model", "fusion", "--package", PACKAGE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    repo = hub.repos[("space", "user/fusion-demo")]
    assert repo.variables == {"SER_HF_MODEL": "fusion"}
    card = _card(repo.commits[-1].files["README.md"].content)
    assert card.data.models is None and "the model bundled with ser_hf as `fusion`" in card.text


def test_a_typod_folder_path_offline_or_unreachable_is_said_to_be_no_folder_here():
    """``push-space --model runs/mdoel`` offline said only "offline mode is on": a user who meant a folder
    was not told that none is there."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    from ser_hf.hub.space import check_served_model

    class Api:  # the Hub out of reach, as huggingface_hub raises it
        endpoint = "https://huggingface.co"

        def __init__(self, error: Exception) -> None:
            self.error = error

        def model_info(self, repo_id: str) -> None:
            raise self.error

    for error, why in (
        (OfflineModeIsEnabled("offline"), "offline mode is on"),
        (ConnectionError("refused"), "is unreachable"),
    ):
        with pytest.raises(SERError) as err:
            check_served_model(Api(error), "runs/mdoel")
        assert "the model runs/mdoel (no folder 'runs/mdoel' here, so a Hub id)" in str(err.value)
        assert why in str(err.value)


def test_the_spaces_card_names_a_bundled_model_or_a_hub_id_it_serves():
    """A bare Hub id (no owner, as transformers allows) was named 'the model bundled with ser_hf as
    `bert-base`' on the Space's card."""
    from ser_hf.hub.space import space_readme

    demo = (DEMO / "README.md").read_text()
    for model, said, models in (
        ("Speech_Stats", "the model bundled with ser_hf as `speech-stats`", None),
        ("bert-base", "the Hub model `bert-base`", ["bert-base"]),
        ("user/x", "the Hub model `user/x`", ["user/x"]),
    ):
        card = _card(space_readme(demo, model, folder=False))
        assert said in card.text and card.data.models == models
