"""Inference for users: classify anything, timelines for long audio, streaming, ``ser-hf predict``.

:class:`EmotionClassifier` is the one documented call for every input that
:func:`ser_hf.load_audio` accepts (paths in any format FFmpeg decodes, video files' audio
tracks, bytes, stereo or integer arrays with their rate, ``{"array", "sampling_rate"}`` dicts,
datasets ``AudioDecoder`` objects), including the ones the stock ``audio-classification`` pipeline
rejects::

    from ser_hf import EmotionClassifier

    clf = EmotionClassifier("path/to/model")          # or a Hub id, or the bundled model
    clf.classify("clip.mp4", top_k=3)                  # [{"label": "angry", "score": 0.81}, ...]
    clf.timeline("ten_minutes.wav").windows            # per-window labels over time

Computation runs through a *backend*: any object with ``predict_logits(input_features,
attention_mask, **extra) -> logits`` (``extra``: the feature extractor's other outputs, e.g. a
fusion model's ``functionals``; ``(B, T, F)`` float32 and ``(B, T)`` int64 torch tensors in, on the
backend's ``device`` when it has one, else CPU, where ``np.asarray`` makes them numpy; ``(B, C)``
numpy out). The PyTorch model is the default backend; ``onnx_path=`` swaps in ONNX Runtime, and
``backend=`` accepts any other implementation, so every method below (batching, timelines,
streaming) works unchanged on either.

:class:`StreamingClassifier` takes successive microphone chunks (any rate, int or float, mono or
multichannel) and returns rolling predictions over the last few seconds.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..data.audio import DEFAULT_SAMPLING_RATE
from ..errors import AudioInputError, SERError, batch_size_for, torch_device
from ..models.fitted_heads import changed_heads
from ..training.loading import load_config, load_feature_extractor, load_model
from .adapting import adapt_classifier
from .backends import LogitsBackend, TorchBackend, _softmax  # noqa: F401  (re-exported)
from .batches import classify_in_groups
from .bundled import resolve_model_name
from .fork_threads import one_thread_in_forked_children
from .inputs import (
    clip_list,
    clip_name,
    load_clip,
    named_clip_list,
    recording_chunks,
    refuse_no_speech,
    refuse_overlong,
    warn_about_clips,
    warn_if_window_odd,
    warn_rate_ignored,
)
from .levels import (  # noqa: F401  (re-exported)
    NO_SPEECH_LABEL,
    SILENCE_DB,
    SILENCE_LABEL,
    SILENCE_REL_DB,
    SILENT_DB,
    WINDOW_SPEECH_S,
    check_min_speech,
    level_db,
)
from .scores import _top, check_top_k, class_indices, clip_features, finite_probs, softmax_kept
from .seen_files import warn_if_training_files
from .timeline import Timeline, assemble_timeline, classify_windows

logger = logging.getLogger(__name__)

# classify_batch decodes clips until it holds this much audio, scores them, then decodes the next: 40
# paths of a 229-s recording held all 40 decoded at once (+1.3 GB) to score each one's last 8 s
BATCH_HELD_S = 600.0


class EmotionClassifier:
    """Speech emotion recognition on anything ``load_audio`` accepts.

    Args:
        model: a model folder, a Hub id, a loaded ``PreTrainedModel``, or a bundled model's name:
            None / ``"default"`` for the default (turn-encoder-2-voices-crops: the pooled states of a
            pretrained speech encoder fine-tuned on intonation + logistic regression, trained on
            RAVDESS + TESS with noisy, band-limited, MP3, reverberant, other-voice and part-of-the-clip
            copies, each corpus and gender weighted alike), ``"turn-encoder-2-voices"`` (session 25's:
            no parts), ``"voice-encoder-2-voices"`` (the default
            of sessions 16-24: the same on a pretrained speaker encoder), ``"speech-stats-mfcc-speech-voices"`` (the default of sessions 11-15: log-mel
            and MFCC statistics of the speech frames, speaker-relative pitch and log-F0 statistics, the
            same training), ``"speech-stats-mfcc-voices"`` (the same on whole-clip MFCC statistics),
            ``"speech-stats-mfcc-rooms"``, ``"speech-stats-mfcc-channel"``,
            ``"speech-stats-pitch"`` and ``"speech-stats"`` (the previous defaults), ``"fusion"`` (functionals +
            CNN-Transformers, best in-domain on RAVDESS; needs openSMILE), ``"cnn"`` for the
            CNN-Transformer alone, ``"functionals"`` for the functionals model alone.
        feature_extractor: a ``SERFeatureExtractor`` (or folder/Hub id); default: the model's own.
        device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
        trust_remote_code: passed to ``from_pretrained`` as given (never switched on by ``ser_hf``);
            only needed for models of other packages, ``ser_hf`` models load without it.
        onnx_path: run the logits through this ONNX file with ONNX Runtime instead of PyTorch (the
            model folder still supplies the feature extractor and the label names).
        backend: any object with ``predict_logits(features, mask)`` (overrides the two above).
    """

    def __init__(
        self,
        model: Any = None,
        feature_extractor: Any = None,
        device: str | None = None,
        trust_remote_code: bool = False,
        onnx_path: str | os.PathLike | None = None,
        backend: LogitsBackend | None = None,
    ):
        model = resolve_model_name(model)
        one_thread_in_forked_children()
        if device is not None:
            device = torch_device(device)  # a typo or a missing GPU fails before the model loads
        if isinstance(model, (str, os.PathLike)):
            self.source = str(model)
            self.feature_extractor = load_feature_extractor(feature_extractor or model, trust_remote_code)
            if backend is None and onnx_path is None:
                torch_model = load_model(model, trust_remote_code)
                self.config = torch_model.config
                backend = TorchBackend(torch_model, device or torch_device(None))
            else:
                self.config = load_config(model, trust_remote_code)
        else:  # an already loaded transformers model
            self.source = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
            self.config = model.config
            if feature_extractor is None:
                raise SERError(
                    "a model object needs its feature_extractor=...; or pass the model folder instead",
                    source=self.source,
                )
            self.feature_extractor = load_feature_extractor(feature_extractor, trust_remote_code)
            if backend is None and onnx_path is None:
                backend = TorchBackend(model, device)
        probe_graph = backend is None  # an ONNX graph given beside a folder: checked once it is set up
        if backend is None:
            from .onnx_runtime import OnnxRuntimeBackend  # lazy: needs onnxruntime

            backend = OnnxRuntimeBackend(onnx_path)  # type: ignore[arg-type]
        self.backend = backend
        id2label = getattr(self.config, "id2label", None) or {}
        self.labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(len(id2label))]
        if not self.labels:
            raise SERError("the model config has no id2label; it is not a classifier", source=self.source)
        # the same names as the graph's, or a folder's names would go on another model's scores
        if onnx_path is not None and hasattr(backend, "check_labels"):
            backend.check_labels(self.labels)
        self.model_labels = list(self.labels)  # all of the model's classes; ``labels``: those scored
        self.sampling_rate = int(getattr(self.feature_extractor, "sampling_rate", DEFAULT_SAMPLING_RATE))
        if probe_graph:
            self._check_graph_inputs()
        self._warn_if_heads_changed()

    def _check_graph_inputs(self) -> None:
        """Run the graph once on a second of noise: features it does not read (another model's folder
        beside an .onnx file) are refused at load, not as an error row for every clip."""
        self._logits([np.random.default_rng(0).normal(0, 0.05, self.sampling_rate).astype(np.float32)])

    def _warn_if_heads_changed(self) -> None:
        """A head trained or re-initialised since ser_hf saved the model (a stock fine-tune) leaves
        its calibration temperature and speaker head fitted for another head: said once, at load."""
        model = getattr(self.backend, "model", None)
        changed = changed_heads(model) if model is not None else []
        if not changed:
            return
        temperature = float(getattr(self.config, "calibration_temperature", 1.0) or 1.0)
        stale = (
            [
                f"its calibration_temperature ({temperature:.3g}) was fitted for the old head, so the scores are not calibrated"
            ]
            if temperature != 1.0
            else []
        )
        if getattr(self.config, "speaker_head", False):
            stale.append("adapt() leaves its speaker head out (it was fitted beside the old head)")
        logger.warning(
            "%s: its %s %s not what ser_hf fitted and saved (trained or re-initialised since, e.g. "
            "fine-tuned with a stock Trainer)%s. To fit the model to your own data and labels, train its "
            "recipe on them with ser-hf train (README: 'Your own data and labels')",
            self.source,
            " and ".join(changed),
            "are" if len(changed) > 1 else "is",
            (": " + "; ".join(stale)) if stale else "",
        )

    def __repr__(self) -> str:
        backend = type(self.backend).__name__
        device = getattr(self.backend, "device", None)
        temperature = getattr(self.config, "calibration_temperature", None)
        parts = [
            f"model={self.source!r}",
            f"labels={self.labels}",
            f"backend={backend}" + (f"({device})" if device is not None else ""),
            f"sampling_rate={self.sampling_rate}",
        ]
        if temperature not in (None, 1.0):
            parts.append(f"calibration_temperature={temperature:.3g}")
        if self.adapted_on:
            parts.append(f"adapted_on={self.adapted_on} clips")
        if self._keep is not None:
            parts.append(f"restricted from {len(self.model_labels)} classes")
        return f"{type(self).__name__}({', '.join(parts)})"

    # what restrict() keeps, as one value: a call reads it once, so a restrict() from another thread
    # changes the calls that start after it, never the names on one call's scores
    _scoring: tuple[np.ndarray | None, list[str]] = (None, [])

    @property
    def labels(self) -> list[str]:
        """The class names scored (all of ``model_labels``, or those :meth:`restrict` keeps)."""
        return list(self._scoring[1])

    @labels.setter
    def labels(self, names: Sequence[str]) -> None:  # the model's classes, at load
        self._scoring = (None, list(names))

    @property
    def _keep(self) -> np.ndarray | None:
        return self._scoring[0]

    @property
    def adapted_on(self) -> int:
        """How many unlabelled clips the model's statistics were re-estimated on (0: not adapted);
        read from the model, so every classifier sharing it says the same."""
        from ..training.adaptation_lock import adapted_clips

        return adapted_clips(getattr(self.backend, "model", None))

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike | None = None, **kwargs: Any) -> EmotionClassifier:
        """Same as the constructor; reads like the rest of the Hugging Face API."""
        return cls(model, **kwargs)

    # ----------------------------------------------------------------------------- core
    def _load(
        self, audio: Any, sampling_rate: int | None = None, channel: Any = None, track: Any = None
    ) -> np.ndarray:
        """Any input -> float32 mono (its channels averaged, or ``channel``; of its audio ``track``) at
        the model's rate; a bare array is taken to be at the model's rate unless told otherwise."""
        return load_clip(self, audio, sampling_rate, channel, track)

    def _features(self, clips: Sequence[np.ndarray]) -> tuple[Any, Any, dict[str, Any]]:
        """Padded ``(B, T, F)`` float32 features, ``(B, T)`` int64 mask and the extractor's other
        outputs (a fusion's ``functionals``) of 16 kHz mono clips."""
        return clip_features(self, clips)

    def _logits(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """``(B, num_labels)`` logits of a list of clips (already at the model's rate)."""
        feats, mask, extra = self._features(clips)
        return np.asarray(self.backend.predict_logits(feats, mask, **extra), dtype=np.float32)

    def _probs(
        self, clips: Sequence[np.ndarray], sources: Sequence[str] | None, keep: np.ndarray | None
    ) -> np.ndarray:
        """``(B, len(keep))`` probabilities; raises SERError instead of returning NaN."""
        return finite_probs(self._logits(clips), sources, keep)

    # ----------------------------------------------------------------------------- adaptation
    def adapt(
        self,
        clips: Iterable[Any],
        sampling_rate: int | None = None,
        silence_db: float | None = SILENCE_DB,
        channel: int | str | None = None,
        min_speech_s: float | None = WINDOW_SPEECH_S,
        track: int | str | None = None,
    ) -> EmotionClassifier:
        """Re-estimate the model's normalisation statistics on UNLABELLED clips of one speaker or
        microphone (see :mod:`ser_hf.training.adaptation`); later calls classify with them.
        ``clips`` is read once, so a generator that decodes them one at a time works. Unreadable
        clips, clips under 0.1 s and clips whose loudest 50 ms is below ``silence_db`` dBFS are left
        out with a warning; a clip longer than the model reads (the default's 8 s) is adapted on the windows
        :meth:`timeline` classifies (``min_speech_s`` as there), not only its last seconds. ``channel``,
        ``track``: as in :meth:`classify`.

        Use it when many clips come from the same voice or recording set-up and they hold a mix
        of emotions; :meth:`reset_adaptation` goes back to the training statistics. It changes the
        model every caller of this classifier shares: a server adapting per caller gives each its
        own ``EmotionClassifier`` (classifying from several threads is safe, and so is
        :meth:`restrict`, which a call reads once). Calls on other threads meanwhile never enter the
        statistics and see the old or the new ones in full; ``adapt`` and :meth:`reset_adaptation` run
        one at a time. The statistics live in the model's buffers: a model saved while adapted stays
        adapted (reset first to save the trained one). Needs the PyTorch backend (not ONNX).

        Returns:
            ``self``, so ``EmotionClassifier().adapt(clips).classify(clip)`` reads naturally.
        """
        return adapt_classifier(self, clips, sampling_rate, silence_db, channel, min_speech_s, track)

    def reset_adaptation(self) -> EmotionClassifier:
        """Back to the statistics the model was trained with (after an :meth:`adapt` running on
        another thread, which it waits for)."""
        from ..training.adaptation import restore_model

        model = getattr(self.backend, "model", None)
        if model is not None:
            restore_model(model)
        return self

    def restrict(self, labels: Sequence[str] | None) -> EmotionClassifier:
        """Score only these of the model's classes from now on: the others are masked out of the
        softmax and leave the results, as ``ser-hf evaluate`` scores a corpus with fewer classes.

        Use it when your recordings can only hold some of the model's emotions (a call centre that
        labels angry / neutral, a corpus with three classes): a clip then never goes to a class you
        do not have. On a 3-class Polish corpus the default's UA is 0.273 with all 7 classes and
        0.438 restricted to the 3 (``benchmarks/RESULTS.md``). Names may be spelled as a corpus
        spells them (``"anger"`` for ``angry``); a class the model merged into another is that one
        (``"calm"`` is the default's ``neutral``). ``restrict(None)`` scores every class again.

        Raises:
            SERError: a name that is none of the model's classes, or fewer than two names.
        """
        if labels is None:
            self._scoring = (None, list(self.model_labels))
            return self
        labels = clip_list(labels, "restrict", "pass the class names as a list, e.g. ['angry', 'neutral']")
        kept = class_indices(labels, self.model_labels, self.source)
        self._scoring = (kept, [self.model_labels[i] for i in kept])  # one assignment: see _scoring
        return self

    # ----------------------------------------------------------------------------- public API
    def classify(
        self,
        audio: Any,
        sampling_rate: int | None = None,
        top_k: int | None = None,
        *,
        warn: bool = True,
        channel: int | str | None = None,
        track: int | str | None = None,
        require_speech: bool = False,
    ) -> list[dict[str, Any]]:
        """Emotion scores of one clip.

        Args:
            audio: anything :func:`ser_hf.load_audio` accepts; a bare array/tensor is taken to
                be at ``sampling_rate`` (default the model's rate, 16 kHz).
            sampling_rate: the rate of a bare array or tensor.
            top_k: keep the best ``top_k`` labels (default all).
            warn: log a warning for a clip that is silent, too short or longer than the model reads
                (a caller that warned once for many such clips, as a stream does, turns it off).
            channel: None averages a stereo clip's channels; ``"left"``/``"right"`` or a channel
                number (counted from 0) classifies that one alone (as in :meth:`classify_batch`,
                :meth:`timeline` and :meth:`adapt`).
            track: the audio track of a file with several (an OBS or Zoom export), counted from 0 as
                channels are; None reads FFmpeg's choice, with a warning when there are several.
            require_speech: raise :class:`~ser_hf.errors.NoSpeechError` for a clip with no speech to score
                (no 50 ms above -55 dBFS, which :meth:`timeline` labels ``silence``; under 0.1 s; or no 32 ms
                the speech detector :meth:`timeline` uses finds at all speech-like: noise, a tone); by default
                it gets the model's scores anyway (2 s of digital silence: ``fearful`` 0.59), and a warning.

        Returns:
            ``[{"label": str, "score": float}, ...]`` sorted by score; the scores of all labels sum to 1.
        """
        if top_k is not None:
            check_top_k(top_k)  # before the work
        warn_if_training_files(self, [audio])  # once per classifier
        # from its header, before gigabytes of decoding (a stream: read once)
        audio = refuse_overlong(audio, rate=self.sampling_rate, channel=channel, track=track)
        samples, name = self._load(audio, sampling_rate, channel, track), clip_name(audio)
        if require_speech:
            refuse_no_speech(samples, name, self.sampling_rate)
        if warn:
            warn_about_clips([samples], [name], self.sampling_rate, self.feature_extractor)
        keep, labels = self._scoring
        return _top(self._probs([samples], [name], keep)[0], labels, top_k)

    def classify_batch(
        self,
        audios: Sequence[Any],
        batch_size: int | None = None,
        top_k: int | None = None,
        sampling_rate: int | None = None,
        names: Sequence[str] | None = None,
        return_exceptions: bool = False,
        warn: bool = True,
        channel: int | str | None = None,
        track: int | str | None = None,
        require_speech: bool = False,
    ) -> list[Any]:
        """:meth:`classify` for many clips, batched (sorted by length so padding stays small;
        ``batch_size`` None: what runs fastest for the model on its device, 1 for the CNN families
        on a CPU, else 16). Clips are decoded in input order until about :data:`BATCH_HELD_S` seconds
        of audio are held, then scored and let go, so memory stays bounded however many long files
        are given; the results are in input order. Clips longer than the model reads get one warning
        for the call; clips given by path that the model trained or was validated on (its
        ``split.json``), one warning per classifier.

        A clip gets the same scores alone and in a batch (up to about 0.002 in bfloat16); the speaker
        encoder runs once over the batch's windows, the turn encoder (int8) clip by clip. ``names``: what
        warnings and errors call each clip (default its path, or its type): a clip's error then starts
        with its name, and its path in brackets when that differs (``req-1 (bad.wav): ...``), and so
        does its ``source``; ``warn``, ``channel``, ``track``, ``require_speech``: as in :meth:`classify`.
        The rows of a ``datasets`` column (or a whole dataset: its ``Audio`` column; streaming too) are
        named by their number, ``row 17 of the 'audio' column (path 'x.wav')``, where ``names`` is not given.

        A clip that cannot be read (missing, empty, not audio, NaN samples) raises its
        :class:`SERError` for the whole call, its message ending with its position
        (``(classify_batch: clip 39 of 40, counted from 0)``): before any clip is scored when its
        header says so (a file missing or not audio, a track it lacks, over the hour; files and bytes
        are checked first), else when its turn comes; with ``return_exceptions=True`` (as
        ``asyncio.gather``) that error takes the clip's place in the list and the other clips are
        classified.
        """
        # the rows of a datasets column (or Dataset) are named by their number: row 17 of the 'audio' column
        audios, rows = named_clip_list(audios, "classify_batch", "for one clip, call classify")
        if top_k is not None:
            check_top_k(top_k)
        if names is not None and len(names) != len(audios):
            raise SERError(f"{len(names)} names for {len(audios)} clips", source="classify_batch(names=...)")
        given = names is not None or rows is not None
        names = [str(n) for n in names] if names is not None else rows or [clip_name(a) for a in audios]
        warn_if_training_files(self, audios)  # once per classifier, from the paths alone
        return classify_in_groups(
            self, audios, names, given, BATCH_HELD_S, batch_size=batch_size, top_k=top_k,
            sampling_rate=sampling_rate, return_exceptions=return_exceptions, warn=warn, channel=channel,
            track=track, require_speech=require_speech,
        )  # fmt: skip

    def _batch_size(self, batch_size: int | None) -> int:
        model = getattr(self.backend, "model", None)
        return batch_size_for(model, getattr(self.backend, "device", "cpu"), batch_size)

    def classify_with_attention(
        self, audio: Any, sampling_rate: int | None = None, top_k: int | None = None
    ) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
        """Scores plus what the demo draws: features ``(T, F)`` and attention weights ``(T',)``.

        ``T'`` is the model's time axis after its CNN pooling (``T' <= T``); weights sum to 1.
        A model without a time axis (the functionals model: one vector per clip) weighs the whole
        clip alike: its ``features`` are ``(T, 0)`` for the clip's ``T`` 10-ms frames and its
        attention is the single weight ``[1.0]`` spanning them.
        """
        if not hasattr(self.backend, "predict_with_attention"):
            raise SERError("attention weights need the PyTorch model, not this backend", source=self.source)
        samples = self._load(refuse_overlong(audio, rate=self.sampling_rate), sampling_rate)
        feats, mask, extra = self._features([samples])
        logits, weights = self.backend.predict_with_attention(feats, mask, **extra)
        keep, labels = self._scoring
        probs = softmax_kept(logits, keep)[0]
        if not np.isfinite(probs).all():
            raise SERError("the model produced non-finite scores for this input", source=clip_name(audio))
        if len(feats.shape) == 2:  # utterance-level features: no frames, no attention over time
            frames = 1 + samples.size // max(1, round(0.010 * self.sampling_rate))
            return _top(probs, labels, top_k), np.zeros((frames, 0), np.float32), np.ones(1, np.float32)
        feats_np = feats[0].cpu().numpy() if hasattr(feats, "cpu") else np.asarray(feats[0])
        n_real = int(np.asarray(mask[0].cpu() if hasattr(mask, "cpu") else mask[0]).sum())
        return _top(probs, labels, top_k), feats_np[:n_real], np.asarray(weights[0], dtype=np.float32)

    # ----------------------------------------------------------------------------- timeline
    def default_window_s(self) -> float:
        """4 s, or the clip length a fixed-length model sees (``max_frames`` frames) when shorter."""
        max_frames = getattr(self.feature_extractor, "max_frames", None)
        hop = getattr(self.feature_extractor, "hop_length", None)
        if max_frames and hop:
            return round(min(4.0, (max_frames - 1) * hop / self.sampling_rate), 3)
        return 4.0

    def timeline(
        self,
        audio: Any,
        window_s: float | None = None,
        hop_s: float | None = None,
        silence_db: float | None = SILENCE_DB,
        silence_rel_db: float | None = SILENCE_REL_DB,
        top_k: int | None = 3,
        batch_size: int | None = None,
        sampling_rate: int | None = None,
        chunk_s: float = 60.0,
        channel: int | str | None = None,
        min_speech_s: float | None = WINDOW_SPEECH_S,
        track: int | str | None = None,
    ) -> Timeline:
        """Classify a long recording in overlapping windows.

        Windows start every ``hop_s`` seconds; when the last one stops short of the end, one more
        window ending exactly at the end is added, and a clip shorter than ``window_s`` gets one
        window covering all of it. A window is silent (label ``"silence"``, excluded from the
        overall label, not run through the model) when its :func:`level_db` is below ``silence_db``
        dBFS or more than ``silence_rel_db`` dB below the loudest window's (None: off, for a quiet speaker
        after a loud beep; a warning says when this rule silenced most audible windows). A window loud enough
        in which a speech detector (Silero VAD, run over the whole recording once) finds less than
        ``min_speech_s`` seconds of speech (less than half the window when it is shorter than twice that)
        is ``"no speech"`` (music, noise, a tone), likewise not run and excluded; ``None``: the detector
        is off. Encoded audio (a path, bytes, an open file or ``io.BytesIO``: a web upload) and an
        ``AudioDecoder`` (read by time range) are decoded in chunks of ``chunk_s`` seconds and windows
        classified ``batch_size`` at a time, so memory stays bounded for recordings of any length.
        ``channel``, ``track``: as in :meth:`classify`.

        Returns:
            a :class:`Timeline`.
        """
        if top_k is not None:
            check_top_k(top_k)  # before minutes of work
        batch_size = self._batch_size(batch_size)
        window_s = float(window_s if window_s is not None else self.default_window_s())
        hop_s = float(hop_s if hop_s is not None else window_s / 2)
        if not (0 < window_s < math.inf and 0 < hop_s < math.inf and 0 < chunk_s < math.inf):  # NaN fails too
            raise SERError(
                f"window ({window_s} s), hop ({hop_s} s) and chunk_s ({chunk_s} s) must be positive",
                source=clip_name(audio),
            )
        check_min_speech(min_speech_s, clip_name(audio))
        sr = self.sampling_rate
        win, hop = max(1, int(round(window_s * sr))), max(1, int(round(hop_s * sr)))
        name = clip_name(audio)
        warn_if_window_odd(window_s, self.feature_extractor, name, hop_s)
        warn_if_training_files(self, [audio])
        if sampling_rate is not None and not hasattr(audio, "read"):  # a path, bytes: their own rate
            warn_rate_ignored(audio, sampling_rate, track)
        load = lambda a: self._load(a, sampling_rate, channel, track)  # noqa: E731  (samples in memory)
        chunks = recording_chunks(audio, load, chunk_s, window_s, sr, channel, track)  # bounded memory

        keep, labels = self._scoring
        scan = classify_windows(
            chunks, win, hop, sr, silence_db, min_speech_s,
            lambda windows: self._probs(windows, [name] * len(windows), keep), batch_size,
        )  # fmt: skip
        if not scan.spans:
            raise AudioInputError("contains no audio samples (0 s)", source=name)
        return assemble_timeline(name, scan, labels, top_k, sr, window_s, hop_s, silence_rel_db)


# ================================================================================= CLI
