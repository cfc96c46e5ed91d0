"""Utterance functionals and the fusion front end (remote code).

``SERFunctionalsFeatureExtractor`` turns each clip into one vector of statistics of frame
descriptors (our log-mel / MFCC / F0 functionals, optionally openSMILE ComParE 2016, imported
lazily); ``SERFusionFeatureExtractor`` returns the frame features of :class:`SERFeatureExtractor`
plus those functionals, so each member of a fusion reads what it was trained on.

The functionals themselves are computed in ``functionals_vector.py`` (the sets, one vector per clip)
and ``functionals_statistics.py`` (the statistics of one clip); both are copied with this file, and
their names are importable from here.

This file is copied next to saved models, so it imports only torch, numpy, transformers and
its single-dot siblings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor

from .configuration_ser import FUNCTIONAL_BLOCKS, FUNCTIONAL_SETS  # noqa: F401  (FUNCTIONAL_SETS: re-exported)
from .errors import SERError
from .feature_extraction_ser import SERFeatureExtractor
from .feature_functions import RawSpeech, warn_assumed_rate, waveform_batch
from .functionals_statistics import (  # noqa: F401  (re-exported from their old home)
    N_COMPARE,
    N_F0_STATS,
    N_LOGMEL_STATS,
    N_MFCC_STATS,
    N_OURS,
    N_PITCH_STATS,
    N_SPEECH_STATS,
    PITCH_HZ,
    SPEECH_DB,
    _semitone_stats,
    detect_pitch,
    f0_functionals,
    pitch_functionals,
    relative_pitch_stats,
    row_functionals,
    speech_frames,
    speech_pitch,
    speech_row_functionals,
    speech_stats,
    trim_silence,
)
from .functionals_vector import (  # noqa: F401  (all but two re-exported from their old home)
    _FUNCTIONAL_TOOLS,
    BLOCK_SIZES,
    ENCODER_BLOCKS,
    TURN_BLOCKS,
    UNPLACED_BLOCKS,
    _functional_tools,
    _prepared,
    batch_functionals,
    block_columns,
    clip_functionals,
    functionals_size,
)
from .turn_encoder import WEIGHTS as TURN_ENCODER_WEIGHTS
from .turn_encoder import turn_encoder_size, turn_encoder_stats  # noqa: F401  (re-exported)
from .voice_encoder import WEIGHTS as VOICE_ENCODER_WEIGHTS
from .voice_encoder import voice_encoder_size, voice_encoder_stats  # noqa: F401  (re-exported)

VOICE_ENCODER_LICENSE = "voice_encoder_LICENSE.txt"
TURN_ENCODER_LICENSE = "turn_encoder_LICENSE.txt"
_ENCODER_FILES = (  # the extractor's attribute for a saved model's copy, the shipped file, its licence, blocks
    ("_encoder_weights", VOICE_ENCODER_WEIGHTS, VOICE_ENCODER_LICENSE, "voice-encoder"),
    ("_turn_weights", TURN_ENCODER_WEIGHTS, TURN_ENCODER_LICENSE, "turn-encoder"),
)

logger = logging.getLogger(__name__)


class _ShipsEncoders:
    """``from_pretrained`` / ``save_pretrained`` of an extractor whose functionals read a pretrained
    encoder: a copy of the encoder's weights and licence is saved beside the model and read from its
    folder or Hub repo (``voice_encoder.safetensors``, ``turn_encoder.safetensors``), so the model runs
    as remote code without ser_hf."""

    def _encoders(self) -> Any:
        return self

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, **kwargs: Any) -> Any:
        from transformers.utils import cached_file

        extractor = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        target = None if isinstance(extractor, tuple) else extractor._encoders()
        options = {
            k: kwargs[k] for k in ("cache_dir", "token", "revision", "local_files_only") if k in kwargs
        }
        for attr, shipped, _ in target._weight_files() if target is not None else ():
            found = cached_file(
                pretrained_model_name_or_path,
                shipped.name,
                _raise_exceptions_for_missing_entries=False,
                **options,
            )
            setattr(target, attr, found)
        return extractor

    def save_pretrained(self, save_directory: Any, *args: Any, **kwargs: Any) -> Any:
        import shutil

        out = super().save_pretrained(save_directory, *args, **kwargs)
        target = self._encoders()
        for attr, shipped, licence_name in target._weight_files() if target is not None else ():
            weights = Path(getattr(target, attr) or shipped)
            licence = weights.with_name(licence_name)
            if not licence.is_file():  # e.g. a Hub cache holding the weights only
                licence = shipped.with_name(licence_name)
            for src in (weights, licence):
                dst = Path(save_directory) / src.name
                if src.is_file() and src.resolve() != dst.resolve():
                    shutil.copyfile(src, dst)
        return out


class SERFunctionalsFeatureExtractor(_ShipsEncoders, SequenceFeatureExtractor):
    """Waveforms -> one functionals vector per clip, ``input_features`` ``(batch, feature_size)``.

    The front end of :class:`FunctionalsLinearForAudioClassification`: silence trimming
    (``trim_db`` below the loudest 10-ms frame, ``trim_margin_s`` kept), then
    :func:`clip_functionals` with the set ``functionals`` (``"ours"``: 1,681 values from this
    file's log-mel/MFCC features and YIN F0; ``"compare"``: openSMILE's 6,373 ComParE 2016
    functionals, which need ``pip install opensmile``; ``"compare+ours"``: both;
    ``"speech-stats"``: 448 statistics of 64 log-mel bands over the speech frames only, the
    fast, corpus-robust set of :func:`speech_stats`; ``"speech-stats-pitch"``: those plus the 5
    speaker-relative pitch statistics of :func:`relative_pitch_stats`; ``"speech-stats-mfcc"``: those
    plus whole-clip statistics of 40 MFCCs with deltas, RMS and ZCR and 7 of log-F0;
    ``"speech-stats-mfcc-speech"``: the same with the MFCC statistics over the speech frames only;
    ``"voice-encoder"``: 1,792 pooled states of a pretrained speaker encoder, :mod:`.voice_encoder`,
    ``"voice-encoder-2"`` its first two layers' 1,024; ``"speech-stats-mfcc-speech-encoder"``: both;
    ``"turn-encoder(-2)"``: pooled states of :mod:`.turn_encoder`, which reads the last 8 s).
    """

    model_input_names = ["input_features"]
    # one vector per clip, no padding: callers that need one output per clip may still pass this
    # many clips per call (the voice encoder then shares the LSTM's batches among them)
    clips_per_call = 16

    def __init__(
        self,
        functionals: str = "compare+ours",
        sampling_rate: int = 16000,
        trim_db: float | None = 35.0,
        trim_margin_s: float = 0.1,
        padding_value: float = 0.0,
        **kwargs: Any,
    ):
        saved_size = kwargs.pop("feature_size", None)
        size = functionals_size(functionals)
        if saved_size is not None and int(saved_size) != size:
            raise SERError(
                f"preprocessor_config.json says feature_size={saved_size}; {functionals!r} gives {size}"
            )
        kwargs.pop("return_attention_mask", None)
        super().__init__(
            feature_size=size,
            sampling_rate=int(sampling_rate),
            padding_value=padding_value,
            return_attention_mask=False,
            **kwargs,
        )
        self.functionals = functionals
        self.trim_db = trim_db
        self.trim_margin_s = trim_margin_s
        self._encoder_weights: str | None = None  # a saved model's copy of the voice encoder
        self._turn_weights: str | None = None  # ... and of the turn encoder

    def _weight_files(self) -> list[tuple[str, Path, str]]:
        """(attribute, shipped weights, licence file name) of each pretrained encoder the set reads."""
        blocks = FUNCTIONAL_BLOCKS[self.functionals]
        return [f[:3] for f in _ENCODER_FILES if any(b.startswith(f[3]) for b in blocks)]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_encoder_weights", None)
        out.pop("_turn_weights", None)
        return out

    def __call__(
        self,
        raw_speech: RawSpeech,
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        max_length: int | None = None,
        truncation: bool = False,
        **kwargs: Any,
    ) -> BatchFeature:
        """Functionals of one clip or a batch (arguments as :meth:`SERFeatureExtractor.__call__`)."""
        if sampling_rate is not None and int(sampling_rate) != self.sampling_rate:
            raise SERError(
                f"audio at {sampling_rate} Hz but this extractor expects {self.sampling_rate} Hz; "
                "resample first (ser_hf.load_audio does)"
            )
        warn_assumed_rate(self, sampling_rate, logger)
        batch, lengths = waveform_batch(raw_speech, self.sampling_rate, None, max_length, truncation)
        vectors = batch_functionals(
            [batch[i, : int(lengths[i])].numpy() for i in range(batch.shape[0])],
            self.functionals,
            self.sampling_rate,
            self.trim_db,
            self.trim_margin_s,
            self._encoder_weights,
            self._turn_weights,
        ).astype(np.float32)
        return BatchFeature({"input_features": vectors}, tensor_type=return_tensors)


_TYPE_KEYS = ("feature_extractor_type", "auto_map", "processor_class")


class SERFusionFeatureExtractor(_ShipsEncoders, SequenceFeatureExtractor):
    """The front end of :class:`SERFusionForAudioClassification`: frame features and functionals.

    Returns ``input_features`` ``(batch, frames, feature_size)`` and ``attention_mask`` from a
    :class:`SERFeatureExtractor` built from ``frame`` (its saved options), plus ``functionals``
    ``(batch, n)`` from a :class:`SERFunctionalsFeatureExtractor` with the set ``functionals``,
    ``trim_db`` and ``trim_margin_s``. Either part may be None when no member needs it.
    """

    model_input_names = ["input_features", "attention_mask", "functionals"]

    def __init__(
        self,
        frame: dict[str, Any] | None = None,
        functionals: str | None = "compare+ours",
        sampling_rate: int = 16000,
        trim_db: float | None = 35.0,
        trim_margin_s: float = 0.1,
        padding_value: float = 0.0,
        **kwargs: Any,
    ):
        kwargs.pop("feature_size", None)
        kwargs.pop("return_attention_mask", None)
        sampling_rate = int(sampling_rate)
        self.frame = None if frame is None else {k: v for k, v in dict(frame).items() if k not in _TYPE_KEYS}
        self.functionals = functionals
        self.trim_db = trim_db
        self.trim_margin_s = trim_margin_s
        if self.frame is None and functionals is None:
            raise SERError("a fusion feature extractor needs frame options, a functionals set or both")
        self._frame_extractor = None if self.frame is None else SERFeatureExtractor(**self.frame)
        self._functionals_extractor = (
            None
            if functionals is None
            else SERFunctionalsFeatureExtractor(functionals, sampling_rate, trim_db, trim_margin_s)
        )
        if self._frame_extractor is not None and self._frame_extractor.sampling_rate != sampling_rate:
            raise SERError(
                f"the frame features expect {self._frame_extractor.sampling_rate} Hz, the fusion {sampling_rate} Hz"
            )
        size = self._frame_extractor.feature_size if self._frame_extractor is not None else 0
        super().__init__(
            feature_size=size,
            sampling_rate=sampling_rate,
            padding_value=float(padding_value),
            return_attention_mask=self._frame_extractor is not None,
            **kwargs,
        )

    @property
    def hop_length(self) -> int | None:
        """The frame hop in samples (None without frame features)."""
        return None if self._frame_extractor is None else self._frame_extractor.hop_length

    @property
    def max_frames(self) -> int | None:
        """The frame part's fixed clip length in frames, if any."""
        return None if self._frame_extractor is None else self._frame_extractor.max_frames

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_frame_extractor", None)
        out.pop("_functionals_extractor", None)
        return out

    def _encoders(self) -> Any:  # a member's pretrained encoder ships beside the fusion
        return self._functionals_extractor

    def __call__(
        self,
        raw_speech: RawSpeech,
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        device: str | torch.device | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Frame features and/or functionals of one clip or a batch (inputs as
        :meth:`SERFeatureExtractor.__call__`; ``device`` applies to the frame features)."""
        warn_assumed_rate(self, sampling_rate, logger)  # here, not again by each part
        if sampling_rate is None:
            sampling_rate = self.sampling_rate  # the parts' rate too (checked at __init__)
        data: dict[str, Any] = {}
        common = {"sampling_rate": sampling_rate, "return_tensors": return_tensors, **kwargs}
        if self._frame_extractor is not None:
            data.update(self._frame_extractor(raw_speech, device=device, **common))
        if self._functionals_extractor is not None:  # padding etc. mean nothing to one vector per clip
            functionals = self._functionals_extractor(raw_speech, **common)["input_features"]
            if device is not None and hasattr(functionals, "to"):
                functionals = functionals.to(device)
            data["functionals"] = functionals
        return BatchFeature(data, tensor_type=return_tensors)


SERFunctionalsFeatureExtractor.register_for_auto_class()
SERFusionFeatureExtractor.register_for_auto_class()
