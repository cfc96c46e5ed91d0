"""ONNX export of both families: dynamic axes, parity with PyTorch, int8, ONNX Runtime inference, CLI."""

from __future__ import annotations

import errno
import functools
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_speechlike, make_tone

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import onnx  # noqa: E402

from ser_hf.cli.export import cli
from ser_hf.errors import SERError  # noqa: E402
from ser_hf.inference.classifier import EmotionClassifier  # noqa: E402
from ser_hf.inference.onnx_classifier import (
    OnnxEmotionClassifier,
    load_classifier,  # noqa: E402
)
from ser_hf.inference.onnx_export import _ExportWrapper, export_onnx
from ser_hf.inference.onnx_runtime import FP32_TOLERANCE, OnnxRuntimeBackend
from ser_hf.training.presets import build_model  # noqa: E402

LABELS = ["neutral", "happy", "sad", "angry"]
SR = 16000
TINY = {
    "a": ("seed-logmel-bilstm", {"conv_channels": [4, 8], "lstm_hidden_size": 8}),
    "b": (
        "cnn-transformer",
        {"conv_channels": [4, 4, 8, 8], "d_model": 16, "nhead": 2, "num_layers": 2, "dim_feedforward": 16},
    ),
    "c": ("compact", {"channels": 16, "num_blocks": 2, "attention_hidden_size": 8}),
}


