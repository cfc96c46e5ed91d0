"""Label schemes: fixed class order, mappings, dropped rows, gender_emotion, cross-corpus mapping."""

from __future__ import annotations

import pytest

from ser_hf.data.labels import (
    LABEL_SCHEMES,
    cross_scheme_mapping,
    id2label,
    label2id,
    map_label,
    normalize_emotion,
    scheme_names,
    shared_classes,
)
from ser_hf.errors import SERError


def test_scheme_class_order_and_id_maps():
    assert scheme_names("ravdess8") == [
        "neutral",
        "calm",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    ]
    assert scheme_names("harmonized7") == [
        "neutral",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    ]
    assert scheme_names("common6") == ["angry", "disgust", "fearful", "happy", "neutral", "sad"]
    assert "calm" not in scheme_names("nocalm7") and "boredom" in scheme_names("emodb7")
    for name in [*LABEL_SCHEMES, "gender_emotion"]:
        i2l, l2i = id2label(name), label2id(name)
        assert [i2l[i] for i in range(len(i2l))] == scheme_names(name)
        assert all(l2i[label] == i for i, label in i2l.items())
    with pytest.raises(SERError, match="unknown label scheme"):
        scheme_names("ravdess9")


@pytest.mark.parametrize(
    ("raw", "scheme", "expected"),
    [
        ("calm", "ravdess8", "calm"),
        ("calm", "harmonized7", "neutral"),
        ("calm", "nocalm7", None),
        ("calm", "common6", "neutral"),
        ("pleasant_surprise", "harmonized7", "surprised"),
        ("Pleasant_surprised", "ravdess8", "surprised"),
        ("ps", "nocalm7", "surprised"),
        ("surprised", "common6", None),
        ("boredom", "harmonized7", None),
        ("boredom", "emodb7", "boredom"),
        ("Fear", "harmonized7", "fearful"),
        ("anger", "common6", "angry"),
        ("sadness", "emodb7", "sad"),
    ],
)
def test_map_label(raw, scheme, expected):
    assert map_label(raw, scheme) == expected


def test_gender_emotion_scheme():
    names = scheme_names("gender_emotion")
    assert len(names) == 14 and names[0] == "female_neutral" and names[7] == "male_neutral"
    assert map_label("anger", "gender_emotion", gender="F") == "female_angry"
    assert map_label("calm", "gender_emotion", gender="male") == "male_neutral"  # harmonized7 base
    assert map_label("angry", "gender_emotion", gender="unknown") is None
    assert map_label("angry", "gender_emotion") is None
    assert map_label("boredom", "gender_emotion", gender="female") is None
    assert scheme_names("gender_emotion:common6")[:2] == ["female_angry", "female_disgust"]
    assert map_label("calm", "gender_emotion:ravdess8", gender="male") == "male_calm"


def test_unknown_labels_raise_with_a_fix():
    assert normalize_emotion("excitement") is None
    with pytest.raises(SERError, match="label_map"):
        map_label("excitement", "harmonized7")


def test_cross_scheme_mapping_and_shared_classes():
    assert cross_scheme_mapping("ravdess8", "harmonized7") == {
        "neutral": "neutral",
        "calm": "neutral",
        "happy": "happy",
        "sad": "sad",
        "angry": "angry",
        "fearful": "fearful",
        "disgust": "disgust",
        "surprised": "surprised",
    }
    # a model's config.id2label (string keys as in config.json) onto EmoDB's scheme
    model = {"0": "neutral", "1": "angry", "2": "surprised", "3": "boredom"}
    assert cross_scheme_mapping(model, "emodb7") == {
        "neutral": "neutral",
        "angry": "angry",
        "boredom": "boredom",
    }
    assert cross_scheme_mapping(model, "common6") == {"neutral": "neutral", "angry": "angry"}
    assert cross_scheme_mapping(scheme_names("gender_emotion"), "common6")["male_fearful"] == "fearful"
    assert shared_classes("ravdess8", "emodb7") == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]
    assert shared_classes("emodb7", "ravdess8") == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]
    assert shared_classes("harmonized7", "common6") == scheme_names("common6")
    assert shared_classes("common6", "harmonized7") == [
        "neutral",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
    ]
