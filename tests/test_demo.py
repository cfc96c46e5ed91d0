"""The Gradio demo (demo/app.py): handlers called directly, and a gradio_client round trip.

A tiny untrained model stands in for the bundled one; the example clips of demo/examples are the
real inputs. Everything runs offline on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import EXAMPLES, REPO, make_speechlike, save_tiny_bilstm

from ser_hf import load_audio

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
SR = 16000


# ------------------------------------------------------------------------- helpers (shared by the
# browser and load tests, which import them from here)
def load_app() -> ModuleType:
    """demo/app.py imported as a module, the way Gradio and `python demo/app.py` run it."""
    name = "ser_hf_demo_app_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "demo" / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def save_tiny_model(folder: Path) -> Path:
    """A tiny CNN-BiLSTM-Attention with the eight RAVDESS labels (untrained, seeded)."""
    return save_tiny_bilstm(folder, LABELS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched(app: ModuleType, classifier) -> Iterator[str]:
    """The demo served on 127.0.0.1 with its production limits; yields the URL, closes afterwards."""
    demo = app.build_demo(classifier)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def bad_inputs(folder: Path) -> dict[str, Path]:
    """Files a user may upload by mistake; each must be answered with a message naming it."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "empty": folder / "empty.wav",
        "random": folder / "random_bytes.wav",
        "text": folder / "notes.txt",
        "nan": folder / "nan_samples.wav",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    files["text"].write_text("this is not audio\n" * 20)
    x = make_speechlike(1.0)
    x[100:200] = np.nan
    sf.write(files["nan"], x, SR, subtype="FLOAT")
    return files


def huge_file(folder: Path, app: ModuleType) -> Path:
    """A wav name over the demo's size limit (sparse: no disk is really used)."""
    path = folder / "huge.wav"
    with open(path, "wb") as fh:
        fh.truncate(app.MAX_FILE_BYTES + 1024 * 1024)
    return path


# ------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def app() -> ModuleType:
    return load_app()


@pytest.fixture(scope="module")
def clf(tmp_path_factory, app):
    from ser_hf import EmotionClassifier

    return EmotionClassifier.from_pretrained(save_tiny_model(tmp_path_factory.mktemp("tiny")), device="cpu")


