"""Speech emotion recognition demo (Gradio), laid out as a Hugging Face Space.

Run it from the repository root with ``make demo``, ``python demo/app.py`` or ``ser-hf demo``; on a
Space, ``ser-hf`` is installed from ``requirements.txt`` and this file is the ``app_file``.

The model is the folder or Hub id in ``SER_HF_MODEL``, else the model bundled with ``ser_hf``; a
relative folder is looked for beside this file too (``model/``, where ``ser-hf push-space --model DIR``
puts a folder of one's own in the Space).
It is loaded from safetensors only and never with ``trust_remote_code``; uploads are only decoded
as audio (FFmpeg / libsndfile), never executed. A model that cannot be loaded leaves the page up
with a message saying why.

Two tabs:

- **Upload or record**: top-k emotions, the log-mel spectrogram of the clip with the model's
  attention weights over time drawn under it, and for recordings of 1.5 windows or more a
  per-window timeline (plot and table). Events: ``/classify``.
- **Live microphone**: rolling predictions over the last seconds while the user speaks
  (``streaming=True``, a :class:`~ser_hf.StreamingClassifier` per session). Events: ``/stream``,
  ``/reset_stream``.

The handlers are module-level functions taking the classifier as an argument, so tests call them
directly with a tiny model: :func:`classify_file`, :func:`classify_numpy`, :func:`stream_chunk`.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# No telemetry and no Hub calls unless the user asks for them (an explicit setting wins).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("ser_hf") is None and (HERE.parent / "ser_hf").is_dir():
    # `python demo/app.py` in a clone where the package is not installed yet
    sys.path.insert(0, str(HERE.parent))

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from gradio.components.plot import PlotData  # noqa: E402
from gradio.processing_utils import encode_plot_to_base64  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ser_hf import EmotionClassifier, SERError, StreamingClassifier, load_audio  # noqa: E402
from ser_hf.data.audio import audio_info  # noqa: E402
from ser_hf.inference.classifier import NO_SPEECH_LABEL, SILENCE_DB, SILENCE_LABEL, level_db  # noqa: E402
from ser_hf.inference.levels import TIMELINE_MIN_WINDOWS, wants_timeline  # noqa: E402
from ser_hf.inference.timeline import Timeline  # noqa: E402
from ser_hf.training.plot_text import drawable_text  # noqa: E402

logger = logging.getLogger("ser_hf.demo")

EXAMPLES_DIR = HERE / "examples"
MODEL_ENV = "SER_HF_MODEL"
MAX_FILE_SIZE = "20mb"  # refused by the server before the upload completes (launch(max_file_size=))
MAX_FILE_BYTES = 20 * 1024 * 1024  # the same limit, checked again in the handler
# Gradio answers an upload with its cache path and moves the file there in a background task, so under
# load the handler can run before the file lands ("the upload did not arrive" for a good upload)
UPLOAD_WAIT_S = 10.0
MAX_SECONDS = 600.0  # longer recordings are refused: a 20 MB mp3 can hold hours of audio
ATTENTION_MAX_S = 30.0  # the spectrogram/attention figure covers at most this much of a long clip
TOP_K = 3
STREAM_WINDOW_S = 3.0
STREAM_TIME_LIMIT_S = 300
CONCURRENCY = int(os.environ.get("SER_HF_DEMO_CONCURRENCY", "4"))
QUEUE_SIZE = 64
TABLE_COLUMNS = ["start_s", "end_s", "label", "score"]

# Emotion names from RAVDESS file names (03-01-EE-...): the examples' captions.
_RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}


# ===================================================================================== model
def model_source(model: str | None = None) -> str | None:
    """``model``, else ``$SER_HF_MODEL``, else None (the bundled model). A relative folder that is not
    under the working directory but beside this file is that one: ``model``, the folder that
    ``ser-hf push-space --model DIR`` uploads into the Space (and names in ``SER_HF_MODEL``)."""
    source = model or os.environ.get(MODEL_ENV) or None
    if source and not Path(source).expanduser().exists() and (HERE / source / "config.json").is_file():
        return str(HERE / source)
    return source


def load_classifier(model: str | None = None) -> tuple[EmotionClassifier | None, str | None]:
    """The demo's classifier from ``model``, else ``$SER_HF_MODEL``, else the bundled model
    (:func:`model_source`).

    Returns:
        ``(classifier, None)``, or ``(None, message)`` when the model cannot be loaded: the demo
        then shows the message instead of crashing.
    """
    source = model_source(model)
    try:
        return EmotionClassifier.from_pretrained(source), None
    except SERError as err:
        message = str(err)
    except Exception as err:  # a broken folder or Hub outage must still give a readable page
        logger.exception("cannot load the model %s", source)
        message = f"{source or 'bundled model'}: cannot load the model ({type(err).__name__}: {err})"
    logger.error("%s", message)
    return None, message


# ===================================================================================== figures
def _log_mel(samples: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """Display log-mel spectrogram ``(64, frames)`` in dB (80 dB range) and its frame step in seconds."""
    import torch
    import torchaudio

    hop, n_fft = int(round(0.010 * sr)), int(round(0.025 * sr))
    if len(samples) <= n_fft // 2:  # the centred STFT reflects n_fft / 2 samples at each edge
        samples = np.pad(samples, (0, n_fft // 2 + 1 - len(samples)))
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=sr, n_fft=n_fft, hop_length=hop, n_mels=64)(
        torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    )
    db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)(mel)
    return db.numpy(), hop / sr


def attention_figure(
    samples: np.ndarray, sr: int, attention: np.ndarray, attention_span_s: float, title: str
) -> Figure:
    """Log-mel spectrogram of ``samples`` (top) and attention weights over time (bottom), one time axis.

    Args:
        samples: float mono ``(N,)`` at ``sr``.
        attention: the model's weights ``(T',)`` over its pooled time axis; they cover the first
            ``attention_span_s`` seconds (what the model saw).
    """
    # Figure objects, not pyplot: pyplot's global state is not safe across concurrent requests.
    fig = Figure(figsize=(9, 4.2), dpi=100, layout="constrained")
    ax_spec, ax_att = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    duration = len(samples) / sr
    spec, step = _log_mel(samples, sr)
    image = ax_spec.imshow(
        spec,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0.0, spec.shape[1] * step, 0, spec.shape[0]),
        interpolation="nearest",
    )
    fig.colorbar(image, ax=[ax_spec, ax_att], label="dB", pad=0.01, fraction=0.03)
    ax_spec.set_ylabel("mel band")
    ax_spec.set_title(title, fontsize=10)
    weights = np.asarray(attention, dtype=np.float64).ravel()
    if weights.size:
        edges = np.linspace(0.0, attention_span_s, weights.size + 1)
        ax_att.stairs(weights, edges, fill=True, color="tab:orange", alpha=0.8)
        ax_att.set_ylim(0, max(float(weights.max()) * 1.1, 1e-6))
    ax_att.set_ylabel("attention")
    ax_att.set_xlabel("time (s)")
    ax_att.set_xlim(0.0, max(duration, attention_span_s, 1e-3))
    return fig


def timeline_figure(timeline: Timeline, say: Callable[[str], str] = str) -> Figure:
    """Per-window probabilities as stacked bars, each over the stretch nearest its centre; silence grey.

    ``say``: the text drawn for a class name (:func:`ser_hf.training.plot_text.drawable_text`)."""
    fig = Figure(figsize=(9, 3.2), dpi=100, layout="constrained")
    ax = fig.subplots()
    windows = timeline.windows
    centers = np.array([(w["start"] + w["end"]) / 2 for w in windows])
    probs = np.asarray(timeline.probabilities, dtype=np.float64).reshape(len(windows), -1)
    # each window owns the stretch nearest to its centre, so the bars tile the whole recording
    edges = np.concatenate([[0.0], (centers[1:] + centers[:-1]) / 2, [max(timeline.duration, 1e-3)]])
    bottom = np.zeros(len(windows))
    for i, name in enumerate(timeline.labels):
        ax.bar(
            edges[:-1],
            probs[:, i],
            np.diff(edges),
            bottom=bottom,
            align="edge",
            color=f"C{i % 10}",
            label=say(name),
            lw=0,
        )
        bottom += probs[:, i]
    for shade, kind in (("0.85", SILENCE_LABEL), ("0.7", NO_SPEECH_LABEL)):  # windows not classified
        silent = [i for i, w in enumerate(windows) if w["silent"] and w["label"] == kind]
        if silent:
            ax.bar(edges[silent], 1.0, np.diff(edges)[silent], align="edge", color=shade, label=kind, lw=0)
    ax.set_xlim(0, max(timeline.duration, 1e-3))
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.set_title(
        f"{len(windows)} windows of {timeline.window_s:g} s every {timeline.hop_s:g} s: "
        f"overall {say(timeline.label)} ({timeline.score:.2f})",
        fontsize=10,
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


class DescribedPlot(PlotData):
    """A matplotlib plot for ``gr.Plot`` with alternative text: Gradio 6's page writes
    ``alt="{chart} plot visualising provided data"`` (``chart`` unset: "undefined plot ...")."""

    chart: str


def described_plot(fig: Figure | None, text: str, image_format: str = "png") -> DescribedPlot | None:
    """``fig`` as ``gr.Plot`` shows it, with ``text`` (what the plot shows, the prediction) for screen readers."""
    if fig is None:
        return None
    return DescribedPlot(type="matplotlib", plot=encode_plot_to_base64(fig, image_format), chart=text)


def _table(timeline: Timeline | None) -> Any:
    import pandas as pd

    rows = (
        []
        if timeline is None
        else [[w["start"], w["end"], w["label"], round(w["score"], 3)] for w in timeline.windows]
    )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


# ===================================================================================== handlers
def _user_error(message: str) -> gr.Error:
    """A ``gr.Error`` for a problem with the user's input: shown as is, no traceback in the log."""
    logger.info("refused: %s", message)
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def _require(classifier: EmotionClassifier | None, load_error: str | None) -> EmotionClassifier:
    if classifier is None:
        raise gr.Error(html.escape(load_error or "no model is loaded", quote=False), print_exception=False)
    return classifier


