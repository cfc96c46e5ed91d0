"""Every card the project publishes parses the way the Hub reads it: the model cards (the top-level
one and each bundled model's) with ``huggingface_hub.ModelCard``, the demo's Space header with
``SpaceCard``, the metric card with ``RepoCard``."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import ModelCard, RepoCard, SpaceCard

REPO = Path(__file__).resolve().parents[1]
MODEL_CARDS = [REPO / "model_card.md", *sorted((REPO / "ser_hf" / "bundled").glob("*/README.md"))]


@pytest.mark.parametrize("path", MODEL_CARDS, ids=lambda p: str(p.relative_to(REPO)))
def test_model_cards_parse(path):
    card = ModelCard.load(path)
    data = card.data.to_dict()
    assert data.get("pipeline_tag") == "audio-classification", path
    assert data.get("license"), path
    assert card.text.strip().startswith("#"), "a body under the YAML header"


def test_the_space_header_parses_as_the_hub_reads_it():
    card = SpaceCard.load(REPO / "demo" / "README.md")
    data = card.data
    assert data.sdk == "gradio" and (REPO / "demo" / data.app_file).is_file()
    assert isinstance(data.short_description, str) and 0 < len(data.short_description) <= 60
    assert data.title and data.license and "audio-classification" in data.tags


def test_the_metric_card_parses():
    card = RepoCard.load(REPO / "ser_hf" / "training" / "ser_metrics" / "README.md")
    assert "evaluate" in card.data.to_dict()["tags"]


def test_a_generated_card_says_what_the_default_models_features_are():
    """A pushed copy of the default gets a card that names its features, not openSMILE."""
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path, default_model_path

    card = str(make_model_card(default_model_path(), "someone/ser-default", datasets=["ravdess", "tess"]))
    assert "1536 utterance functionals (`turn-encoder-2`: the mean and standard deviation" in card
    assert "first two transformer layers of a pretrained speech encoder fine-tuned on intonation" in card
    assert "smart-turn v3.2's Whisper-tiny encoder: Daily, BSD-2-Clause; OpenAI, MIT" in card
    assert "opensmile" not in card.lower()
    previous = make_model_card(bundled_model_path("speech-stats-mfcc-speech-voices"), "someone/ser-prev")
    assert "1558 utterance functionals (`speech-stats-mfcc-speech`: 7 statistics of 64 log-mel bands" in str(
        previous
    )
