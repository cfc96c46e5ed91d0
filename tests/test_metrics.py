"""SER metrics checked against values counted by hand, the offline evaluate module, the PNG."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from ser_hf.errors import SERError
from ser_hf.training.metrics import (
    EVALUATE_MODULE_DIR,
    compute_ser_metrics,
    format_table,
    make_compute_metrics,
    plot_confusion,
)

NAMES = ["neutral", "happy", "sad", "angry", "fearful"]


def _random_case(seed: int, n: int = 97, n_classes: int = 5, absent: int | None = 4):
    rng = np.random.default_rng(seed)
    classes = [c for c in range(n_classes) if c != absent]
    y_true = rng.choice(classes, size=n)
    # mostly right, some confusions, including predictions of the absent class
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, size=n))
    speakers = rng.integers(1, 7, size=n)
    genders = np.where(speakers % 2 == 1, "male", "female")
    return y_true, y_pred, speakers, genders


def _by_hand(y_true, y_pred, n_classes):
    """Confusion, WA, UA and per-class precision/recall by counting in plain Python."""
    cm = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        cm[t][p] += 1
    n = len(y_true)
    wa = sum(cm[i][i] for i in range(n_classes)) / n
    recalls = {i: cm[i][i] / sum(cm[i]) for i in range(n_classes) if sum(cm[i]) > 0}
    precisions = {
        j: cm[j][j] / sum(cm[i][j] for i in range(n_classes))
        for j in range(n_classes)
        if sum(cm[i][j] for i in range(n_classes)) > 0
    }
    ua = sum(recalls.values()) / len(recalls)
    return cm, wa, ua, recalls, precisions


@pytest.mark.parametrize("seed", [0, 1])
def test_metrics_match_hand_counts(seed):
    y_true, y_pred, _, _ = _random_case(seed)
    out = compute_ser_metrics(y_true, y_pred, NAMES)
    cm, wa, ua, recalls, precisions = _by_hand(y_true, y_pred, len(NAMES))

    assert out["n"] == len(y_true)
    assert out["labels"] == NAMES
    assert out["confusion"] == cm
    assert out["wa"] == pytest.approx(wa)
    assert out["ua"] == pytest.approx(ua)
    assert out["ua"] != pytest.approx(out["wa"])  # the case is imbalanced enough to tell them apart
    for i, name in enumerate(NAMES):
        row = out["per_class"][name]
        assert row["support"] == sum(cm[i])
        if i in recalls:
            assert row["recall"] == pytest.approx(recalls[i])
            assert row["accuracy"] == pytest.approx(recalls[i])
        if i in precisions:
            assert row["precision"] == pytest.approx(precisions[i])
        if i in recalls or i in precisions:
            p, r = precisions.get(i, 0.0), recalls.get(i, 0.0)
            assert row["f1"] == pytest.approx(0.0 if p + r == 0 else 2 * p * r / (p + r))
    # macro F1 = mean of the per-class F1 over the classes seen in truth or predictions
    f1s = [row["f1"] for row in out["per_class"].values() if row["f1"] is not None]
    assert out["f1_macro"] == pytest.approx(sum(f1s) / len(f1s))
    supports = [row["support"] for row in out["per_class"].values()]
    weighted = sum((row["f1"] or 0.0) * s for row, s in zip(out["per_class"].values(), supports)) / sum(
        supports
    )
    assert out["f1_weighted"] == pytest.approx(weighted)
    # normalised rows sum to 1 where the class has clips
    for i, row in enumerate(out["confusion_normalized"]):
        assert sum(row) == pytest.approx(1.0 if sum(cm[i]) else 0.0)


def test_absent_classes_keep_their_place_and_are_undefined_not_zero():
    # "fearful" (4) never occurs in the truth but is predicted once; "angry" (3) occurs nowhere
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 4, 1, 1, 2, 0])
    out = compute_ser_metrics(y_true, y_pred, NAMES)

    assert len(out["confusion"]) == 5 and all(len(r) == 5 for r in out["confusion"])
    assert out["confusion"][3] == [0, 0, 0, 0, 0]
    assert out["confusion"][0][4] == 1
    assert out["per_class"]["fearful"]["recall"] is None
    assert out["per_class"]["fearful"]["precision"] == 0.0
    assert out["per_class"]["angry"] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "support": 0,
        "accuracy": None,
    }
    # UA averages the three classes that have clips: (1/2 + 1 + 1/2) / 3
    assert out["ua"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert out["wa"] == pytest.approx(4 / 6)
    assert "not in the references nor predicted (left out): angry" in out["classification_report"]
    assert "fearful" in out["classification_report"]


def test_label_names_and_ids_give_the_same_result():
    y_true, y_pred, _, _ = _random_case(3, n=40)
    by_id = compute_ser_metrics(y_true, y_pred, NAMES)
    by_name = compute_ser_metrics([NAMES[i] for i in y_true], [NAMES[i] for i in y_pred], NAMES)
    assert by_id == by_name


def test_speaker_and_gender_breakdowns():
    y_true, y_pred, speakers, genders = _random_case(5, n=120)
    out = compute_ser_metrics(y_true, y_pred, NAMES, speakers=speakers, genders=genders)

    # numeric speaker ids sort as numbers
    assert list(out["per_speaker"]) == [str(s) for s in sorted(set(speakers.tolist()))]
    for spk, row in out["per_speaker"].items():
        mask = speakers == int(spk)
        assert row["n"] == int(mask.sum())
        assert row["wa"] == pytest.approx(float(np.mean(y_true[mask] == y_pred[mask])))
        _, _, ua, _, _ = _by_hand(y_true[mask], y_pred[mask], len(NAMES))
        assert row["ua"] == pytest.approx(ua)
    assert set(out["per_gender"]) == {"female", "male"}
    assert sum(row["n"] for row in out["per_gender"].values()) == len(y_true)
    male = genders == "male"
    assert out["per_gender"]["male"]["wa"] == pytest.approx(float(np.mean(y_true[male] == y_pred[male])))


def test_probabilities_give_log_loss_and_top2():
    y_true = np.array([0, 1, 2, 2])
    prob = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]])
    out = compute_ser_metrics(y_true, prob.argmax(1), ["a", "b", "c"], y_prob=prob)
    assert out["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.3, 0.8, 0.3])))
    # top-2 hits: row0 yes, row1 (0.5, 0.3 -> class 1 in top 2) yes, row2 yes, row3 (0.5, 0.3) yes
    assert out["top2_accuracy"] == pytest.approx(1.0)
    assert out["wa"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([0, 1, 2], [0, 1], "entries"),
        ([0, 1, 7], [0, 1, 1], "outside"),
        (["neutral", "joy"], ["neutral", "neutral"], "not in label_names"),
        ([], [], "empty"),
    ],
)
def test_bad_inputs_raise_clear_errors(y_true, y_pred, message):
    with pytest.raises(SERError, match=message):
        compute_ser_metrics(y_true, y_pred, NAMES)


def test_make_compute_metrics_for_trainer():
    y_true, y_pred, _, _ = _random_case(7, n=50)
    logits = np.eye(len(NAMES), dtype=np.float32)[y_pred] * 3.0 + 0.1
    compute = make_compute_metrics(NAMES)
    # predictions may come as a tuple (logits, attentions) when attentions are returned
    flat = compute(SimpleNamespace(predictions=(logits, np.zeros((50, 9))), label_ids=y_true))
    assert set(flat) == {"ua", "wa", "f1_macro"}
    assert all(isinstance(v, float) for v in flat.values())
    full = compute_ser_metrics(y_true, y_pred, NAMES)
    assert flat == {k: full[k] for k in flat}


def test_plot_confusion_writes_a_png(tmp_path):
    import matplotlib.image as mpimg

    out = compute_ser_metrics([0, 1, 1, 2], [0, 1, 2, 2], ["neutral", "happy", "sad"])
    path = plot_confusion(out["confusion"], out["labels"], tmp_path / "plots" / "confusion.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 300
    raw = plot_confusion(out["confusion"], out["labels"], tmp_path / "raw.png", normalize=False)
    assert raw.stat().st_size > 0
    with pytest.raises(SERError, match="labels"):
        plot_confusion(out["confusion"], ["a", "b"], tmp_path / "bad.png")


def test_format_table_shows_headline_and_classes():
    y_true, y_pred, _, genders = _random_case(9, n=60)
    out = compute_ser_metrics(y_true, y_pred, NAMES, genders=genders)
    text = format_table(out, title="fold 0")
    assert text.splitlines()[0] == "fold 0"
    assert f"UA={out['ua']:.3f}" in text and f"WA={out['wa']:.3f}" in text
    for name in NAMES:
        assert name in text
    assert "by gender: female" in text


def test_format_table_gives_each_speakers_ua_for_a_few_speakers():
    """A probe comparing its own model with the default on 5 speakers read per-speaker UA from
    metrics.json: the terminal said only `by gender: male`. 2 to 12 speakers are printed, more are not."""
    y_true, y_pred, _, genders = _random_case(9, n=60)
    few = [f"m{i % 5}" for i in range(60)]
    out = compute_ser_metrics(y_true, y_pred, NAMES, speakers=few, genders=genders)
    line = next(x for x in format_table(out).splitlines() if x.startswith("  UA by speaker: "))
    assert line.count("(n=12)") == 5 and f"m0 {out['per_speaker']['m0']['ua']:.3f} (n=12)" in line
    many = compute_ser_metrics(y_true, y_pred, NAMES, speakers=[f"s{i % 20}" for i in range(60)])
    assert "by speaker" not in format_table(many)


def test_evaluate_module_loads_offline_and_agrees(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    evaluate = pytest.importorskip("evaluate")
    from ser_hf.training.metrics import load_evaluate_metric

    y_true, y_pred, speakers, genders = _random_case(11, n=80)
    metric = load_evaluate_metric(keep_in_memory=True)
    assert isinstance(metric, evaluate.EvaluationModule)
    # also via the public path, the way a user without ser_hf's helper would load it
    assert evaluate.load(str(EVALUATE_MODULE_DIR), keep_in_memory=True).name == "ser_metrics"

    for start in range(0, 80, 30):  # batches, as in an evaluation loop
        metric.add_batch(predictions=y_pred[start : start + 30], references=y_true[start : start + 30])
    got = metric.compute(label_names=NAMES, speakers=speakers.tolist(), genders=genders.tolist())
    expected = compute_ser_metrics(y_true, y_pred, NAMES, speakers=speakers, genders=genders)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert math.isclose(got[key], value), key
        else:
            assert got[key] == value, key


def test_report_agrees_with_json_on_never_predicted_classes():
    # precision of a class never predicted was 0.000 in classification_report.txt and counted in its
    # macro average, while metrics.json had null (and the terminal '-')
    out = compute_ser_metrics([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1], ["angry", "happy", "sad"])
    assert out["per_class"]["sad"]["precision"] is None
    report = out["classification_report"]
    sad = next(line.split() for line in report.splitlines() if line.strip().startswith("sad"))
    assert sad[1] == "-" and "0.000" != sad[1]
    macro = next(line.split() for line in report.splitlines() if "macro avg" in line)
    # precision averaged over the predicted classes only: (0.667 + 0.333) / 2
    assert macro[2] == "0.500" and float(macro[4]) == pytest.approx(out["f1_macro"], abs=5e-4)