@pytest.fixture(scope="module")
def example() -> Path:
    clips = sorted(EXAMPLES.glob("*.flac"))
    assert len(clips) >= 4, "demo/examples should hold the RAVDESS example clips"
    return clips[0]


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("short") / "short clip.wav"
    sf.write(path, make_speechlike(2.0, seed=3), SR)
    return path


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Two example clips one after another (about 7.8 s): longer than one window."""
    from ser_hf import load_audio

    x = np.concatenate([load_audio(p) for p in sorted(EXAMPLES.glob("*.flac"))[2:4]])
    path = tmp_path_factory.mktemp("long") / "two_clips.wav"
    sf.write(path, x, SR)
    return path


def _assert_label_dict(label: dict[str, float]) -> None:
    assert set(label) == set(LABELS)
    assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for v in label.values())
    assert abs(sum(label.values()) - 1.0) < 1e-6


# ------------------------------------------------------------------------- the Space's requirements
def test_the_spaces_requirements_provide_every_package_app_imports():
    """demo/requirements.txt listed `ser-hf` (no matplotlib: only the [demo] and [train] extras bring it)
    and gradio, so an install from it lacked matplotlib, which app.py imports at the top."""
    import ast
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")

    def norm(name: str) -> str:
        return name.lower().replace("_", "-")

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = pyproject["optional-dependencies"]
    lines = (REPO / "demo" / "requirements.txt").read_text().splitlines()
    provided: set[str] = set()
    pending = [Requirement(line) for line in lines if line.strip() and not line.startswith(("#", "-"))]
    while pending:  # ser-hf's own extras unfold from pyproject; other packages bring their requirements
        req = pending.pop()
        provided.add(norm(req.name))
        if norm(req.name) == "ser-hf":
            pending += [Requirement(r) for r in pyproject["dependencies"]]
            pending += [Requirement(r) for extra in req.extras for r in extras[extra]]
        else:
            with contextlib.suppress(metadata.PackageNotFoundError):
                provided |= {norm(Requirement(r).name) for r in metadata.requires(req.name) or []}
    tree = ast.parse((REPO / "demo" / "app.py").read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0
    }
    third_party = modules - set(sys.stdlib_module_names) - {"__future__"}
    dists = metadata.packages_distributions()
    missing = {m for m in third_party if not {norm(d) for d in dists.get(m, [m])} & provided}
    assert "matplotlib" in third_party and not missing, (
        f"app.py imports {missing}: not in demo/requirements.txt"
    )


# ------------------------------------------------------------------------- handlers
def test_short_clip_scores_figure_and_no_timeline(app, clf, short_clip):
    label, fig, timeline_fig, table = app.classify_file(str(short_clip), clf)
    _assert_label_dict(label)
    # the handler's scores are the library's scores for the same file
    expected = {s["label"]: s["score"] for s in clf.classify(str(short_clip))}
    assert label == pytest.approx(expected, abs=1e-6)
    spec_ax, att_ax = fig.axes[:2]
    assert spec_ax.get_shared_x_axes().joined(spec_ax, att_ax), "spectrogram and attention share time"
    assert spec_ax.images, "the log-mel spectrogram is drawn"
    assert att_ax.get_xlim()[1] == pytest.approx(2.0, abs=0.05), "the time axis spans the clip"
    assert timeline_fig is None and len(table) == 0, "a clip shorter than a window has no timeline"


def test_long_clip_gets_timeline_and_table(app, clf, long_clip):
    label, fig, timeline_fig, table = app.classify_file(str(long_clip), clf)
    _assert_label_dict(label)
    assert timeline_fig is not None
    duration, hop = sf.info(str(long_clip)).duration, clf.default_window_s() / 2
    assert len(table) >= duration / hop - 2, "overlapping windows cover the recording"
    assert list(table.columns) == app.TABLE_COLUMNS
    assert table["start_s"].is_monotonic_increasing and (table["end_s"] > table["start_s"]).all()
    assert table["end_s"].iloc[-1] == pytest.approx(duration, abs=0.01)
    assert set(table["label"]) <= set(LABELS) | {"silence"}


def test_example_clip_label_is_the_classifier_top_label(app, clf, example):
    assert sf.info(str(example)).duration <= clf.default_window_s(), "a one-window example"
    label, *_ = app.classify_file(str(example), clf)
    _assert_label_dict(label)
    assert max(label, key=label.get) == clf.classify(str(example), top_k=1)[0]["label"]


def test_silent_clip_is_labelled_silence(app, clf, tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(SR, dtype=np.float32), SR)
    label, *_ = app.classify_file(str(path), clf)
    assert label == {"silence": 1.0}


def test_an_upload_still_being_moved_into_place_is_waited_for(app, clf, tmp_path, monkeypatch):
    """Gradio answers an upload with its cache path and moves the file there in a background task: under
    load the handler ran first and told a user with a good file "the upload did not arrive"."""
    import threading

    staged, path = tmp_path / "staged.wav", tmp_path / "cache" / "clip.wav"
    sf.write(staged, make_speechlike(1.0), SR)
    path.parent.mkdir()
    threading.Timer(0.3, lambda: staged.rename(path)).start()  # as gradio's move lands, later
    label, *_ = app.classify_file(str(path), clf)
    assert set(label) <= set(clf.labels)
    monkeypatch.setattr(app, "UPLOAD_WAIT_S", 0.2)
    with pytest.raises(gr.Error, match="never.wav: the upload did not arrive"):
        app.classify_file(str(tmp_path / "never.wav"), clf)


def test_microphone_numpy_tuple_equals_the_same_audio_as_a_file(app, clf, tmp_path):
    x = make_speechlike(2.5, sr=48000, seed=5)
    pcm = (np.stack([x, 0.5 * x], axis=1) * 32767).astype(np.int16)  # what gr.Audio(type="numpy") hands over
    path = tmp_path / "recording.wav"
    sf.write(path, pcm, 48000, subtype="PCM_16")
    from_mic, *_ = app.classify_numpy((48000, pcm), clf)
    from_file, *_ = app.classify_file(str(path), clf)
    _assert_label_dict(from_mic)
    assert from_mic == pytest.approx(from_file, abs=1e-5)


@pytest.mark.parametrize("case", ["empty", "random", "text", "nan"])
def test_bad_upload_gives_a_message_naming_the_file(app, clf, tmp_path, case):
    path = bad_inputs(tmp_path)[case]
    with pytest.raises(gr.Error) as info:
        app.classify_file(str(path), clf)
    message = info.value.message
    assert path.name in message, "the message names the user's file"
    assert str(tmp_path) not in message, "not the server's temporary path"
    expected = {"empty": "empty", "random": "not a readable", "text": "not a readable", "nan": "NaN"}[case]
    assert expected in message


def test_file_names_are_shown_as_text_not_html(app, clf, tmp_path):
    """The error modal renders HTML: a crafted file name must not inject markup into the page."""
    path = tmp_path / "<img src=x onerror=alert(1)>.wav"
    path.write_bytes(b"")
    with pytest.raises(gr.Error) as info:
        app.classify_file(str(path), clf)
    assert "<img" not in info.value.message and "&lt;img src=x onerror=alert(1)&gt;.wav" in info.value.message
    with pytest.raises(gr.Error, match="recording: contains no audio samples"):
        app.classify_numpy((48000, np.zeros(0, dtype=np.int16)), clf)


def test_limits_are_refused_with_a_message(app, clf, tmp_path, monkeypatch):
    with pytest.raises(gr.Error, match="20 MB"):
        app.classify_file(str(huge_file(tmp_path, app)), clf)
    with pytest.raises(gr.Error, match="no audio"):
        app.classify_file(None, clf)
    with pytest.raises(gr.Error, match="no audio"):
        app.classify_numpy(None, clf)
    path = tmp_path / "three_seconds.wav"
    sf.write(path, make_speechlike(3.0), SR)
    monkeypatch.setattr(app, "MAX_SECONDS", 2.0)
    with pytest.raises(gr.Error, match="three_seconds.wav: the recording lasts 3 s, more than the 2 s limit"):
        app.classify_file(str(path), clf)
    # 601 s against 10 min read "lasts 10.0 min, more than the 10 min limit"
    assert (app._minutes(601.2), app._minutes(600), app._minutes(59.5)) == ("10 min 2 s", "10 min", "1 min")


def test_a_clip_of_a_few_samples_is_classified_with_its_figure(app, clf, tmp_path):
    """Under about 12 ms the spectrogram's centred STFT failed: a raw torch error reached the page."""
    path = tmp_path / "tiny.wav"
    sf.write(path, make_speechlike(0.5)[:100], SR)
    for label in (
        app.classify_file(str(path), clf)[0],
        app.classify_numpy((SR, np.array([900, -700, 300], np.int16)), clf)[0],
    ):
        _assert_label_dict(label)