def _check_file(path: str | os.PathLike | None) -> tuple[Path, str]:
    """The upload's path and display name; refuses a missing, oversized or overlong file."""
    if path is None or str(path) == "":
        raise _user_error("no audio: upload a file or record with the microphone first")
    p = Path(path)
    name = p.name
    waited = 0.0
    while not p.exists() and waited < UPLOAD_WAIT_S:  # the upload's background move, see UPLOAD_WAIT_S
        time.sleep(0.05)
        waited += 0.05
    if not p.is_file():
        raise _user_error(f"{name}: the upload did not arrive (not a file); try again")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _user_error(
            f"{name}: the file is {size / 2**20:.1f} MB, more than the {MAX_FILE_BYTES // 2**20} MB "
            "limit of this demo; trim it or use `ser-hf predict` on your machine"
        )
    try:
        duration = audio_info(p)[0]
    except SERError:
        duration = 0.0  # the header does not tell; decoding below gives the precise error
    if duration > MAX_SECONDS:
        raise _user_error(
            f"{name}: the recording lasts {_minutes(duration)}, more than the {_minutes(MAX_SECONDS)} "
            "limit of this demo; use `ser-hf predict` for long files"
        )
    return p, name


def _minutes(seconds: float) -> str:
    """``601.2`` -> "10 min 2 s" (rounded up: a file over the limit never reads "10.0 min")."""
    minutes, rest = divmod(math.ceil(seconds), 60)
    return " ".join([f"{minutes} min"] * bool(minutes) + [f"{rest} s"] * bool(rest or not minutes))


