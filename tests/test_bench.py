"""``ser-hf bench --quick``: every part runs in its own process and writes finite figures.

No timing assertions (the machines are shared and noisy); the test checks that the command
measures what BENCH.md promises and that the report is well formed.
"""

from __future__ import annotations

import json
import math

import pytest

from ser_hf.cli import bench
from ser_hf.errors import SERError
from ser_hf.inference.bundled import DEFAULT_PRESET, default_model_path


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # latency and demo have their own tests (test_onnx / test_demo*); here they would double the time
    rc = bench.cli(["--quick", "--out", str(out), "--skip", "latency", "demo"])
    return rc, out


@pytest.mark.slow
def test_quick_bench_writes_finite_ratios(quick_report):
    rc, out = quick_report
    assert rc == 0, (out / "BENCH.md").read_text()
    report = json.loads((out / "bench.json").read_text())
    assert report["quick"] is True and report["skipped"] == ["latency", "demo"]
    assert set(report["parts"]) == {
        "default",
        "avx2",
        "onnx",
        "presets",
        "cv",
        "memory",
        "features",
        "augment",
        "timeline",
        "training",
    }
    expected = {
        "pipeline p50: wav2vec2-base peer / bundled default",
        "pipeline p50: wav2vec2-base peer / bundled cnn",
        "pipeline p50 on AVX2 kernels: wav2vec2-base peer / bundled default",
        "default latency p50: pipeline / OnnxEmotionClassifier.classify, int8",
        "default ONNX int8: share of clips with the package's top label",
        "evaluate peak RSS 10x corpus / 1x",
        "features ours_logmel/ast",
        "features ours_logmel/librosa",
        "features ours_mfcc_deltas/librosa",
        "augment batched/librosa",
        "training train_runtime/fold wall",
        "training samples/s cached features / waveforms: compact-small",
        "long recording: pipeline per window / timeline",
        "long recording: pipeline per window / timeline, min_speech_s=None",
    }
    assert expected <= set(report["ratios"])
    assert all(math.isfinite(v) and v > 0 for v in report["ratios"].values())
    train = report["parts"]["training"]
    # one fold end to end: the training loop is part of, and shorter than, the whole process
    assert 0 < train["train_runtime_s"] < train["fold_wall_s"]
    assert train["train_samples_per_second"] > 0 and train["peak_rss_mb"] > 50
    assert train["audio_files"] == 24 * 8
    presets = {r["preset"]: r for r in report["parts"]["presets"]["rows"]}
    small = presets["compact-small"]
    assert small["parameters"] > 1000 and small["mflops"] > 0 and small["latency_ms"] > 0
    assert small["train_samples_per_s"] > 0 and small["cached_train_samples_per_s"] > 0
    default = presets[DEFAULT_PRESET]  # the default preset: the reference of the latency column
    assert (
        default["train_samples_per_s"] is None and default["latency_vs_default"] == 1.0
    )  # fitted, not stepped
    assert small["latency_vs_default"] == small["latency_ms"] / default["latency_ms"]
    cv = report["parts"]["cv"]
    # --quick: two speaker-independent folds (the full run: the 6-fold protocol), every clip tested once
    assert cv["folds"] == 2 and cv["clips"] == 24 * 8 and cv["wall_s"] > 0 and cv["peak_rss_mb"] > 50
    assert (
        "## Cross-validation on a CPU: 2 speaker-independent folds of `speech-stats`"
        in (out / "BENCH.md").read_text()
    )
    memory = report["parts"]["memory"]["runs"]
    assert memory["10"]["clips"] == 10 * memory["1"]["clips"]
    # the default's ONNX export gave the package's top label on most of the example clips
    assert report["parts"]["onnx"]["files"] == 8
    assert report["parts"]["onnx"]["agreement"]["fp32"]["top1_agreement"] >= 0.75
    # the AVX2 part really computed on AVX2 kernels (not the AVX-512 ones a bigger CPU would pick)
    assert report["parts"]["avx2"]["kernels"] == "torch AVX2, FBGEMM int8 AVX2"
    assert report["parts"]["default"]["kernels"].startswith(f"torch {report['machine']['cpu_capability']},")
    # the long recording: every window of the stock pipeline's loop is a window of the timeline; the
    # speech detector leaves out the generated music (and only it: the rest is RAVDESS speech and pauses)
    paths = report["parts"]["timeline"]["paths"]
    reference, detector, off = (
        paths["pipeline per window"],
        paths["timeline"],
        paths["timeline, min_speech_s=None"],
    )
    assert reference["windows"] == detector["windows"] == off["windows"] == 14  # 30 s: 4-s windows every 2 s
    assert off["classified"] == off["windows"] and detector["classified"] <= off["classified"]
    labels = json.loads((default_model_path() / "config.json").read_text())["id2label"].values()
    assert detector["label"] in labels and detector["realtime_factor"] > 0
    m = report["machine"]
    assert m["logical_cores"] >= 1 and m["ram_gb"] > 0 and m["versions"]["torch"]