def test_the_microphone_limit_counts_seconds_not_samples_of_every_channel(app, clf, monkeypatch):
    monkeypatch.setattr(app, "MAX_SECONDS", 3.0)
    stereo = (np.stack([make_speechlike(2.0)] * 2, axis=1) * 30000).astype(np.int16)  # 2 s, 2 channels
    _assert_label_dict(app.classify_numpy((SR, stereo), clf)[0])  # was "longer than the limit"
    with pytest.raises(gr.Error, match="sampling rate"):
        app.classify_numpy((0, stereo), clf)


def test_a_port_in_use_or_out_of_range_is_a_message_not_a_traceback(app, monkeypatch):
    from ser_hf.errors import SERError

    with pytest.raises(SERError, match="--port 99999"):
        app.main(["--port", "99999"])

    def busy(*args, **kwargs):
        raise OSError("Cannot find empty port in range: 7999-7999.")

    monkeypatch.setattr(app, "launch", busy)
    with pytest.raises(SERError, match="another --port"):
        app.main(["--port", "7999"])


def test_streaming_handler_over_successive_chunks(app, clf):
    rate, chunk_s = 48000, 0.25
    # real sentences from their first syllables (RAVDESS actors 24 and 21), at the microphone's 48 kHz, int16
    said = [
        load_audio(str(EXAMPLES / f), rate)
        for f in ("03-01-04-02-01-02-24.flac", "03-01-05-02-01-01-21.flac")
    ]
    speech = np.concatenate([s[int(np.argmax(np.abs(s) > 0.02)) :] for s in said])
    x = (speech[: int(3.5 * rate)] * 32767).astype(np.int16)
    n = int(rate * chunk_s)
    state, labels = None, []
    for i in range(0, len(x), n):
        label, status, state = app.stream_chunk((rate, x[i : i + n]), state, clf)
        assert isinstance(status, str) and status
        labels.append(label)
    updates = [lab for lab in labels if "__type__" not in lab]
    skipped = [lab for lab in labels if "__type__" in lab]
    assert skipped and labels[0] in skipped, "no prediction before the first second arrives"
    assert len(updates) == 6, "a new prediction every 0.5 s from 1 s to 3.5 s"
    for lab in updates:
        _assert_label_dict(lab)  # the speech detector found the sentence in every window
    # music or a tone on the microphone: "no speech", not an emotion
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate) * 32767).astype(np.int16)
    tone_state = None
    for i in range(0, len(tone), n):
        label, status, tone_state = app.stream_chunk((rate, tone[i : i + n]), tone_state, clf)
    assert label == {"no speech": 1.0} and "speech 0.0 s" in status, status
    assert state.buffered_seconds == pytest.approx(app.STREAM_WINDOW_S, abs=0.01), "a rolling window"
    # the last prediction is the classifier's on the last window, from the int16 chunks at 48 kHz
    tail = x[-int(app.STREAM_WINDOW_S * rate) :]
    expected = {s["label"]: s["score"] for s in clf.classify((rate, tail))}
    assert updates[-1] == pytest.approx(expected, abs=1e-4)
    # a corrupt chunk is reported in the status line and does not end the stream
    label, status, state2 = app.stream_chunk((rate, np.full(n, np.nan, dtype=np.float32)), state, clf)
    assert "__type__" in label and "NaN" in status and state2 is state
    label, status, _ = app.stream_chunk(None, state, clf)
    assert "__type__" in label


