"""Hub round trip against the local TEST FIXTURE server in ``tests/fake_hub.py`` (not the real Hub).

One fresh process pushes two tiny models (one per family) and a tiny RAVDESS-named corpus with
``ser-hf push`` / ``push_model`` / ``ser-hf push-dataset``; a second fresh process in which
``ser_hf`` CANNOT be imported loads them with ``pipeline(..., trust_remote_code=True)`` and
``load_dataset``. Fresh processes are needed because ``HF_ENDPOINT`` is read when
``huggingface_hub`` is imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from conftest import make_speechlike
from fake_hub import FakeHub
from huggingface_hub import ModelCard

from ser_hf.errors import SERError

REPO_ROOT = Path(__file__).resolve().parents[1]
LABELS = ["neutral", "happy", "sad", "angry"]
# (repo id, preset, tiny overrides)
BUNDLED_REPO = "user/ser-bundled-cnn"
BUNDLED_CNN = Path(__file__).resolve().parents[1] / "ser_hf" / "bundled" / "model"
MODELS = {
    "user/ser-bilstm": ("seed-logmel-bilstm", {"conv_channels": [4, 8], "lstm_hidden_size": 8}),
    "user/ser-transformer": (
        "cnn-transformer",
        {"conv_channels": [4, 8], "d_model": 16, "nhead": 2, "num_layers": 1, "dim_feedforward": 32},
    ),
}
DATASET_REPO = "user/ravdess-tiny"
CV_RESULTS = {
    "protocol": "RAVDESS 6-fold speaker-independent",
    "corpus": "ravdess",
    "mean": {"wa": 0.612, "ua": 0.598, "f1_macro": 0.587},
    "std": {"wa": 0.051, "ua": 0.043, "f1_macro": 0.049},
    "folds": [{"fold": k, "wa": 0.6, "ua": 0.59, "f1_macro": 0.58} for k in range(6)],
}
EVAL_RESULTS = {"split": "test actors 21-24", "eval_accuracy": 0.55, "eval_ua": 0.52, "eval_f1_macro": 0.5}

HANDMADE_CARD = """---
license: mit  # the author's licence
tags:
- my-tag
---

# My emotion model

Written by hand: it fails on other corpora.

## Results

Modest.
"""

PUSH_SCRIPT = """
import json, sys
args = json.loads(sys.argv[1])
from ser_hf.cli import main
from ser_hf.errors import SERError
from ser_hf.hub.push import push_model
out = {}
try:  # a wrong token must come back as SERError with the fix, before anything is written
    push_model(args["bilstm"], "user/never-written", token="hf_wrong_token")
except SERError as err:
    out["bad_token_error"] = str(err)
out["rc_push"] = main(["push", "--model", args["bilstm"], "--repo-id", "user/ser-bilstm",
                       "--cv-json", args["cv_json"]])
push_model(args["transformer"], "user/ser-transformer", eval_json=args["eval_json"], datasets=["ravdess"])
push_model(args["bilstm"], "user/ser-private", private=True, cv_json=args["cv_json"])
out["rc_bundled"] = main(["push", "--model", args["bundled"], "--repo-id", "user/ser-bundled-cnn"])
out["rc_regenerated"] = main(["push", "--model", args["bundled"], "--repo-id", "user/ser-bundled-generated",
                              "--regenerate-card"])
out["rc_handmade"] = main(["push", "--model", args["handmade"], "--repo-id", "user/ser-handmade"])
out["rc_dataset"] = main(["push-dataset", "--corpus", "ravdess=" + args["corpus_dir"],
                          "--repo-id", args["dataset_repo"]])
print("RESULT " + json.dumps(out))
"""

LOAD_SCRIPT = """
import importlib.abc, json, sys

