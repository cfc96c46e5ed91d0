"""The bundled models (the default fusion in ``bundled/fusion``, the CNN-Transformer alone in
``bundled/model`` and the functionals + logistic-regression model in ``bundled/functionals``): load
in the stock pipeline through the registered Auto classes, classify the example clips, never saw the
examples' actors, and hold weights and configs only (no copy of the model code)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ser_hf  # noqa: F401  (registers the model classes)

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "ser_hf" / "bundled" / "model"
FUNCTIONALS = REPO / "ser_hf" / "bundled" / "functionals"
FUSION = REPO / "ser_hf" / "bundled" / "fusion"
DEFAULT = REPO / "ser_hf" / "bundled" / "turn_encoder_2_voices_crops"
TURN_ENCODER_2_VOICES = REPO / "ser_hf" / "bundled" / "turn_encoder_2_voices"  # the default of session 25
VOICE_ENCODER_2_VOICES = (
    REPO / "ser_hf" / "bundled" / "voice_encoder_2_voices"
)  # the default of sessions 16-24
SPEECH_STATS_MFCC_SPEECH_VOICES = REPO / "ser_hf" / "bundled" / "speech_stats_mfcc_speech_voices"
SPEECH_STATS_MFCC_ROOMS = REPO / "ser_hf" / "bundled" / "speech_stats_mfcc_rooms"
SPEECH_STATS_MFCC_VOICES = REPO / "ser_hf" / "bundled" / "speech_stats_mfcc_voices"
SPEECH_STATS_MFCC_CHANNEL = REPO / "ser_hf" / "bundled" / "speech_stats_mfcc_channel"
SPEECH_STATS_PITCH = REPO / "ser_hf" / "bundled" / "speech_stats_pitch"  # the previous defaults
SPEECH_STATS = REPO / "ser_hf" / "bundled" / "speech_stats"
BUNDLES = {
    "model": BUNDLED,
    "functionals": FUNCTIONALS,
    "fusion": FUSION,
    "speech_stats": SPEECH_STATS,
    "speech_stats_pitch": SPEECH_STATS_PITCH,
    "speech_stats_mfcc_channel": SPEECH_STATS_MFCC_CHANNEL,
    "speech_stats_mfcc_rooms": SPEECH_STATS_MFCC_ROOMS,
    "speech_stats_mfcc_speech_voices": SPEECH_STATS_MFCC_SPEECH_VOICES,
    "turn_encoder_2_voices_crops": DEFAULT,
    "turn_encoder_2_voices": TURN_ENCODER_2_VOICES,
    "voice_encoder_2_voices": VOICE_ENCODER_2_VOICES,
    "speech_stats_mfcc_voices": SPEECH_STATS_MFCC_VOICES,
}
RAVDESS8 = {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"}
# the default is trained on RAVDESS + TESS with the harmonised classes (calm folded into neutral)
HARMONIZED7 = RAVDESS8 - {"calm"}
EXAMPLES = sorted((REPO / "demo" / "examples").glob("*.flac"))


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_bundled_folders_hold_no_model_code_and_no_auto_map(bundle):
    """One copy of the model code (ser_hf/models); bundled folders load through the Auto classes
    that `import ser_hf` registers (the code is written next to a model when it is pushed)."""
    folder = BUNDLES[bundle]
    assert not list(folder.rglob("*.py"))
    for name in ("config.json", "preprocessor_config.json"):
        assert "auto_map" not in (folder / name).read_text(), f"{bundle}/{name} still points at remote code"


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_bundled_model_classifies_the_examples_through_the_stock_pipeline(bundle):
    from transformers import pipeline

    if bundle in ("functionals", "fusion"):
        pytest.importorskip("opensmile")
    clf = pipeline("audio-classification", model=str(BUNDLES[bundle]))
    labels = set(clf.model.config.id2label.values())
    assert labels == (
        HARMONIZED7 if bundle.startswith(("speech_stats", "voice_encoder", "turn_encoder")) else RAVDESS8
    )
    assert len(EXAMPLES) == 8
    for path in EXAMPLES:
        scores = clf(str(path), top_k=8)
        values = np.array([s["score"] for s in scores])
        assert np.all(np.isfinite(values)) and abs(values.sum() - 1.0) < 1e-4
        assert {s["label"] for s in scores} == labels


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_examples_come_from_the_bundled_models_test_actors(bundle):
    """The docs say the example clips are unseen speakers for the bundled models: keep that true."""
    split = json.loads((BUNDLES[bundle] / "split.json").read_text())
    seen = set(split["train_speakers"]) | set(split["validation_speakers"])
    actors = {f"ravdess_{p.stem.split('-')[-1]}" for p in EXAMPLES}
    assert actors <= set(split["test_speakers"]) and not actors & seen


def test_functionals_alias_loads_the_bundled_functionals_model():
    pytest.importorskip("opensmile")
    from ser_hf import EmotionClassifier

    clf = EmotionClassifier("functionals", device="cpu")
    assert clf.config.model_type == "ser_functionals_linear"
    scores = clf.classify(str(EXAMPLES[0]))
    assert abs(sum(s["score"] for s in scores) - 1.0) < 1e-4


def test_default_model_is_turn_encoder_2_voices_crops_and_names_pick_the_others():
    from ser_hf import EmotionClassifier
    from ser_hf.inference.bundled import DEFAULT_PRESET, bundled_model_path, default_model_path

    assert default_model_path() == DEFAULT == bundled_model_path("turn-encoder-2-voices-crops")
    assert bundled_model_path("turn-encoder-2-voices") == TURN_ENCODER_2_VOICES
    assert bundled_model_path("voice-encoder-2-voices") == VOICE_ENCODER_2_VOICES
    assert bundled_model_path("speech-stats-mfcc-speech-voices") == SPEECH_STATS_MFCC_SPEECH_VOICES
    assert bundled_model_path("speech-stats-mfcc-rooms") == SPEECH_STATS_MFCC_ROOMS
    assert bundled_model_path("speech-stats-mfcc-voices") == SPEECH_STATS_MFCC_VOICES
    assert bundled_model_path("speech-stats-mfcc-channel") == SPEECH_STATS_MFCC_CHANNEL
    assert json.loads((DEFAULT / "train_args.json").read_text())["model"]["preset"] == DEFAULT_PRESET
    assert bundled_model_path("speech-stats-pitch") == SPEECH_STATS_PITCH
    assert bundled_model_path("speech-stats") == SPEECH_STATS
    assert bundled_model_path("cnn") == BUNDLED and bundled_model_path("functionals") == FUNCTIONALS
    assert bundled_model_path("fusion") == FUSION
    with pytest.raises(ser_hf.SERError, match="choose one of"):
        bundled_model_path("nope")
    default = EmotionClassifier(device="cpu")
    assert default.config.model_type == "ser_functionals_linear"
    assert default.config.functionals == "turn-encoder-2"
    assert default.config.training_corpora == ["ravdess", "tess"]
    scores = default.classify(str(EXAMPLES[0]), top_k=None)
    assert {s["label"] for s in scores} == HARMONIZED7 and abs(sum(s["score"] for s in scores) - 1) < 1e-4
    assert EmotionClassifier("cnn", device="cpu").config.model_type == "ser_cnn_transformer"


def test_a_bundled_name_spelt_as_its_folder_loads_and_a_slip_names_the_choices(monkeypatch, tmp_path):
    """``turn_encoder_2_voices`` (the folder's spelling) and ``defualt`` went to the Hub and failed
    with transformers' long message, no hint of the bundled names."""
    from ser_hf.inference.bundled import resolve_model_name

    monkeypatch.chdir(tmp_path)  # no folder of those names here
    assert resolve_model_name("turn_encoder_2_voices") == TURN_ENCODER_2_VOICES
    assert resolve_model_name("Default") == DEFAULT
    with pytest.raises(ser_hf.SERError, match="did you mean 'default'.*Bundled: default, "):
        ser_hf.EmotionClassifier("defualt")
    assert resolve_model_name("superb/wav2vec2-base-superb-er") == "superb/wav2vec2-base-superb-er"
    (tmp_path / "defualt").mkdir()  # a folder of that name is the user's model, not a slip
    assert resolve_model_name("defualt") == "defualt"


def test_default_warns_that_it_reads_only_the_last_8_s_of_a_long_clip(caplog):
    """The turn encoder's window is 8 s: a 3-minute clip through ``classify`` is scored on its tail.
    The classifier says so and points to ``timeline``; a clip within the window gets no warning."""
    import soundfile as sf

    from ser_hf import EmotionClassifier

    clf = EmotionClassifier(device="cpu")
    clip, rate = sf.read(EXAMPLES[0], dtype="float32")
    with caplog.at_level("WARNING", logger="ser_hf.inference.inputs"):
        clf.classify(clip, sampling_rate=rate)
    assert "reads only" not in caplog.text
    with caplog.at_level("WARNING", logger="ser_hf.inference.inputs"):
        clf.classify_batch([np.tile(clip, 6)], sampling_rate=rate)
    assert "reads only about its last 8 s" in caplog.text and "timeline()" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.inference.inputs"):
        clf.timeline(np.tile(clip, 10), window_s=20.0, sampling_rate=rate)  # ser-hf predict --window 20
    assert "scored on about its last 8 s only" in caplog.text
    with caplog.at_level("WARNING", logger="ser_hf.inference.inputs"):
        clf.classify(clip[:1], sampling_rate=rate)  # one sample once got "angry 0.58" without a word
    assert "too short to hold speech" in caplog.text
    assert "check the recording level" not in caplog.text  # it was also "-240 dBFS": not a level problem


def test_default_model_needs_no_opensmile(tmp_path):
    """The default runs where openSMILE is not installed (it is the [opensmile] extra)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['opensmile'] = None\n"
        "from ser_hf import EmotionClassifier\n"
        f"print(EmotionClassifier(device='cpu').classify({str(EXAMPLES[0])!r})[0]['label'])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] in HARMONIZED7


def test_fusion_needs_opensmile_and_says_which_extra(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['opensmile'] = None\n"
        "from ser_hf import EmotionClassifier, SERError\n"
        "try:\n"
        f"    EmotionClassifier('fusion', device='cpu').classify({str(EXAMPLES[0])!r})\n"
        "except SERError as err:\n"
        "    print('ERROR', err)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ERROR" in proc.stdout and "need openSMILE: pip install" in proc.stdout
    assert "[opensmile]" in proc.stdout and "ser-hf[" not in proc.stdout  # ser-hf is not on PyPI


def test_default_fusion_holds_the_functionals_model_and_its_weights_sum_to_one():
    """The fusion's first member is the shipped functionals model (the same fold-5 fit), and the
    fold-5 test scores stored beside it are the cross-validation's (benchmarks/results/cv_fusion)."""
    from safetensors.torch import load_file

    config = json.loads((FUSION / "config.json").read_text())
    assert config["member_weights"] == pytest.approx([0.5, 1 / 6, 1 / 6, 1 / 6])
    assert [m["model_type"] for m in config["members"]] == ["ser_functionals_linear"] + [
        "ser_cnn_transformer"
    ] * 3
    fused = load_file(FUSION / "model.safetensors")
    alone = load_file(FUNCTIONALS / "model.safetensors")
    for name, tensor in alone.items():
        assert np.array_equal(fused[f"members.0.{name}"].numpy(), tensor.numpy()), name
    stored = json.loads((FUSION / "test_metrics.json").read_text())
    cv = json.loads((REPO / "benchmarks" / "results" / "cv_fusion" / "cv_results.json").read_text())
    assert stored["ua"] == pytest.approx(cv["folds"][5]["ua"])
