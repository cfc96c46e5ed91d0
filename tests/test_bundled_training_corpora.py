"""Every bundled model records the corpora it trained on (``training_corpora`` in its config.json), so
``ser-hf evaluate`` and a card made of its result can say whether a test corpus is in-domain or
cross-corpus. The fusion and functionals bundles predate the record: evaluated on TESS or RAVDESS
they said "the model records no training corpora" and scored TESS on classes it does not have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

import ser_hf  # noqa: F401  (registers the model classes)

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "ser_hf" / "bundled"
BUNDLES = sorted(p.parent for p in BUNDLED.glob("*/config.json"))
SR = 16000


def _split_corpora(folder: Path) -> list[str]:
    """The corpora of the speakers the model trained or was chosen on, by its split.json."""
    split = json.loads((folder / "split.json").read_text())
    speakers = split["train_speakers"] + split["validation_speakers"]
    return sorted({s.split("_")[0] for s in speakers})


@pytest.mark.parametrize("folder", BUNDLES, ids=[p.name for p in BUNDLES])
def test_every_bundled_model_records_the_corpora_of_its_split(folder):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(folder)  # as evaluate and the classifier read it
    assert config.training_corpora == _split_corpora(folder), folder.name


def test_the_bundled_fusions_record_is_its_members():
    """The fusion's own record is the union of its members' (all four trained on RAVDESS), as
    ``build_fusion`` derives it; fusing the shipped functionals and CNN models records the same."""
    from ser_hf.inference.fusion import build_fusion

    config = json.loads((BUNDLED / "fusion" / "config.json").read_text())
    members = [m.get("training_corpora") for m in config["members"]]
    assert all(members), members
    assert config["training_corpora"] == sorted({c for corpora in members for c in corpora}) == ["ravdess"]
    fused, _ = build_fusion(["functionals", "cnn"])
    assert fused.config.training_corpora == config["training_corpora"]


def _ravdess(root: Path) -> Path:
    """Actors 20 (trained on) and 21 (a test actor of every RAVDESS bundle) x neutral, calm x 2."""
    from conftest import make_speechlike

    seed = 0
    for actor in (20, 21):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for code in (1, 2):
            for statement in (1, 2):
                seed += 1
                name = f"03-01-{code:02d}-01-{statement:02d}-01-{actor:02d}.wav"
                sf.write(folder / name, make_speechlike(0.8, f0=120 + 30 * code, seed=seed), SR)
    return root


def _tess(root: Path) -> Path:
    """OAF x neutral, sad x 2 words."""
    from conftest import make_speechlike

    for i, emotion in enumerate(("neutral", "sad")):
        folder = root / f"OAF_{emotion}"
        folder.mkdir(parents=True)
        for w in range(2):
            sf.write(
                folder / f"OAF_w{w}_{emotion}.wav", make_speechlike(0.8, f0=200 + 40 * i, seed=50 + w), SR
            )
    return root


def test_evaluate_says_the_bundled_fusion_is_in_domain_on_ravdess_and_cross_corpus_on_tess(tmp_path, capsys):
    pytest.importorskip("opensmile")
    from ser_hf.cli import evaluate as evaluate_cli
    from ser_hf.hub.scope import corpus_scope

    ravdess, tess = _ravdess(tmp_path / "ravdess"), _tess(tmp_path / "tess")
    base = ["--model", "fusion", "--device", "cpu", "--workers", "1"]
    out = tmp_path / "ravdess_unseen"
    argv = [*base, "--corpus", f"ravdess={ravdess}", "--split", "unseen", "--out", str(out)]
    assert evaluate_cli.cli(argv) == 0
    printed = capsys.readouterr().out
    assert "tested on ravdess; the model trained on ravdess: in-domain" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cross_corpus"] is False and metrics["training_corpora"] == ["ravdess"]
    assert set(metrics["per_speaker"]) == {"ravdess_21"}  # actor 20 trained the model: left out
    parts, tag, notes = corpus_scope(metrics)
    assert tag == "in-domain" and any("so they are speaker-independent" in n for n in notes), notes

    out = tmp_path / "tess_all"
    assert evaluate_cli.cli([*base, "--corpus", f"tess={tess}", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tested on tess; the model trained on ravdess: cross-corpus" in printed
    assert "records no training corpora" not in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cross_corpus"] is True and metrics["test_corpora"] == ["tess"]
    assert metrics["scored_classes"] == {"tess": ["neutral", "sad"]}  # an unseen corpus: the classes it has
    parts, tag, _ = corpus_scope(metrics)
    assert tag == "cross-corpus" and "cross-corpus (the model never trained on TESS)" in parts