def test_model_that_cannot_load_gives_a_page_with_the_reason(app, tmp_path):
    clf, error = app.load_classifier(str(tmp_path / "no_such_model"))
    assert clf is None and "no_such_model: model folder not found" in error  # it said "Repo id must be..."
    audio = next(EXAMPLES.glob("*.flac"))  # a file, not a folder: it said "'utf-8' codec can't decode"
    assert "a file, not a model folder" in app.load_classifier(str(audio))[1]
    demo = app.build_demo(None, error)
    assert isinstance(demo, gr.Blocks)
    with pytest.raises(gr.Error, match="no_such_model"):
        app.classify_file(str(next(EXAMPLES.glob("*.flac"))), None, error)


def test_pickled_weights_are_never_loaded(app, tmp_path, clf):
    """A model folder with only pickled weights is refused, and the pickle's payload never runs."""
    folder = tmp_path / "pickled"
    folder.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (folder / name).write_bytes((Path(clf.source) / name).read_bytes())
    marker = tmp_path / "payload_ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"weights": Payload()}, folder / "pytorch_model.bin")
    loaded, error = app.load_classifier(str(folder))
    assert loaded is None and error
    assert not marker.exists(), "unpickling the uploaded weights would have run code"


# ------------------------------------------------------------------------- served app
def test_gradio_client_round_trip(app, clf, example, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    with launched(app, clf) as url:
        client = Client(url, verbose=False)
        named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert {"/classify", "/stream", "/reset_stream"} <= set(named)
        # every value an API client sends or gets has a name (the live status was "value_18")
        shown = [v["label"] for ep in named.values() for v in ep["parameters"] + ep["returns"]]
        assert shown and not [label for label in shown if label.startswith("value_")], shown
        result = client.predict(handle_file(str(example)), api_name="/classify")
        label = result[0]
        direct, *_ = app.classify_file(str(example), clf)
        assert label["label"] == max(direct, key=direct.get)
        served = {c["label"]: c["confidence"] for c in label["confidences"]}
        assert served == pytest.approx({k: direct[k] for k in served}, abs=1e-6)
        assert result[1] is not None, "the spectrogram/attention figure is served"
        with pytest.raises(AppError, match="notes.txt"):
            client.predict(handle_file(str(bad_inputs(tmp_path)["text"])), api_name="/classify")
        client.close()


def test_python_demo_app_serves_the_model_named_in_the_environment(clf, example, tmp_path):
    """`python demo/app.py` as a user (or a Space) starts it: from another folder, model from $SER_HF_MODEL."""
    import os
    import subprocess

    from gradio_client import Client, handle_file

    port = free_port()
    env = {
        **os.environ,
        "SER_HF_MODEL": clf.source,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "demo" / "app.py"), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        import httpx

        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"demo/app.py exited: {proc.stdout.read()[-2000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "demo/app.py did not start within 90 s"
            time.sleep(0.5)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict(handle_file(str(example)), api_name="/classify")
        client.close()
        assert result[0]["label"] == clf.classify(str(example), top_k=1)[0]["label"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_ser_hf_demo_forwards_its_options_to_the_app(monkeypatch, tmp_path):
    from ser_hf.cli import demo as demo_launcher
    from ser_hf.errors import SERError

    assert demo_launcher.find_app() == REPO / "demo" / "app.py"
    calls = []

    class FakeApp:
        @staticmethod
        def main(argv):
            calls.append(argv)
            return 0

    monkeypatch.setattr(demo_launcher, "load_app", lambda app=None: FakeApp)
    assert demo_launcher.cli(["--port", "7999", "--model", "some/model"]) == 0
    assert calls[-1] == ["--host", "127.0.0.1", "--port", "7999", "--model", "some/model"]
    demo_launcher.cli(["--share", "true"])
    assert "--share" in calls[-1]
    with pytest.raises(SERError, match="demo app not found"):
        demo_launcher.find_app(tmp_path / "app.py")


def test_demo_runs_the_functionals_model_without_a_time_axis(app, short_clip, long_clip):
    """The bundled functionals model has no frames: the page still shows scores, a flat attention
    band spanning the clip, and a timeline for long recordings."""
    pytest.importorskip("opensmile")
    from ser_hf import EmotionClassifier

    functionals = EmotionClassifier.from_pretrained("functionals", device="cpu")
    label, fig, timeline_fig, _ = app.classify_file(str(short_clip), functionals)
    _assert_label_dict(label)
    expected = {s["label"]: s["score"] for s in functionals.classify(str(short_clip))}
    assert label == pytest.approx(expected, abs=1e-6)
    att_ax = fig.axes[1]
    assert att_ax.get_xlim()[1] == pytest.approx(2.0, abs=0.05), "the time axis spans the clip, not 80 s"
    assert timeline_fig is None
    label, _, timeline_fig, table = app.classify_file(str(long_clip), functionals)
    _assert_label_dict(label)
    assert timeline_fig is not None and len(table) >= 3


def test_ser_hf_demo_refuses_a_bad_port_before_saying_it_starts(capsys):
    """It printed "starting ... on http://127.0.0.1:99999", then the port error."""
    from ser_hf.cli import demo as demo_cli
    from ser_hf.errors import SERError

    with pytest.raises(SERError, match="--port 99999: give a port from 0 to 65535"):
        demo_cli.cli(["--port", "99999"])
    assert "starting" not in capsys.readouterr().out


def test_the_stream_applies_the_duration_limit_and_survives_running_out_of_memory(app, clf, monkeypatch):
    """A 10-hour upload to the live tab was converted whole (no MAX_SECONDS there), and a MemoryError
    in push was no SERError: a raw exception out of the handler."""
    monkeypatch.setattr(app, "MAX_SECONDS", 2.0)
    label, status, state = app.stream_chunk((SR, np.zeros(3 * SR, np.int16)), None, clf)
    assert "__type__" in label and "skipped a chunk" in status and "longer than the 2 s limit" in status
    assert state.buffered_seconds == 0.0
    label, status, state = app.stream_chunk((SR, np.zeros(SR, np.int16)), state, clf)  # under it: heard
    assert state.buffered_seconds == pytest.approx(1.0)

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 2.15 GiB")

    monkeypatch.setattr(state, "push", no_memory)
    label, status, state2 = app.stream_chunk((SR, np.zeros(SR, np.int16)), state, clf)
    assert "__type__" in label and "too large to hold in memory" in status and state2 is state


def test_a_malformed_stream_chunk_is_a_skipped_chunk_not_an_exception(app, clf):
    """A direct caller's (None, samples), (rate, samples, extra) or NaN rate raised a raw TypeError /
    ValueError out of the handler, and a 44100.5-Hz rate was cut to 44100 and taken."""
    x = np.zeros(SR, np.int16)
    for chunk in [(None, x), (SR, x, "extra"), (float("nan"), x), (44100.5, x)]:
        label, status, state = app.stream_chunk(chunk, None, clf)
        assert "__type__" in label and status.startswith("skipped a chunk"), (chunk, status)
        assert state.buffered_seconds == 0.0