def _message(err: Exception, path: Path | None, name: str) -> str:
    """The error text with the server's temporary path replaced by the file's own name."""
    text = str(err)
    if path is not None:
        text = text.replace(str(path), name)
    return text


def _analyse(
    classifier: EmotionClassifier, samples: np.ndarray, name: str
) -> tuple[dict[str, float], Figure, Figure | None, Any]:
    """Scores, the spectrogram/attention figure, and the timeline (figure, table) of long clips."""
    sr = classifier.sampling_rate
    duration = len(samples) / sr
    window_s = classifier.default_window_s()
    head = samples[: int(ATTENTION_MAX_S * sr)]
    scores, features, attention = classifier.classify_with_attention(head, sampling_rate=sr)
    hop = getattr(classifier.feature_extractor, "hop_length", None) or int(0.01 * sr)
    span = features.shape[0] * hop / sr  # what the model saw (a fixed-length model sees less)
    shown = f"first {len(head) / sr:.0f} s of " if len(head) < len(samples) else ""
    title = f"{name}: {shown}{duration:.2f} s; log-mel spectrogram and the model's attention over time"

    timeline = None
    if wants_timeline(duration, window_s):
        timeline = classifier.timeline(
            samples, window_s, window_s / 2, silence_db=SILENCE_DB, top_k=None, sampling_rate=sr
        )
        timeline.source = name
        label = {s["label"]: float(s["score"]) for s in timeline.scores}
    elif level_db(samples, sr) < SILENCE_DB:  # a silent clip gets no made-up emotion
        label = {SILENCE_LABEL: 1.0}
    else:
        label = {s["label"]: float(s["score"]) for s in scores}
    if not all(math.isfinite(v) for v in label.values()):
        raise SERError("the model produced non-finite scores for this input", source=name)
    # classes of the model's own (喜び) or a file name (会話.flac) the default font cannot draw
    with drawable_text(classifier.labels, "the demo's plots", name) as say:
        fig = attention_figure(head, sr, attention, span, say(title))
        tl_fig = timeline_figure(timeline, say) if timeline is not None else None
    return label, fig, tl_fig, _table(timeline)