class BlockSerHf(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "ser_hf" or name.startswith("ser_hf."):
            raise ImportError(name + " is blocked: this process must work without the package")

sys.meta_path.insert(0, BlockSerHf())
try:
    import ser_hf  # noqa: F401
    ser_hf_importable = True
except ImportError:
    ser_hf_importable = False

import numpy as np
from datasets import load_dataset
from transformers import pipeline

args = json.loads(sys.argv[1])
clip = np.load(args["clip"])
out = {"ser_hf_importable": ser_hf_importable, "scores": {}, "modules": {}}
for repo_id in args["models"]:
    clf = pipeline("audio-classification", model=repo_id, trust_remote_code=True)
    out["scores"][repo_id] = {r["label"]: r["score"] for r in clf(clip, top_k=None)}
    out["modules"][repo_id] = type(clf.model).__module__
ds = load_dataset(args["dataset_repo"], split="train")
names = ds.features["emotion"].names
out["rows"] = [
    {"file": r["file"], "emotion": names[r["emotion"]], "speaker": r["speaker"], "gender": r["gender"]}
    for r in ds.remove_columns("audio")
]
np.savez(args["arrays"], **{r["file"]: r["audio"]["array"] for r in ds})
print("RESULT " + json.dumps(out))
"""


def _run(script: str, args: dict, env: dict[str, str], hub: FakeHub, cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), json.dumps(args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"subprocess failed (rc {proc.returncode}); routes the fake hub lacked: {hub.unhandled}\n"
        f"{proc.stderr[-4000:]}"
    )
    return json.loads(lines[-1][len("RESULT ") :])


def _write_ravdess_tree(root: Path) -> None:
    """2 actors (01 male, 02 female) x 4 emotions, RAVDESS names, short speech-like wavs."""
    codes = ("01", "03", "04", "05")  # neutral, happy, sad, angry
    for actor in ("01", "02"):
        folder = root / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for i, code in enumerate(codes):
            clip = make_speechlike(seconds=0.5, f0=120.0 + 40 * i + int(actor) * 7, seed=i + 10 * int(actor))
            sf.write(folder / f"03-01-{code}-01-01-01-{actor}.wav", clip, 16000, subtype="PCM_16")


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as server:
        yield server


@pytest.fixture(scope="module")
def published(hub, tmp_path_factory):
    """Build, save and push everything once; then load it back in a process without ser_hf."""
    from transformers import pipeline

    from ser_hf.training.presets import build_model

    tmp = tmp_path_factory.mktemp("hub")
    clip = make_speechlike(seconds=1.2, f0=180.0, seed=3)
    np.save(tmp / "clip.npy", clip)
    folders, local_scores = {}, {}
    for repo_id, (preset, overrides) in MODELS.items():
        model, extractor = build_model(preset, LABELS, feature_overrides={"n_mels": 32}, **overrides)
        model.eval()
        folder = tmp / repo_id.split("/")[1]
        model.save_pretrained(folder)
        extractor.save_pretrained(folder)
        folders[repo_id] = folder
        clf = pipeline("audio-classification", model=str(folder))
        local_scores[repo_id] = {r["label"]: r["score"] for r in clf(clip, top_k=None)}
    # the bundled CNN holds no code: the push must write it (save_pretrained) next to the weights
    clf = pipeline("audio-classification", model=str(BUNDLED_CNN))
    local_scores[BUNDLED_REPO] = {r["label"]: r["score"] for r in clf(clip, top_k=None)}
    shutil.copytree(
        folders["user/ser-bilstm"], tmp / "handmade"
    )  # a trained folder, its card written by hand
    (tmp / "handmade" / "README.md").write_text(HANDMADE_CARD)
    _write_ravdess_tree(tmp / "ravdess")
    (tmp / "cv.json").write_text(json.dumps(CV_RESULTS))
    (tmp / "eval.json").write_text(json.dumps(EVAL_RESULTS))

    env = hub.client_env(tmp / "push_home")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    push_args = {
        "bilstm": str(folders["user/ser-bilstm"]),
        "transformer": str(folders["user/ser-transformer"]),
        "cv_json": str(tmp / "cv.json"),
        "eval_json": str(tmp / "eval.json"),
        "corpus_dir": str(tmp / "ravdess"),
        "dataset_repo": DATASET_REPO,
        "bundled": str(BUNDLED_CNN),
        "handmade": str(tmp / "handmade"),
    }
    pushed = _run(PUSH_SCRIPT, push_args, env, hub, cwd=REPO_ROOT)

    # the loading process: fresh cache, token-less (public repos), started outside the checkout
    load_env = hub.client_env(tmp / "load_home", token=None)
    load_env.pop("PYTHONPATH", None)
    load_args = {
        "models": [*MODELS, BUNDLED_REPO],
        "clip": str(tmp / "clip.npy"),
        "dataset_repo": DATASET_REPO,
        "arrays": str(tmp / "arrays.npz"),
    }
    loaded = _run(LOAD_SCRIPT, load_args, load_env, hub, cwd=tmp)
    return {
        "tmp": tmp,
        "folders": folders,
        "local_scores": local_scores,
        "pushed": pushed,
        "loaded": loaded,
        "arrays": dict(np.load(tmp / "arrays.npz")),
    }


def _readme(hub: FakeHub, repo_type: str, repo_id: str) -> str:
    return hub.repos[(repo_type, repo_id)].commits[-1].files["README.md"].content.decode()


# ----------------------------------------------------------------------------- model round trip
@pytest.mark.parametrize("repo_id", list(MODELS))
def test_pipeline_from_hub_without_ser_hf_matches_local_scores(published, repo_id):
    loaded = published["loaded"]
    assert loaded["ser_hf_importable"] is False
    # the classes came from the repo's remote code, not from an installed package
    assert loaded["modules"][repo_id].startswith("transformers_modules.")
    remote, local = loaded["scores"][repo_id], published["local_scores"][repo_id]
    assert set(remote) == set(LABELS) == set(local)
    for label in LABELS:
        assert remote[label] == pytest.approx(local[label], abs=1e-5)


def test_bundled_model_gets_its_code_written_on_push_and_loads_without_ser_hf(published, hub):
    """Bundled folders hold no .py files; `ser-hf push` writes the model code with save_pretrained."""
    assert not list(BUNDLED_CNN.glob("*.py"))
    assert published["pushed"]["rc_bundled"] == 0
    files = hub.repos[("model", BUNDLED_REPO)].commits[-1].files
    assert {"configuration_ser.py", "modeling_ser.py", "feature_extraction_ser.py", "errors.py"} <= set(files)
    from ser_hf.hub.push import published_split

    # was left out: it was read from the staged copy with the code, not from the bundled folder
    assert files["split.json"].content == published_split(BUNDLED_CNN)
    config = json.loads(files["config.json"].content.decode())
    assert config["auto_map"]["AutoModelForAudioClassification"].startswith("modeling_ser.")
    loaded = published["loaded"]
    assert loaded["modules"][BUNDLED_REPO].startswith("transformers_modules.")
    remote, local = loaded["scores"][BUNDLED_REPO], published["local_scores"][BUNDLED_REPO]
    assert remote.keys() == local.keys() and len(local) == 8
    for label in local:
        assert remote[label] == pytest.approx(local[label], abs=1e-5)


def test_a_push_uploads_the_folders_own_card_and_a_generated_one_on_request(published, hub):
    """`ser-hf push --model default` uploaded, as README.md, a card generated from test_metrics.json (the
    in-domain score up front) in place of the card the bundled folder ships (cross-corpus results first);
    a hand-written README.md in a trained folder was replaced the same way."""
    import re

    assert published["pushed"]["rc_bundled"] == published["pushed"]["rc_handmade"] == 0
    own_header, own_body = (BUNDLED_CNN / "README.md").read_text().split("---\n", 2)[1:]
    header, body = _readme(hub, "model", BUNDLED_REPO).split("---\n", 2)[1:]
    section = re.compile(r"<!-- ser-hf push: .*?<!-- end of ser-hf push's section -->\n\n", re.S)
    assert len(section.findall(body)) == 1 and section.sub("", body) == own_body  # the author's words, whole
    assert f'pipeline("audio-classification", model="{BUNDLED_REPO}", trust_remote_code=True)' in body
    data, own = yaml.safe_load(header), yaml.safe_load(own_header)
    assert data["model-index"][0]["results"] == own["model-index"][0]["results"]
    assert data["model-index"][0]["name"] == "ser-bundled-cnn" and data["license"] == own["license"]
    assert ModelCard(_readme(hub, "model", BUNDLED_REPO)).data.pipeline_tag == "audio-classification"
    # --regenerate-card: the generated card, from the same folder
    assert published["pushed"]["rc_regenerated"] == 0
    generated = _readme(hub, "model", "user/ser-bundled-generated")
    assert "## Intended use" in generated and "ser-hf push" not in generated and own_body not in generated
    # a hand-written card: its words and YAML kept (a comment too), what the Hub copy needs added
    text = _readme(hub, "model", "user/ser-handmade")
    assert "license: mit  # the author's licence" in text and "it fails on other corpora" in text
    data = ModelCard(text).data
    assert data.license == "mit" and data.tags == ["custom_code", "my-tag"]
    assert (data.pipeline_tag, data.library_name) == ("audio-classification", "transformers")
    assert 'model="user/ser-handmade", trust_remote_code=True' in text and "## Intended use" not in text
    assert "model.safetensors" in hub.repos[("model", "user/ser-handmade")].commits[-1].files


def test_model_repo_holds_weights_code_and_card(published, hub):
    assert published["pushed"]["rc_push"] == 0
    files = hub.repos[("model", "user/ser-bilstm")].commits[-1].files
    for name in (
        "config.json",
        "preprocessor_config.json",
        "model.safetensors",
        "modeling_ser.py",
        "configuration_ser.py",
        "feature_extraction_ser.py",
        "README.md",
        "cv_results.json",
    ):
        assert name in files, name
    assert files["model.safetensors"].sha256 is not None  # went through LFS
    assert not [name for name in files if name.endswith((".bin", ".pt", ".pkl"))]
    assert json.loads(files["cv_results.json"].content) == CV_RESULTS
    assert hub.repos[("model", "user/ser-private")].private is True


def test_model_card_metadata(published, hub):
    card = ModelCard(_readme(hub, "model", "user/ser-bilstm"))
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "audio-classification"
    assert data["library_name"] == "transformers"
    assert {"custom_code", "audio-classification", "speech-emotion-recognition"} <= set(data["tags"])
    assert data["license"] == "cc-by-nc-sa-4.0"  # RAVDESS-derived weights
    assert data["datasets"] == ["ravdess"]
    assert set(data["metrics"]) >= {"accuracy", "recall", "f1"}
    results = {r.metric_type: r for r in card.data.eval_results}
    assert results["accuracy"].metric_value == pytest.approx(CV_RESULTS["mean"]["wa"])
    assert results["recall"].metric_value == pytest.approx(CV_RESULTS["mean"]["ua"])
    assert results["f1"].metric_value == pytest.approx(CV_RESULTS["mean"]["f1_macro"])
    assert all(r.dataset_split == "RAVDESS 6-fold speaker-independent" for r in results.values())
    assert all(r.task_type == "audio-classification" for r in results.values())
    # the body: usage snippet with remote code, labels, limitations
    text = card.text
    assert 'pipeline("audio-classification", model="user/ser-bilstm", trust_remote_code=True)' in text
    assert "| 3 | angry |" in text
    assert "24 actors" in text and "## Limitations" in text and "## Intended use" in text


def test_model_card_from_evaluation_json(published, hub):
    card = ModelCard(_readme(hub, "model", "user/ser-transformer"))
    results = {r.metric_type: r for r in card.data.eval_results}
    assert results["recall"].metric_value == pytest.approx(EVAL_RESULTS["eval_ua"])
    assert results["recall"].dataset_split == "test actors 21-24"
    assert card.data.license == "cc-by-nc-sa-4.0"
    assert "ser_cnn_transformer" in card.data.tags


def test_wrong_token_is_reported_with_the_fix(published, hub):
    message = published["pushed"]["bad_token_error"]
    assert "HF_TOKEN" in message and "user/never-written" in message
    assert ("model", "user/never-written") not in hub.repos


# ----------------------------------------------------------------------------- dataset round trip
def test_dataset_round_trip_rows_and_audio(published):
    from ser_hf.data.corpora import load_corpus

    local = load_corpus("ravdess", published["tmp"] / "ravdess")
    names = local.features["emotion"].names
    expected = {
        Path(r["path"]).name: {"emotion": names[r["emotion"]], "speaker": r["speaker"], "gender": r["gender"]}
        for r in local.remove_columns("audio")
    }
    rows = published["loaded"]["rows"]
    assert len(rows) == len(expected) == 8
    for row in rows:
        assert "/" not in row["file"]  # no local paths published
        assert expected[row["file"]] == {k: row[k] for k in ("emotion", "speaker", "gender")}
    assert published["pushed"]["rc_dataset"] == 0
    arrays = published["arrays"]
    for i in range(len(local)):
        name = Path(local[i]["path"]).name
        original = local[i]["audio"]["array"]
        assert arrays[name].shape == original.shape
        np.testing.assert_allclose(arrays[name], original, atol=1e-5)


def test_dataset_card(published, hub):
    readme = _readme(hub, "dataset", DATASET_REPO)
    header = yaml.safe_load(readme.split("---")[1])
    assert header["license"] == "cc-by-nc-sa-4.0"
    assert "audio-classification" in header["task_categories"]
    assert "configs" in header and "dataset_info" in header  # added by Dataset.push_to_hub, card kept
    assert "RAVDESS" in readme and "| ravdess | 8 | 2 | female 1, male 1 |" in readme
    assert "ravdess8" in readme  # the label scheme is named


# ----------------------------------------------------------------------------- in-process checks
def test_push_without_token_says_how_to_set_it(published, monkeypatch):
    import huggingface_hub

    from ser_hf.hub.push import push_model

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(SERError, match="HF_TOKEN"):
        push_model(published["folders"]["user/ser-bilstm"], "user/x")


def test_a_repo_id_the_hub_would_refuse_is_our_error_before_anything_loads(published, hub):
    """Was huggingface_hub's HFValidationError traceback (after the corpus had loaded)."""
    from ser_hf.cli import push, push_dataset

    with pytest.raises(SERError, match="not a Hub repo id.*user/name"):
        push.cli(["--model", str(published["folders"]["user/ser-bilstm"]), "--repo-id", "bad repo id"])
    with pytest.raises(SERError, match="not a Hub repo id.*user/name"):
        push_dataset.cli(["--corpus", f"ravdess={published['tmp'] / 'nowhere'}", "--repo-id", "a/b/c"])
    # no owner: was an empty repo user/noslash, then "Repository noslash/tree not found"
    with pytest.raises(SERError, match="no owner.*user/name"):
        push.cli(["--model", str(published["folders"]["user/ser-bilstm"]), "--repo-id", "noslash"])
    with pytest.raises(SERError, match="no owner.*user/name"):
        push_dataset.cli(["--corpus", f"ravdess={published['tmp'] / 'nowhere'}", "--repo-id", "noslash"])


def test_model_folder_checks(published, tmp_path):
    from ser_hf.hub.push import model_files

    source = published["folders"]["user/ser-bilstm"]
    names = {p.name for p in model_files(source)}
    assert {"config.json", "model.safetensors", "modeling_ser.py", "errors.py"} <= names
    # a trained folder's split.json goes up as its speakers only (a downloaded copy's
    # `evaluate --split unseen` reads them), without every clip's name and the local split spec
    from ser_hf.hub.push import published_split
    from ser_hf.inference.bundled import bundled_model_path
    from ser_hf.training.evaluation import select_rows

    assert published_split(source) is None
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    (downloaded / "split.json").write_bytes(published_split(bundled_model_path("default")))
    record = json.loads((downloaded / "split.json").read_text())
    assert "ravdess_01" in record["train_speakers"] and not {"row_ids", "spec", "train"} & set(record)
    with pytest.raises(SERError, match="use --split unseen"):
        select_rows(None, "model", "test", model_dir=downloaded)

    pickled = tmp_path / "pickled"
    shutil.copytree(source, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(SERError, match="safetensors"):
        model_files(pickled)

    wrong_auto = tmp_path / "automodel"
    shutil.copytree(source, wrong_auto)
    config = json.loads((wrong_auto / "config.json").read_text())
    config["auto_map"]["AutoModel"] = config["auto_map"].pop("AutoModelForAudioClassification")
    (wrong_auto / "config.json").write_text(json.dumps(config))
    with pytest.raises(SERError, match="AutoModelForAudioClassification"):
        model_files(wrong_auto)

    no_code = tmp_path / "no_code"
    shutil.copytree(source, no_code)
    (no_code / "errors.py").unlink()  # reached only through `from .errors import`
    with pytest.raises(SERError, match="errors.py"):
        model_files(no_code)

    absolute = tmp_path / "absolute"
    shutil.copytree(source, absolute)
    with open(absolute / "modeling_ser.py", "a") as fh:
        fh.write("\nfrom ser_hf.audio import load_audio\n")
    with pytest.raises(SERError, match="imports ser_hf"):
        model_files(absolute)


@pytest.mark.parametrize(
    "results, stat, expected",
    [
        ({"ua": 0.6, "per_class": {"ua": 0.1}}, None, 0.6),
        ({"eval_uar": 0.61, "eval_loss": 1.2}, None, 0.61),
        ({"metrics": {"balanced_accuracy": 0.62}}, None, 0.62),
        ({"mean": {"ua": 0.63}, "std": {"ua": 0.02}, "folds": [{"ua": 0.9}]}, "mean", 0.63),
        ({"ua": {"mean": 0.64, "std": 0.03}}, "mean", 0.64),
        ({"ua_mean": 0.65, "ua_std": 0.04}, "std", 0.04),
        ({"wa": 0.7}, None, None),
    ],
)
def test_find_metric_reads_the_usual_json_shapes(results, stat, expected):
    from ser_hf.hub.cards import find_metric

    assert find_metric(results, "recall", stat) == expected


EVALUATE_SCRIPT = """
import json, sys
args = json.loads(sys.argv[1])
from ser_hf.cli import main
out = {"rc": main(["evaluate", "--model", "user/ser-transformer", "--corpus", "ravdess=" + args["corpus_dir"],
                   "--out", args["out"]])}
out["rc_missing"] = main(["evaluate", "--model", "user/no-such-model", "--corpus", "ravdess=" + args["corpus_dir"],
                          "--out", args["out"] + "-missing"])
# a Hub dataset by its id alone (the form the corpus-spec errors suggest)
out["rc_dataset"] = main(["evaluate", "--model", "user/ser-transformer", "--corpus", "user/ravdess-tiny",
                          "--out", args["out"] + "-dataset"])
print("RESULT " + json.dumps(out))
"""


def test_evaluate_takes_a_hub_model_id(published, hub, tmp_path):
    """``ser-hf evaluate --model user/repo`` answered "model folder not found"; predict took Hub ids.
    The figures are those of the same model's local folder."""
    from ser_hf.cli import main

    env = hub.client_env(tmp_path / "home", token=None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    corpus = str(published["tmp"] / "ravdess")
    args = {"corpus_dir": corpus, "out": str(tmp_path / "hub-eval")}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EVALUATE_SCRIPT), json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = json.loads(proc.stdout.split("RESULT ")[-1]) if "RESULT " in proc.stdout else {}
    assert result.get("rc") == 0, proc.stderr[-3000:]
    assert "model user/ser-transformer (4 classes)" in proc.stdout
    assert result["rc_missing"] == 2 and "user/no-such-model" in proc.stderr and "not found" in proc.stderr
    local = tmp_path / "local-eval"
    folder = str(published["folders"]["user/ser-transformer"])
    assert main(["evaluate", "--model", folder, "--corpus", f"ravdess={corpus}", "--out", str(local)]) == 0
    from_hub = json.loads((tmp_path / "hub-eval" / "metrics.json").read_text())
    here = json.loads((local / "metrics.json").read_text())
    assert from_hub["confusion"] == here["confusion"] and from_hub["ua"] == pytest.approx(here["ua"])
    assert result["rc_dataset"] == 0, proc.stderr[-3000:]
    on_dataset = json.loads((tmp_path / "hub-eval-dataset" / "metrics.json").read_text())
    assert on_dataset["n"] == here["n"] == 8 and on_dataset["ua"] == pytest.approx(here["ua"])


# ----------------------------------------------------------------------------- re-push and failures
REPUSH_SCRIPT = """
import json, sys, time
time.sleep = lambda seconds: None  # huggingface_hub's retry back-off: the failures below are permanent
args = json.loads(sys.argv[1])
from huggingface_hub import HfApi
from ser_hf.cli import main
from ser_hf.hub.push import push_dataset, push_model
repo, api, out = "user/ser-repush", HfApi(), {}
push_model(args["with_split"], repo, eval_json=args["eval_json"])
for path in ("handler.py", "notes.txt", "checkpoints/step100/model.safetensors", "train_args.json",
             "test_metrics.json", "pytorch_model.bin"):  # the user's files, and an earlier run's
    api.upload_file(path_or_fileobj=b"x", path_in_repo=path, repo_id=repo)
out["first"] = api.list_repo_files(repo)
out["rc_repush"] = main(["push", "--model", args["plain"], "--repo-id", repo, "--private"])
out["second"] = api.list_repo_files(repo)
for name, call in (
    ("http_503", lambda: push_model(args["fail"], "user/ser-fail")),
    ("server_died", lambda: push_model(args["dead"], "user/ser-dead")),
    ("dataset_503", lambda: push_dataset("ravdess=" + args["corpus_dir"], "user/ds-fail")),
):
    try:
        call()
        out[name] = "no error"
    except Exception as err:
        out[name] = f"{type(err).__name__}: {err}"
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def repushed(published, hub):
    """A second push to one repo (the first had split.json and eval results, the user added files),
    and uploads the server fails: 503 on every LFS upload, or the connection closed without answer."""
    tmp, source = published["tmp"], published["folders"]["user/ser-bilstm"]
    folders = {k: tmp / f"repush-{k}" for k in ("with_split", "plain", "fail", "dead")}
    for key, folder in folders.items():
        shutil.copytree(source, folder)
        if key in ("fail", "dead"):  # weights the LFS store has not seen (last data byte), so they go up
            weights = bytearray((folder / "model.safetensors").read_bytes())
            weights[-1] ^= 1 if key == "fail" else 2
            (folder / "model.safetensors").write_bytes(bytes(weights))
    shutil.copy(BUNDLED_CNN / "split.json", folders["with_split"] / "split.json")
    corpus = tmp / "ravdess-one-actor"  # parquet the LFS store has not seen
    shutil.copytree(tmp / "ravdess", corpus)
    shutil.rmtree(corpus / "Actor_02")
    hub.faults.update({"^PUT /fake-lfs/user/(ser|ds)-fail/": 503, "^PUT /fake-lfs/user/ser-dead/": 0})
    env = hub.client_env(tmp / "repush_home")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    args = {k: str(v) for k, v in folders.items()} | {
        "eval_json": str(tmp / "eval.json"),
        "corpus_dir": str(corpus),
    }
    try:
        return _run(REPUSH_SCRIPT, args, env, hub, cwd=REPO_ROOT)
    finally:
        hub.faults.clear()


def test_repush_deletes_the_earlier_run_records_and_keeps_the_users_files(repushed, hub):
    """A second push crashed on the fake hub (its 409 lacked ``url``); on the Hub it left the earlier
    model's split.json / eval_results.json (``evaluate --split unseen`` then used the old speakers)
    and deleted any ``*.py`` / ``*.safetensors`` of the user's, sub-folders included."""
    assert {"split.json", "eval_results.json", "train_args.json", "handler.py"} <= set(repushed["first"])
    assert repushed["rc_repush"] == 0
    second = set(repushed["second"])
    gone = {"split.json", "eval_results.json", "train_args.json", "test_metrics.json", "pytorch_model.bin"}
    assert not gone & second
    kept = {"handler.py", "notes.txt", "checkpoints/step100/model.safetensors"}
    assert kept | {"model.safetensors", "modeling_ser.py", "config.json", "README.md"} <= second
    # --private on the existing public repo: it was silently left public
    assert hub.repos[("model", "user/ser-repush")].private is True


def test_push_help_names_the_files_a_push_replaces(capsys):
    from ser_hf.cli import push

    with pytest.raises(SystemExit):
        push.cli(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "split.json" in text and "handler.py" in text and "sub-folders" in text


@pytest.mark.parametrize("case", ["http_503", "server_died", "dataset_503"])
def test_failed_upload_is_our_error(repushed, case):
    """Was a raw RuntimeError("Error while uploading 'model.safetensors' to the Hub.") traceback."""
    message = repushed[case]
    assert message.startswith("SERError") and "cannot push the" in message, message
    assert "retry the push" in message and "Error while uploading" in message  # which file failed
    assert "503" in message if case != "server_died" else "closed the connection" in message


def test_failed_dataset_upload_leaves_no_card(repushed, hub):
    """The card was committed before the data: a repo whose README claimed clips it did not hold."""
    assert repushed["dataset_503"].startswith("SERError")
    assert "README.md" not in hub.repos[("dataset", "user/ds-fail")].commits[-1].files


def test_evaluate_corpus_spec_errors_name_the_form_that_works(tmp_path, monkeypatch):
    """``--corpus user/mycorpus=`` evaluated the working directory; ``mycorpus=user/mycorpus`` said
    a Hub dataset is named owner/name, though that is what it was given."""
    from ser_hf.training.evaluation import load_eval_data

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SERError, match="empty PATH.*--corpus user/mycorpus"):
        load_eval_data(["user/mycorpus="], None)
    with pytest.raises(SERError, match=r"if user/mycorpus is one: --corpus user/mycorpus"):
        load_eval_data(["mycorpus=user/mycorpus"], None)


def test_a_dataset_card_takes_the_uploaders_licence_for_their_own_corpus():
    """A researcher's own corpus was always published as ``license: other`` / "Licence: unknown":
    push-dataset had no way to give its terms."""
    from datasets import ClassLabel, Dataset, Features, Value

    from ser_hf.hub.push import make_dataset_card

    features = Features(
        {
            "emotion": ClassLabel(names=["angry", "neutral"]),
            **{k: Value("string") for k in ("speaker", "gender", "corpus")},
        }
    )
    ds = Dataset.from_dict(
        {"emotion": [0, 1], "speaker": ["s1", "s2"], "gender": ["female", "male"], "corpus": ["mycalls"] * 2},
        features=features,
    )
    assert make_dataset_card(ds, "me/calls").data.license == "other"
    card = make_dataset_card(ds, "me/calls", license="cc-by-4.0")
    assert card.data.license == "cc-by-4.0" and "Licence: `cc-by-4.0` (as the uploader states)" in str(card)
    known = ds.map(lambda row: {"corpus": "ravdess"})  # a known corpus keeps its own terms
    assert make_dataset_card(known, "me/r", license="cc-by-4.0").data.license == "cc-by-nc-sa-4.0"