@pytest.mark.slow
def test_bench_md_describes_machine_and_each_part(quick_report):
    _, out = quick_report
    text = (out / "BENCH.md").read_text()
    for heading in (
        "## Machine",
        "## The default model vs a wav2vec2-base peer",
        "## The same on AVX2 kernels",
        "## The default through ONNX Runtime",
        "## Feature extraction",
        "## Augmentation",
        "## Training",
        "## Every preset",
        "## A long recording",
        "## latency",
    ):
        assert heading in text
    assert "skipped (`--skip`)" in text and "Command: `python" in text


def test_bad_data_dir_is_refused(tmp_path, capsys, monkeypatch):
    assert bench.cli(["--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()
    # an --out that is a file was a FileExistsError traceback; a relative --data-dir was looked up in
    # the repository (where the parts run), measuring another folder or none
    (tmp_path / "afile").write_text("")
    with pytest.raises(SERError, match="afile is a file; --out takes a folder"):
        bench.cli(["--out", str(tmp_path / "afile")])
    seen = {}
    monkeypatch.setattr(
        bench, "run_all", lambda out, **kw: seen.update(kw) or {"ratios": {}, "parts": {}, "total_wall_s": 0}
    )
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    assert bench.cli(["--data-dir", "data", "--out", "out", "--skip", "default"]) == 0
    assert seen["data_dir"] == tmp_path / "data"
    # a --skip run over a report with figures for the skipped parts would replace them: refused
    seen.clear()
    (tmp_path / "out").mkdir()
    figures = {"parts": {"default": {"p50_ms": 5.0}, "demo": {"error": "x"}}}
    (tmp_path / "out" / "bench.json").write_text(json.dumps(figures))
    assert bench.cli(["--out", "out", "--skip", "default", "demo"]) == 2
    assert "figures for default (an earlier run)" in capsys.readouterr().err and not seen
    assert bench.cli(["--out", "out", "--skip", "demo"]) == 0  # a failed part's record is no loss
    assert bench.cli(["--out", "out", "--skip", "default", "--force"]) == 0


def test_a_quick_run_never_replaces_the_published_report_and_a_pip_install_is_told(
    tmp_path, monkeypatch, capsys
):
    """`ser-hf bench --quick` wrote its smoke-test figures over the clone's benchmarks/BENCH.md and
    bench.json (the published report); from a pip install (no benchmarks/ scripts) every part failed."""
    from ser_hf.bench.measure import BENCH_DIR, PARTS

    published = (BENCH_DIR / "bench.json").read_bytes()
    monkeypatch.chdir(tmp_path)
    assert bench.cli(["--quick", "--skip", *PARTS]) == 0  # every part skipped: only the report is written
    assert (tmp_path / "bench-quick" / "bench.json").is_file()
    assert (BENCH_DIR / "bench.json").read_bytes() == published
    monkeypatch.setattr(bench, "BENCH_DIR", tmp_path / "site-packages" / "benchmarks")
    assert bench.cli(["--quick", "--skip", *PARTS]) == 2
    assert "a pip install has the package only); run it from a clone" in capsys.readouterr().err


def test_latency_of_a_model_onnx_cannot_export_and_a_failed_part_in_one_line(tmp_path, caplog):
    """A functionals model (like a fusion) cannot be exported to ONNX: the latency part failed with
    two tracebacks (exit 1); it times the PyTorch paths and says in one line why ONNX is left out.
    A part that truly fails is one line naming its log, with the traceback in that log only."""
    import numpy as np
    from conftest import make_speechlike

    from ser_hf.bench.measure import PARTS
    from ser_hf.training.functionals import FunctionalsExtractor, _fit, to_pretrained

    fx = FunctionalsExtractor("ours")
    x = np.stack([fx(make_speechlike(0.8, f0=f0, seed=i)) for i, f0 in enumerate([110, 120, 300, 320])])
    model, extractor = to_pretrained(_fit(x, np.array([0, 0, 1, 1]), c=0.1, seed=0), ["low", "high"], "ours")
    folder = tmp_path / "functionals"
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    others = [p for p in PARTS if p != "latency"]

    out = tmp_path / "out"
    assert bench.cli(["--quick", "--model", str(folder), "--out", str(out), "--skip", *others]) == 0
    text = (out / "BENCH.md").read_text()
    assert "| model: extractor + forward | 1 |" in text and "| pipeline (stock, end to end) | 1 |" in text
    reason = [line for line in text.splitlines() if line.startswith("No ONNX rows")]
    assert len(reason) == 1 and "cannot" in reason[0], text
    assert "ONNX Runtime" not in text.split("## Inference latency")[1].split("\n\n", 1)[1]
    assert "Traceback" not in text and "Traceback" not in caplog.text

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "nope"}')
    caplog.clear()
    out = tmp_path / "out_broken"
    assert bench.cli(["--quick", "--model", str(broken), "--out", str(out), "--skip", *others]) == 1
    failed = [line for line in (out / "BENCH.md").read_text().splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and f"full output: {out / 'latency.log'}" in failed[0]
    assert "Traceback" in (out / "latency.log").read_text()
    assert "Traceback" not in (out / "BENCH.md").read_text() and "Traceback" not in caplog.text