def classify_file(
    path: str | os.PathLike | None,
    classifier: EmotionClassifier | None,
    load_error: str | None = None,
) -> tuple[dict[str, float], Figure, Figure | None, Any]:
    """The ``/classify`` handler: an uploaded or recorded file -> what the page shows.

    Returns:
        ``(label_dict, figure, timeline_figure, table)``: ``{label: score}`` over all labels
        (summing to 1; ``{"silence": 1.0}`` for a silent clip), the spectrogram with attention, the
        timeline figure (None for clips shorter than ``TIMELINE_MIN_WINDOWS`` windows) and a DataFrame of windows
        (``start_s, end_s, label, score``; empty for short clips).

    Raises:
        gr.Error: no model, no file, a file over the size or duration limit, or a file that is not
            usable audio; the message names the file and the problem.
    """
    clf = _require(classifier, load_error)
    p, name = _check_file(path)
    try:
        samples = load_audio(p, clf.sampling_rate)
        return _analyse(clf, samples, name)
    except SERError as err:
        raise _user_error(_message(err, p, name)) from err
    except gr.Error:
        raise
    except Exception as err:  # never a bare traceback for the user; the log keeps it
        logger.exception("failed on %s", name)
        raise gr.Error(
            html.escape(f"{name}: could not be processed ({type(err).__name__}: {err})", quote=False)
        ) from err


def classify_numpy(
    audio: tuple[int, np.ndarray] | None,
    classifier: EmotionClassifier | None,
    load_error: str | None = None,
) -> tuple[dict[str, float], Figure, Figure | None, Any]:
    """:func:`classify_file` for ``gr.Audio(type="numpy")`` input: ``(rate, int16 (N,) or (N, C))``."""
    clf = _require(classifier, load_error)
    if audio is None:
        raise _user_error("no audio: record or upload a clip first")
    name = "recording"
    try:
        rate, data = audio
        if (
            isinstance(rate, (int, float, np.number))
            and rate > 0
            and max(np.shape(data) or (0,)) / rate > MAX_SECONDS
        ):
            raise _user_error(f"{name}: longer than the {_minutes(MAX_SECONDS)} limit of this demo")
        samples = load_audio((int(rate), np.asarray(data)), clf.sampling_rate)
        return _analyse(clf, samples, name)
    except SERError as err:
        raise _user_error(str(err).replace("<(sampling_rate, samples) tuple>", name)) from err
    except gr.Error:
        raise
    except Exception as err:
        logger.exception("failed on a numpy recording")
        raise gr.Error(
            html.escape(f"{name}: could not be processed ({type(err).__name__}: {err})", quote=False)
        ) from err