@torch.no_grad()
def _perturbed(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BatchNorm statistics and biases (fresh BN is the identity in eval mode and would
    hide a padding leak, BN(0) = 0)."""
    gen = torch.Generator().manual_seed(seed)
    for tensor in [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]:
        tensor.add_(0.2 * torch.randn(tensor.shape, generator=gen))
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_var.abs_().add_(0.5)
    return model.eval()


def _save_tiny(folder: Path, family: str) -> Path:
    preset, overrides = TINY[family]
    torch.manual_seed(0)
    model, fe = build_model(preset, LABELS, feature_overrides={"n_mels": 32}, **overrides)
    _perturbed(model).save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx_models")
    return {f: _save_tiny(root / f, f) for f in TINY}


@pytest.fixture(scope="module")
def exported(dirs, tmp_path_factory) -> dict[str, dict]:
    """Family A and the compact family through the Python API, family B through the CLI; all with int8."""
    out = tmp_path_factory.mktemp("onnx_out")
    results = {f: export_onnx(dirs[f], out / f"{f}.onnx", quantize="int8") for f in ("a", "c")}
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli(
            ["--model", str(dirs["b"]), "--out", str(out / "b.onnx"), "--quantize", "int8"]
            + ["--json", str(out / "b.json")]
        )
    assert code == 0
    results["b"] = json.loads((out / "b.json").read_text())
    results["b"]["stdout"] = buf.getvalue()
    return results


@functools.cache
def _torch_model(model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModelForAudioClassification

    return AutoModelForAudioClassification.from_pretrained(model_dir).eval()


def _torch_probs(model_dir: Path, feats: np.ndarray, mask: np.ndarray) -> np.ndarray:
    model = _torch_model(model_dir)
    with torch.inference_mode():
        logits = model(input_features=torch.from_numpy(feats), attention_mask=torch.from_numpy(mask)).logits
    return torch.softmax(logits, -1).numpy()


def _ort_probs(backend: OnnxRuntimeBackend, feats: np.ndarray, mask: np.ndarray) -> np.ndarray:
    logits = backend.predict_logits(feats, mask).astype(np.float64)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ----------------------------------------------------------------------------- export + parity
@pytest.mark.parametrize("family", ["a", "b", "c"])
def test_export_has_dynamic_axes_metadata_and_fp32_parity(exported, family):
    result = exported[family]
    path = Path(result["path"])
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["input_features", "attention_mask"]
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    for value in proto.graph.input:  # batch and time are symbolic, not a traced size
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param and dims[1].dim_param and not dims[1].HasField("dim_value")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["ser_hf.id2label"]) == {str(i): name for i, name in enumerate(LABELS)}
    assert json.loads(meta["ser_hf.feature_extractor"])["n_mels"] == 32

    rows = result["parity"]
    singles = [r for r in rows if r["batch"] == 1]
    assert len({r["frames"] for r in singles}) >= 3  # three clip lengths through one graph
    assert any(r["batch"] > 1 for r in rows)  # and a padded mixed-length batch
    assert all(r["fp32_max_abs_diff"] <= FP32_TOLERANCE for r in rows)
    assert all(r["fp32_top1_agreement"] == 1.0 for r in rows)
    assert result["fp32_max_abs_diff"] == max(r["fp32_max_abs_diff"] for r in rows)


@pytest.mark.parametrize("family", ["a", "b", "c"])
def test_graph_matches_pytorch_on_unseen_shapes(exported, dirs, family):
    """Lengths and batch sizes the export never saw, including clips shorter than the CNN's
    pooling (the backend pads them the way the model does) and a clip padded far beyond its end."""
    backend = OnnxRuntimeBackend(exported[family]["path"])
    rng = np.random.default_rng(1)
    for batch, frames in [(1, 5), (1, 16), (3, 137), (2, 1234)]:
        feats = rng.standard_normal((batch, frames, 32)).astype(np.float32)
        mask = np.ones((batch, frames), dtype=np.int64)
        if batch > 1:
            mask[1, frames // 3 :] = 0
        got, ref = _ort_probs(backend, feats, mask), _torch_probs(dirs[family], feats, mask)
        assert np.abs(got - ref).max() <= FP32_TOLERANCE, (batch, frames)
    # the padded clip scores the same as the clip alone
    alone = _ort_probs(backend, feats[1:2, : 1234 // 3], mask[1:2, : 1234 // 3])
    assert np.abs(got[1] - alone[0]).max() <= FP32_TOLERANCE


@pytest.mark.parametrize("family", ["a", "b", "c"])
def test_int8_export_is_smaller_valid_and_its_difference_reported(exported, family):
    result = exported[family]
    int8 = Path(result["int8_path"])

    def weight_bytes(path) -> int:  # the tiny test models' graphs outweigh their weights: compare weights
        return sum(onnx.numpy_helper.to_array(t).nbytes for t in onnx.load(path).graph.initializer)

    assert int8.is_file() and weight_bytes(int8) < weight_bytes(result["path"])
    ops = {n.op_type for n in onnx.load(int8).graph.node}
    assert ops & {"DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeLSTM", "ConvInteger"}
    # the metadata says what is int8: "MatMul and LSTM" was said of the LSTM-less families too
    said = {p.key: p.value for p in onnx.load(int8).metadata_props}["ser_hf.quantization"]
    assert ("LSTM" in said) == ("DynamicQuantizeLSTM" in ops) == (family == "a") and "MatMul" in said
    assert np.isfinite(result["int8_max_abs_diff"])
    assert all("int8_max_abs_diff" in r for r in result["parity"])
    feats = np.random.default_rng(2).standard_normal((2, 200, 32)).astype(np.float32)
    probs = _ort_probs(OnnxRuntimeBackend(int8), feats, np.ones((2, 200), dtype=np.int64))
    assert np.isfinite(probs).all() and np.allclose(probs.sum(-1), 1.0)


def test_cli_writes_the_files_and_prints_the_parity_table(exported):
    stdout = exported["b"]["stdout"]
    assert "wrote" in stdout and "b.onnx" in stdout and "b.int8.onnx" in stdout
    for row in ("| 0.5 s |", "| 3 s |", "| 7 s |", "| padded batch"):
        assert row in stdout
    assert "fp32 max abs diff" in stdout and "int8 max abs diff" in stdout


def test_parity_check_rejects_a_graph_that_differs(dirs, tmp_path, monkeypatch):
    original = _ExportWrapper.forward

    def shifted(self, input_features, attention_mask):
        logits, _ = original(self, input_features, attention_mask)
        logits = logits + torch.tensor([0.5, 0.0, 0.0, 0.0])  # a wrong graph
        return logits, torch.softmax(logits, -1)

    monkeypatch.setattr(_ExportWrapper, "forward", shifted)
    out = tmp_path / "bad.onnx"
    with pytest.raises(SERError, match="disagree"):
        export_onnx(dirs["a"], out)
    assert not out.exists()


def test_export_checks_its_paths_first_and_reports_the_opset_it_wrote(dirs, tmp_path):
    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    for argv, option in (
        (["--out", str(a_file / "m.onnx")], "--out"),
        (["--out", str(tmp_path / "m.onnx"), "--json", str(tmp_path)], "--json"),
    ):
        with pytest.raises(SERError, match=option):
            cli(["--model", str(dirs["c"]), *argv])
    assert not (tmp_path / "m.onnx").exists()
    # an opset below what the exporter writes: the report and the file agree (it said 5, wrote 18)
    result = export_onnx(dirs["c"], tmp_path / "low.onnx", opset=5, check=False)
    written = {o.domain: o.version for o in onnx.load(tmp_path / "low.onnx").opset_import}
    assert result["opset"] == written.get("", written.get("ai.onnx"))


def test_an_export_leaves_no_int8_file_of_another_model_beside_its_own(dirs, tmp_path):
    """Export A with --quantize int8, then B without it to the same --out: A's m.int8.onnx stayed
    beside B's m.onnx (7 labels against 8); a killed save's temporary file stayed for ever."""
    export_onnx(dirs["c"], tmp_path / "m.onnx", quantize="int8", check=False)
    assert (tmp_path / "m.int8.onnx").is_file()
    (tmp_path / ".m.onnx-killed.part").write_bytes(b"half a model")  # an earlier version's name
    from ser_hf.training.saving import staged_file

    with pytest.raises(KeyboardInterrupt), staged_file(tmp_path / "m.onnx") as tmp:  # a save killed now
        tmp.write_bytes(b"half a model")
        os.link(tmp, tmp.with_name(tmp.name + "-kept.onnx"))  # as the kill would have left it
        raise KeyboardInterrupt
    export_onnx(dirs["a"], tmp_path / "m.onnx", check=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_an_export_to_a_legal_long_name_is_written(dirs, tmp_path):
    """`ser-hf export --out NAME` with a 250-byte NAME (legal: the limit is 255) failed with "File name
    too long" (exit 74): the temporary file beside it was `.{NAME}-XXXXXXXX.part`."""
    from ser_hf.cli import main

    out = tmp_path / ("m" * 245 + ".onnx")
    (tmp_path / ".ser-hf-old.part").write_bytes(b"not ours")  # another file's: kept
    assert main(["export", "--model", str(dirs["c"]), "--out", str(out), "--no-check"]) == 0
    assert onnx.load(out).graph.input and sorted(p.name for p in tmp_path.iterdir()) == [
        ".ser-hf-old.part",
        out.name,
    ]


def test_an_export_on_a_full_disk_keeps_the_earlier_file_and_names_the_file(dirs, tmp_path, capsys):
    """A full disk while the .onnx is saved: exit 74 and one line naming --out (it named the
    temporary file), the earlier export at --out whole."""
    from ser_hf.cli import main

    out = tmp_path / "m.onnx"
    argv = ["export", "--model", str(dirs["c"]), "--out", str(out), "--no-check"]
    assert main(argv) == 0
    before = out.read_bytes()
    capsys.readouterr()

    save = onnx.save

    def full_disk(proto, f, *args, **kwargs):  # the disk of --out is full (the exporter's scratch is not)
        if Path(f).parent != tmp_path:
            return save(proto, f, *args, **kwargs)
        Path(f).write_bytes(proto.SerializeToString()[:100])
        raise OSError(errno.ENOSPC, "No space left on device", str(f))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(onnx, "save", full_disk)
        assert main(argv) == 74
    err = capsys.readouterr().err
    assert err == f"ser-hf export: error: cannot write {out} (No space left on device)\n"
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_export_errors(dirs, tmp_path):
    with pytest.raises(SERError, match="config.json"):
        export_onnx(tmp_path, tmp_path / "x.onnx")
    with pytest.raises(SERError, match="quantize"):
        export_onnx(dirs["a"], tmp_path / "x.onnx", quantize="int4")
    with pytest.raises(SERError, match=r"\.onnx"):
        export_onnx(dirs["a"], tmp_path / "x.bin")
    with pytest.raises(SERError, match="not found"):
        OnnxEmotionClassifier(tmp_path / "missing.onnx")


def test_a_model_on_hand_made_values_is_refused_with_commands_that_run(tmp_path):
    """A functionals model on hand-made values (the bundled speech-stats) reads values computed in
    Python: the refusal says so and names commands that exist (it once named a command the CLI does
    not have). The default exports (test_onnx_turn.py)."""
    import re

    from ser_hf.cli import COMMANDS
    from ser_hf.inference.bundled import bundled_model_path

    with pytest.raises(SERError, match="cannot run inside an ONNX graph") as err:
        export_onnx(bundled_model_path("speech-stats"), tmp_path / "stats.onnx")
    assert not (tmp_path / "stats.onnx").exists()
    commands = re.findall(r"ser-hf ([a-z-]+)", str(err.value))
    assert commands and all(c in COMMANDS for c in commands), commands
    assert "EmotionClassifier" in str(err.value)


# ----------------------------------------------------------------------------- inference
@pytest.mark.parametrize("family", ["a", "b", "c"])
def test_onnx_classifier_matches_pytorch_classifier(exported, dirs, family):
    torch_clf = EmotionClassifier(dirs[family], device="cpu")
    alone = OnnxEmotionClassifier(exported[family]["path"])  # labels + features from the metadata
    with_dir = load_classifier(str(dirs[family]), exported[family]["path"])  # ser-hf predict --onnx
    assert isinstance(with_dir, OnnxEmotionClassifier) and alone.labels == LABELS
    clips = [make_speechlike(2.5, seed=3), make_tone(300.0, 0.2), make_speechlike(6.0, seed=4, f0=220.0)]
    for clip in clips:
        ref = {s["label"]: s["score"] for s in torch_clf.classify(clip)}
        for clf in (alone, with_dir):
            got = clf.classify(clip)
            assert [s["label"] for s in got][0] == max(ref, key=ref.get)
            assert all(abs(s["score"] - ref[s["label"]]) <= 1e-4 for s in got)
    batch = alone.classify_batch(clips, batch_size=3, top_k=2)
    singles = [alone.classify(c, top_k=2) for c in clips]
    for b, s in zip(batch, singles):
        assert [x["label"] for x in b] == [x["label"] for x in s]
        assert np.allclose([x["score"] for x in b], [x["score"] for x in s], atol=1e-5)


def test_onnx_classifier_shows_itself_and_checks_its_device(exported, tmp_path, capsys):
    import soundfile as sf

    from ser_hf.cli import main

    clf = OnnxEmotionClassifier(exported["a"]["int8_path"])
    assert repr(clf).startswith("OnnxEmotionClassifier(") and "OnnxRuntimeBackend" in repr(clf)  # raised
    for device, why in (("tpu", "cpu or cuda"), ("cdua", "not a device name")):
        with pytest.raises(SERError, match=why):
            OnnxEmotionClassifier(exported["a"]["path"], device=device)
    clip = tmp_path / "clip.wav"
    sf.write(clip, make_speechlike(1.0, seed=2), 16000)
    # predict --onnx used to run on the CPU with a misspelt --device, without a word
    assert main(["predict", "--onnx", str(exported["a"]["path"]), "--device", "cdua", str(clip)]) == 2
    err = capsys.readouterr().err
    assert "cdua" in err and "Traceback" not in err


@pytest.mark.parametrize("family", ["a", "b", "c"])
def test_int8_file_scores_a_clip_the_same_in_any_batch(exported, family):
    """ONNX Runtime's dynamic int8 scales activations over the whole input; the backend runs an int8
    file one clip per call, so ``classify_batch`` gives each clip what ``classify`` gives it."""
    clf = OnnxEmotionClassifier(exported[family]["int8_path"])
    assert (
        clf.backend.one_clip_per_call and not OnnxRuntimeBackend(exported[family]["path"]).one_clip_per_call
    )
    clips = [make_speechlike(2.5, seed=3), make_tone(300.0, 0.2), make_speechlike(6.0, seed=4, f0=220.0)]
    singles = [{s["label"]: s["score"] for s in clf.classify(c)} for c in clips]
    for batch in (
        clf.classify_batch(clips, batch_size=3),
        clf.classify_batch(clips[::-1], batch_size=2)[::-1],
    ):
        for got, want in zip(batch, singles):
            assert {s["label"]: s["score"] for s in got} == pytest.approx(want, abs=1e-6)


def test_onnx_classifier_checks_labels_against_the_graph(exported, dirs, tmp_path):
    other = tmp_path / "five"
    model, fe = build_model("seed-logmel-bilstm", [*LABELS, "fearful"], feature_overrides={"n_mels": 32})
    model.save_pretrained(other)
    fe.save_pretrained(other)
    with pytest.raises(SERError, match="5"):
        OnnxEmotionClassifier(other, onnx_path=exported["a"]["path"])
    # the same classes in another order (a folder corpus sorts its labels): the folder's names went on
    # the graph's scores without a word
    shuffled = tmp_path / "shuffled"
    model, fe = build_model("seed-logmel-bilstm", sorted(LABELS), feature_overrides={"n_mels": 32})
    model.save_pretrained(shuffled)
    fe.save_pretrained(shuffled)
    for make in (OnnxEmotionClassifier, EmotionClassifier):
        with pytest.raises(SERError, match="exported with the classes"):
            make(shuffled, onnx_path=exported["a"]["path"])
    # renamed classes in the same order (translated labels) are the folder's names, with a warning
    renamed = tmp_path / "renamed"
    model, fe = build_model(
        "seed-logmel-bilstm", [n.upper() for n in LABELS], feature_overrides={"n_mels": 32}
    )
    model.save_pretrained(renamed)
    fe.save_pretrained(renamed)
    assert OnnxEmotionClassifier(renamed, onnx_path=exported["a"]["path"]).labels == [
        n.upper() for n in LABELS
    ]
    with pytest.raises(SERError, match="gives 4 scores but the labels name 5"):
        EmotionClassifier(other, onnx_path=exported["a"]["path"])


def test_exported_files_are_readable_by_others_and_the_log_fits_the_family(dirs, exported, tmp_path, caplog):
    """Exports go through a temporary file (mode 0600) but end with a plain file's mode; a
    Transformer export does not log "0 LSTM layers"."""
    import logging
    import os

    umask = os.umask(0)
    os.umask(umask)
    with caplog.at_level(logging.INFO, logger="ser_hf"):
        export_onnx(dirs["b"], tmp_path / "b.onnx", quantize="int8")
    for path in [tmp_path / "b.onnx", tmp_path / "b.int8.onnx"]:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    assert "LSTM" not in caplog.text and "exporting" in caplog.text


def test_an_onnx_file_of_another_model_is_named_as_such_not_an_onnxruntime_error(exported, dirs, tmp_path):
    """A .onnx paired with another model folder of the same classes loaded, then failed each clip
    with ONNX Runtime's "Invalid rank for input" / "Got: 128 Expected: 80"; then (a probe) each clip
    was an error row of `ser-hf predict --onnx`: now refused once, at load."""
    other = tmp_path / "wider"  # the same classes, 48 log-mels where the graph reads 32
    model, fe = build_model("seed-logmel-bilstm", LABELS, feature_overrides={"n_mels": 48})
    model.save_pretrained(other)
    fe.save_pretrained(other)
    clip = make_speechlike(1.0, seed=2)
    for make in (OnnxEmotionClassifier, EmotionClassifier):
        with pytest.raises(
            SERError, match=r"reads features of shape \(\?, \?, 32\).*exported from another model"
        ):
            make(other, onnx_path=exported["a"]["path"])
    ours = OnnxEmotionClassifier(dirs["a"], onnx_path=exported["a"]["path"])
    assert len(ours.classify(clip)) == len(LABELS)
    with pytest.raises(
        SERError, match="runs an ONNX graph.*no onnx_path"
    ):  # it named an argument never given
        ours.adapt([clip, clip])


def test_export_compares_the_graphs_with_pytorch_on_the_users_own_clips(dirs, tmp_path, capsys):
    """The parity table uses generated clips; a user's int8 file agreed on 111 of 120 of their clips
    and nothing said so. ``--check-clips`` scores their clips with each graph and with PyTorch."""
    import soundfile as sf

    clips = tmp_path / "mine"
    clips.mkdir()
    for i in range(3):
        sf.write(clips / f"c{i}.wav", make_speechlike(1.0 + i, seed=i), SR)
    (clips / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    (clips / "gone.wav").symlink_to(tmp_path / "deleted.wav")  # a broken link: one more unreadable clip
    out, report = tmp_path / "m.onnx", tmp_path / "m.json"
    argv = ["--model", str(dirs["c"]), "--out", str(out), "--quantize", "int8", "--json", str(report)]
    with pytest.raises(SERError, match="nowhere"):
        cli([*argv, "--check-clips", str(tmp_path / "nowhere")])
    assert not out.exists()  # refused before the export
    assert cli([*argv, "--check-clips", str(clips)]) == 0
    rows = json.loads(report.read_text())["clips"]
    fp32, int8 = rows[str(out)], rows[str(out.with_suffix(".int8.onnx"))]
    assert fp32["n"] == int8["n"] == 3
    assert list(json.loads(report.read_text())["clips_unreadable"]) == [
        str(clips / n) for n in ("broken.wav", "gone.wav")
    ]
    assert fp32["top1_agreement"] == 1.0 and fp32["max_abs_diff"] < FP32_TOLERANCE
    assert 0 < int8["max_abs_diff"] < 0.2
    printed = capsys.readouterr().out
    assert "On 3 of your 5 clips (2 unreadable, below)" in printed and "| m.int8.onnx | 3 |" in printed
    assert f"skipped (unreadable): {clips / 'broken.wav'}" in printed
    # each named once: `skipped (unreadable): mine/notes.wav: mine/notes.wav: not a readable...` was printed
    for name in ("broken.wav", "gone.wav"):
        line = next(
            x for x in printed.splitlines() if x.startswith(f"skipped (unreadable): {clips / name}: ")
        )
        assert f"{clips / name}: {clips / name}" not in line and line.count(f": {clips / name}") == 1
    # clips none of which decode are refused before the export, not after it
    out.unlink()
    with pytest.raises(SERError, match="none of the clips could be read") as refused:
        cli([*argv, "--check-clips", str(clips / "broken.wav")])
    assert not out.exists()
    assert str(refused.value).count(f"{clips / 'broken.wav'}: ") == 1  # named once, with its reason


def test_export_json_dash_is_stdout_as_in_predict(dirs, tmp_path, monkeypatch, capsys):
    """`ser-hf export ... --json -` wrote a file literally named `-`; in predict `-` is stdout."""
    monkeypatch.chdir(tmp_path)
    assert cli(["--model", str(dirs["c"]), "--out", "m.onnx", "--no-check", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["path"] == "m.onnx" and "wrote m.onnx" in captured.err
    assert not (tmp_path / "-").exists()
