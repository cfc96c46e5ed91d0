"""ONNX export of the default (a turn-encoder model): encoder, pooling and head in one graph from log-mels.

The export must match PyTorch running the same float32 graph (one clip or a padded batch), and an ONNX
user must get the package's answers: the same top label on real speech (the example clips, RAVDESS),
through the Python API and through ``ser-hf export`` / ``ser-hf predict --onnx``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import onnx  # noqa: E402

from ser_hf.cli import export, predict  # noqa: E402
from ser_hf.data.audio import load_audio  # noqa: E402
from ser_hf.errors import SERError  # noqa: E402
from ser_hf.inference.bundled import bundled_model_path  # noqa: E402
from ser_hf.inference.classifier import EmotionClassifier  # noqa: E402
from ser_hf.inference.levels import SILENCE_DB, level_db  # noqa: E402
from ser_hf.inference.onnx_classifier import OnnxEmotionClassifier  # noqa: E402
from ser_hf.inference.onnx_runtime import FP32_TOLERANCE, TURN_INPUT_KIND  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "demo" / "examples").glob("*.flac"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """``ser-hf export --model default --quantize int8``, as a user runs it (with the warnings it logs)."""
    out = tmp_path_factory.mktemp("default_onnx") / "default.onnx"
    argv = ["--model", "default", "--out", str(out), "--quantize", "int8", "--json", f"{out}.json"]
    buf = io.StringIO()
    warnings = _Warnings()
    root = logging.getLogger()
    root.addHandler(warnings)
    try:
        with contextlib.redirect_stdout(buf):
            assert export.cli(argv) == 0
    finally:
        root.removeHandler(warnings)
    return {
        **json.loads(Path(str(out) + ".json").read_text()),
        "stdout": buf.getvalue(),
        "warnings": warnings.messages,
    }


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(scope="module")
def package() -> EmotionClassifier:
    return EmotionClassifier()


def test_the_default_exports_with_dynamic_axes_and_fp32_parity(exported):
    proto = onnx.load(exported["path"])
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["ser_hf.input"] == TURN_INPUT_KIND and json.loads(meta["ser_hf.id2label"])
    for value in proto.graph.input:  # batch and frames stay symbolic
        dims = value.type.tensor_type.shape.dim
        assert not dims[0].HasField("dim_value") and not dims[1].HasField("dim_value"), value.name
    rows = {r["input"]: r for r in exported["parity"]}
    assert {"0.5 s", "3 s", "7 s"} <= set(rows) and any(r["batch"] > 1 for r in rows.values())
    assert all(
        r["fp32_max_abs_diff"] <= FP32_TOLERANCE and r["fp32_top1_agreement"] == 1.0 for r in rows.values()
    )
    assert Path(exported["int8_path"]).stat().st_size < 0.5 * Path(exported["path"]).stat().st_size
    assert "package's own int8" in exported["stdout"] and "| padded batch" in exported["stdout"]


def test_the_export_calls_the_extractor_with_the_rate(exported):
    """The parity check called the default's extractor without ``sampling_rate``: now that an
    extractor warns of the rate it assumes, ``ser-hf export`` would have told the user to pass one."""
    assert not [m for m in exported["warnings"] if "`sampling_rate` argument" in m], exported["warnings"]


def test_check_clips_warns_once_of_a_clip_longer_than_the_model_reads(exported, tmp_path):
    """`ser-hf export --check-clips LONG.wav` (39 s) printed "39 s long; this model reads only about its
    last 8 s" three times: PyTorch, then the fp32 and the int8 graph, each warned of the same clip."""
    import soundfile as sf

    from ser_hf.inference.bundled import default_model_path
    from ser_hf.inference.onnx_classifier import agreement_on_clips, read_clips

    long = tmp_path / "long.wav"
    sf.write(long, np.concatenate([load_audio(str(p), 16000) for p in EXAMPLES[:4]]), 16000)  # about 14 s
    model = str(default_model_path())
    warnings = _Warnings()
    root = logging.getLogger()
    root.addHandler(warnings)
    try:  # as the command runs them
        samples, names, _ = read_clips(model, [str(long)])
        rows = agreement_on_clips(model, [exported["path"], exported["int8_path"]], samples, names)
    finally:
        root.removeHandler(warnings)
    assert len(rows) == 2 and all(r["n"] == 1 for r in rows.values())
    said = [m for m in warnings.messages if "this model reads only about its last" in m]
    assert len(said) == 1 and "long.wav" in said[0], warnings.messages


def test_the_exported_files_describe_their_inputs_licence_and_batching_without_local_paths(exported):
    """A user running the graph without the package could not tell how to compute its inputs (odd frame
    counts fail), that int8 batches move scores, or the weights' licence and the encoder's notice; the
    building machine's folder was in the file."""
    repo = str(Path(__file__).resolve().parents[1])
    for kind in ("path", "int8_path"):
        proto = onnx.load(exported[kind])
        meta = {p.key: p.value for p in proto.metadata_props}
        assert (
            "EVEN count from 2 to 800" in meta["ser_hf.inputs_spec"]
            and "(x + 4) / 4" in meta["ser_hf.inputs_spec"]
        )
        assert meta["ser_hf.license"].startswith("cc-by-nc") or meta["ser_hf.license"].startswith("other")
        assert "BSD" in meta["ser_hf.third_party_notice"] and "MIT" in meta["ser_hf.third_party_notice"]
        assert ("ser_hf.batch" in meta) == (kind == "int8_path")
        assert all(repo not in v for v in [proto.doc_string, *meta.values()])
        assert repo.encode() not in Path(exported[kind]).read_bytes()  # the nodes' stack traces held 900