def stream_chunk(
    chunk: tuple[int, np.ndarray] | None,
    state: StreamingClassifier | None,
    classifier: EmotionClassifier | None,
    load_error: str | None = None,
) -> tuple[Any, str, StreamingClassifier | None]:
    """The ``/stream`` handler: one microphone chunk in, the rolling prediction out.

    Args:
        chunk: ``(rate, int16 samples)`` from ``gr.Audio(streaming=True, type="numpy")``.
        state: this session's :class:`StreamingClassifier` (None at the start of a session).

    Returns:
        ``(label, status, state)``: ``{label: score}`` when a new prediction is due, else
        ``gr.skip()`` (the page keeps the last one); a one-line status; the updated state.
    """
    clf = _require(classifier, load_error)
    if state is None:
        state = StreamingClassifier(
            clf, window_s=STREAM_WINDOW_S, update_every_s=0.5, silence_db=SILENCE_DB, top_k=None
        )
    if chunk is None:
        return gr.skip(), "waiting for the microphone", state
    try:
        rate, data = chunk
        data = np.asarray(data)
        # the limits of /classify: an upload to the live tab came whole (10 hours were decoded)
        numeric = isinstance(rate, (int, float, np.number)) and rate > 0
        if numeric and max(data.shape or (0,)) / rate > MAX_SECONDS:
            raise SERError(
                f"longer than the {_minutes(MAX_SECONDS)} limit of this demo; use `ser-hf predict` for "
                "long files",
                source="stream chunk",
            )
        prediction = state.push(data, rate)  # its rate checked there: 44100.5 was cut to 44100
    except (SERError, TypeError, ValueError) as err:  # a malformed (rate, samples) from a direct call
        return gr.skip(), html.escape(f"skipped a chunk: {err}", quote=False), state
    except MemoryError:  # never the server's end: this chunk is dropped, the stream goes on
        logger.exception("a stream chunk did not fit in memory")
        return gr.skip(), "skipped a chunk: too large to hold in memory; record or upload less at once", state
    heard = f"{state.buffered_seconds:.1f} s in the window"
    if prediction is None:
        previous = state.last_prediction
        status = f"listening: {heard}" if previous is None else f"{previous['label']}: {heard}"
        return gr.skip(), status, state
    label = {s["label"]: float(s["score"]) for s in prediction["scores"]}
    speech = "" if prediction.get("speech_s") is None else f", speech {prediction['speech_s']:.1f} s"
    status = (
        f"{prediction['time']:.1f} s heard, level {prediction['level_db']:.0f} dBFS{speech}, last {heard}"
    )
    return label, status, state


def reset_stream() -> None:
    """The ``/reset_stream`` handler: a new recording starts with an empty window."""
    return None


# ===================================================================================== page
def _examples() -> tuple[list[list[str]], list[str]]:
    files = sorted(EXAMPLES_DIR.glob("*.flac")) + sorted(EXAMPLES_DIR.glob("*.wav"))
    captions = []
    for f in files:
        parts = f.stem.split("-")
        emotion = _RAVDESS_EMOTIONS.get(parts[2], "?") if len(parts) == 7 else f.stem
        actor = f"actor {int(parts[6])}" if len(parts) == 7 and parts[6].isdigit() else ""
        captions.append(f"{emotion} ({actor})" if actor else emotion)
    return [[str(f)] for f in files], captions


def build_demo(classifier: EmotionClassifier | None, load_error: str | None = None) -> gr.Blocks:
    """The whole page for ``classifier`` (or a page that explains ``load_error`` when it is None)."""

    def classify(path: str | None) -> tuple[Any, ...]:
        # the timeline plot and the window table show only when there is a timeline
        label, fig, timeline_fig, table = classify_file(path, classifier, load_error)
        shown = timeline_fig is not None
        name, top = Path(str(path)).name, max(label, key=label.get)
        heard = f"{name}, heard as {top} ({label[top]:.0%})"
        fig = described_plot(fig, f"Log-mel spectrogram and attention over time of {heard}:", figure.format)
        timeline_fig = described_plot(
            timeline_fig,
            f"Timeline of {heard}, each emotion's probability in {len(table)} windows:",
            timeline_plot.format,
        )
        return label, fig, gr.update(value=timeline_fig, visible=shown), gr.update(value=table, visible=shown)

    def stream(chunk: tuple[int, np.ndarray] | None, state: Any) -> tuple[Any, str, Any]:
        return stream_chunk(chunk, state, classifier, load_error)

    labels = ", ".join(classifier.labels) if classifier is not None else "-"
    window_s = classifier.default_window_s() if classifier is not None else 4.0
    # uploads and figures are temporary files: drop those older than an hour, every hour
    with gr.Blocks(title="Speech emotion recognition (ser_hf)", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# Speech emotion recognition\n"
            "Upload or record speech to see which emotion the model hears, where in the clip it "
            "listened (attention), and for longer recordings how the emotion changes over time. "
            f"Labels: {labels}. Recordings of {TIMELINE_MIN_WINDOWS * window_s:g} s or more get a "
            f"timeline of {window_s:g}-s windows."
        )
        if classifier is None:
            shown_error = (load_error or "unknown error").replace("`", "'")
            gr.Markdown(
                f"**The model could not be loaded**, so nothing can be classified:\n\n"
                f"`{shown_error}`\n\n"  # a code span shows it as text, HTML and all
                f"Set `{MODEL_ENV}` to a model folder saved by ser_hf or a Hub id, then restart.",
                elem_id="load-error",
            )
        with gr.Tab("Upload or record"):
            # outputs first (unrendered) so that the examples under the input can target them
            label = gr.Label(num_top_classes=TOP_K, label="Emotion", elem_id="emotion-label", render=False)
            figure = gr.Plot(
                label="Log-mel spectrogram and attention over time", elem_id="attention-plot", render=False
            )
            timeline_plot = gr.Plot(
                label="Timeline (long recordings)", elem_id="timeline-plot", render=False, visible=False
            )
            table = gr.Dataframe(
                headers=TABLE_COLUMNS,
                label="Windows",
                interactive=False,
                render=False,
                visible=False,
                elem_id="window-table",
            )
            outputs = [label, figure, timeline_plot, table]
            with gr.Row():
                with gr.Column(scale=1):
                    audio = gr.Audio(
                        sources=["upload", "microphone"],
                        type="filepath",
                        label="Speech (wav, flac, mp3, ogg, m4a, ...)",
                        elem_id="audio-input",
                    )
                    button = gr.Button("Classify", variant="primary", elem_id="classify-button")
                    # registered before the examples, whose own event would otherwise take the name
                    gr.on(
                        triggers=[button.click, audio.upload, audio.stop_recording],
                        fn=classify,
                        inputs=audio,
                        outputs=outputs,
                        api_name="classify",
                    )
                    examples, captions = _examples()
                    if examples:
                        gr.Examples(
                            examples=examples,
                            inputs=audio,
                            outputs=outputs,
                            fn=classify,
                            example_labels=captions,
                            run_on_click=True,
                            cache_examples=False,
                            label="RAVDESS examples (CC BY-NC-SA 4.0, see examples/ATTRIBUTION.md)",
                            api_name="load_example",
                        )
                with gr.Column(scale=1):
                    label.render()
            figure.render()
            timeline_plot.render()
            table.render()
        with gr.Tab("Live microphone"):
            gr.Markdown(
                f"Press record and speak: the emotion of the last {STREAM_WINDOW_S:g} s updates "
                f"twice a second (up to {STREAM_TIME_LIMIT_S // 60} min per recording)."
            )
            state = gr.State(None)
            live = gr.Audio(
                sources=["microphone"], streaming=True, type="numpy", label="Microphone", elem_id="live-audio"
            )
            live_label = gr.Label(num_top_classes=TOP_K, label="Emotion now", elem_id="live-label")
            live_status = gr.Markdown("", label="Status", elem_id="live-status")  # the API names it
            live.start_recording(reset_stream, inputs=None, outputs=state, api_name="reset_stream")
            live.stream(
                stream,
                inputs=[live, state],
                outputs=[live_label, live_status, state],
                stream_every=0.5,
                time_limit=STREAM_TIME_LIMIT_S,
                api_name="stream",
            )
    # Several users at once; a bounded queue answers "queue full" instead of piling up forever.
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def launch(
    demo: gr.Blocks, host: str | None = None, port: int | None = None, share: bool = False, **kwargs: Any
):
    """Start the server with the demo's limits (upload size); returns what ``Blocks.launch`` returns."""
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        max_file_size=MAX_FILE_SIZE,
        show_error=False,  # only gr.Error messages reach the page, never internals
        footer_links=["api"],
        **kwargs,
    )


def main(argv: list[str] | None = None) -> int:
    """``python demo/app.py [--host H] [--port P] [--model DIR|HUB_ID] [--share]``."""
    parser = argparse.ArgumentParser(description="Run the speech emotion recognition demo.")
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="address to listen on (0.0.0.0 for every interface; default 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument(
        "--model", default=None, help=f"model folder or Hub id (default ${MODEL_ENV}, else bundled)"
    )
    parser.add_argument(
        "--share", action="store_true", help="create a public gradio.live link (off by default)"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:  # before the model loads
        raise SERError("give a port from 0 to 65535", source=f"--port {args.port}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    classifier, error = load_classifier(args.model)
    if classifier is not None:
        logger.info("model %s, labels %s", classifier.source, ", ".join(classifier.labels))
    try:
        launch(build_demo(classifier, error), args.host, args.port, args.share)
    except OSError as err:  # gradio: "Cannot find empty port in range: 7860-7860"
        raise SERError(
            f"cannot listen on {args.host}:{args.port} ({err}); another server may use it: pass another --port",
            source="ser-hf demo",
        ) from err
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SERError as err:
        sys.exit(f"error: {err}")