def test_the_graph_runs_from_audio_with_numpy_and_onnxruntime_alone(exported, tmp_path):
    """The export said only "turn-encoder-log-mels": a user without torch had to port the trimming and
    Whisper's log-mels by reading the source. ``ser-hf export`` now writes them in numpy beside the graph;
    a process that cannot import torch or ser_hf gets the package's inputs and answers from WAV files."""
    import importlib.util
    import subprocess
    import sys

    import soundfile as sf

    from ser_hf.inference.onnx_turn import TurnEncoderInputs

    script = Path(exported["preprocess_path"])
    assert script.name == "default_preprocess.py" and script.parent == Path(exported["path"]).parent
    speech = [load_audio(p, 16000) for p in EXAMPLES[:3]]
    waves = {
        "short": speech[0][20000:24800],  # 0.3 s of speech
        "long": np.concatenate(speech * 4),  # over the 8-s window
        "silent": np.zeros(16000, np.float32),
        "quiet": 0.01 * speech[1],
        "plain": speech[2],
    }
    wavs = []
    for name, wave in waves.items():  # 16-bit WAV files, read back as both routes read them
        sf.write(tmp_path / f"{name}.wav", wave, 16000, subtype="PCM_16")
        wavs.append(str(tmp_path / f"{name}.wav"))
    spec = importlib.util.spec_from_file_location("default_preprocess", script)
    numpy_only = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(numpy_only)
    clf = OnnxEmotionClassifier(exported["path"])
    reference = clf.feature_extractor  # what the package feeds the graph
    assert isinstance(reference, TurnEncoderInputs)
    for path in wavs:
        wave, rate = numpy_only.read_audio(path)
        assert rate == 16000 and np.allclose(wave, load_audio(path, 16000), atol=1e-6)
        if level_db(wave) < SILENCE_DB:  # ser-hf predict's "silence": no inputs (tests/test_onnx_kit.py)
            continue
        ours, theirs = numpy_only.turn_inputs([wave], rate), reference(wave, sampling_rate=16000)
        assert ours["input_features"].shape == theirs["input_features"].shape, path
        assert np.array_equal(ours["attention_mask"], theirs["attention_mask"])
        assert np.abs(ours["input_features"] - theirs["input_features"]).max() < 1e-4, path
    user = f"""
import sys
sys.modules["torch"] = sys.modules["ser_hf"] = None  # neither can be imported
sys.path.insert(0, {str(script.parent)!r})
import json, onnxruntime as ort, numpy as np
from default_preprocess import classify, read_audio
session = ort.InferenceSession({exported["path"]!r})
for path in {wavs!r}:
    print(path, classify(session, *read_audio(path))[0]["label"], sep="\\t")
"""
    run = subprocess.run([sys.executable, "-c", user], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = dict(line.split("\t") for line in run.stdout.splitlines())
    silent = {p for p in wavs if level_db(load_audio(p, 16000)) < SILENCE_DB}  # "silent" and "quiet"
    assert {Path(p).stem for p in silent} == {"silent", "quiet"}
    expected = {p: "silence" if p in silent else clf.classify(p)[0]["label"] for p in wavs}
    assert printed == expected


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_onnx_default_gives_the_package_answers_on_real_speech(exported, package, kind):
    """The eight RAVDESS example clips: the same top label as the package, scores close; a padded batch
    gives what the clips give one at a time."""
    clf = OnnxEmotionClassifier(exported["path" if kind == "fp32" else "int8_path"])  # settings from metadata
    assert clf.labels == package.labels
    clips = [load_audio(str(p), 16000) for p in EXAMPLES]
    assert len(clips) == 8
    for clip in clips:
        ref = {s["label"]: s["score"] for s in package.classify(clip, top_k=None)}
        got = clf.classify(clip, top_k=None)
        assert got[0]["label"] == max(ref, key=ref.get)
        assert max(abs(s["score"] - ref[s["label"]]) for s in got) < 0.1
    batch = clf.classify_batch(clips, batch_size=8, top_k=None)
    for clip, b in zip(clips, batch):
        alone = {s["label"]: s["score"] for s in clf.classify(clip, top_k=None)}
        assert np.allclose([s["score"] for s in b], [alone[s["label"]] for s in b], atol=1e-4)


@pytest.mark.parametrize("model", [[], ["--model", "default"]])
def test_predict_onnx_on_the_command_line(exported, package, capsys, model):
    """``ser-hf predict --onnx default.int8.onnx FILE``, with no model folder or with the bundled
    model's name (which once failed: the name was read as a folder): the package's label."""
    capsys.readouterr()
    assert predict.cli([str(EXAMPLES[1]), "--onnx", exported["int8_path"], *model, "--json", "-"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["label"] == package.classify(str(EXAMPLES[1]))[0]["label"]


def test_a_turn_graph_with_another_models_folder_is_refused(exported):
    with pytest.raises(SERError, match="turn-encoder model"):
        OnnxEmotionClassifier(bundled_model_path("cnn"), onnx_path=exported["path"])


def test_the_plain_classifier_on_a_turn_graph_says_which_class_runs_it(exported):
    """``EmotionClassifier(onnx_path=...)`` feeds the model's pooled values, which a turn graph does not
    read: a clear error naming the class that runs it, not ONNX Runtime's shape error."""
    with pytest.raises(SERError, match="OnnxEmotionClassifier"):  # said at load
        EmotionClassifier(onnx_path=exported["path"])
    # a fusion's extra inputs: a typed error naming the file (it raised AttributeError before)
    with pytest.raises(SERError, match="frame features only") as err:
        OnnxEmotionClassifier(exported["path"]).backend.predict_logits(
            np.zeros((1, 10, 80), np.float32), np.ones((1, 10)), functionals=np.zeros((1, 3))
        )
    assert err.value.source == exported["path"]
