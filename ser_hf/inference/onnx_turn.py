"""ONNX export of the turn-encoder models (the default among them): encoder, pooling and head in one graph.

A ``ser_functionals_linear`` model on the ``turn-encoder`` or ``turn-encoder-2`` set reads pooled
states of the turn encoder (:mod:`ser_hf.models.turn_encoder`). :func:`export_turn_onnx` writes a
graph from the clip's Whisper log-mels to the logits: the encoder's convolutions, its positions,
its first ``layers`` transformer layers (attention masked to each clip's own positions), the mean
and sd of every layer's states over those positions, then the model's standardisation and linear
layer. Inputs ``input_features`` float32 ``(batch, frames, 80)`` and ``attention_mask`` int64
``(batch, frames)``, clips padded on the right, with dynamic batch and frame axes (at most 800
frames: the encoder's 8-s window); what is left in Python is :class:`TurnEncoderInputs`: trimming
the silence and computing the log-mels, as the model's feature extractor does.

The package runs the encoder's linear layers in PyTorch's dynamic int8; the graph holds the same
weights in float32 (``.int8.onnx``: ONNX Runtime's own dynamic int8). Both are checked against
PyTorch running the same float32 graph (fp32 within 1e-4), and their distance from the package's
own int8 predictions is reported (``package_max_abs_diff``).
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers.feature_extraction_utils import BatchFeature

from ..data.whole_files import write_whole
from ..errors import SERError
from ..models.configuration_ser import FUNCTIONAL_BLOCKS
from ..models.feature_extraction_functionals import TURN_BLOCKS, UNPLACED_BLOCKS, _prepared
from ..models.modeling_ser import lengths_to_mask
from ..models.turn_encoder import LAYERS, WEIGHTS, WINDOW_SAMPLES, TurnEncoder, whisper_log_mel
from .onnx_files import (
    INT8_DESCRIPTION,
    check_parity,
    compare_backends,
    metadata_props,
    new_result,
    public_source,
    quantize_int8,
    save_outputs,
    set_metadata,
    speechlike_clip,
    torch_export,
)
from .onnx_runtime import META_PREFIX, TURN_INPUT_KIND, OnnxRuntimeBackend

logger = logging.getLogger(__name__)

MAX_FRAMES = WINDOW_SAMPLES // 160


ENCODER_NOTICE = Path(__file__).resolve().parents[1] / "models" / "turn_encoder_LICENSE.txt"


def preprocess_script(out: Path) -> Path:
    """The numpy-only module ``ser-hf export`` writes beside the graph ``out``: an importable name
    (``my-model.onnx`` -> ``my_model_preprocess.py``)."""
    module = re.sub(r"\W", "_", out.stem) + "_preprocess"
    return out.with_name(("_" if module[0].isdigit() else "") + module + ".py")


def write_preprocess(out: Path, script: Path) -> None:
    """:mod:`.onnx_preprocess` to ``script``, its docstring naming ``out`` and ``script`` (it said
    ``default.onnx`` and ``from default_preprocess import`` whatever the export's names were)."""
    text = Path(__file__).with_name("onnx_preprocess.py").read_text(encoding="utf-8")
    end = text.index('"""', 3) + 3  # the module's docstring: the code keeps its own words
    doc = text[:end].replace("default_preprocess", script.stem)
    doc = doc.replace("default.int8.onnx", out.stem + ".int8.onnx").replace("default.onnx", out.name)
    write_whole(script, doc + text[end:])


def turn_inputs_spec(extractor: Any, script: str = "NAME_preprocess.py", graph: str = "NAME.onnx") -> str:
    """How to compute a turn-encoder graph's inputs from audio without the package (``ser_hf.inputs_spec``);
    ``script``: the numpy module written beside ``graph``."""
    return (
        f"Audio: mono float32 at {int(extractor.sampling_rate)} Hz in [-1, 1] (resample other rates first; "
        "the numpy module below does, as the package does). Per clip: (1) trim leading and "
        f"trailing frames more than {extractor.trim_db} dB below the loudest 10-ms frame (DC offset removed first), "
        f"keeping {extractor.trim_margin_s} s of margin; pad with zeros to at least 0.1 s; (2) keep the last 8 s "
        "(128,000 samples); (3) Whisper log-mels as smart-turn computes them on the clip left-padded with zeros "
        "to 8 s: normalise that whole 8-s window to zero mean and unit variance, centred 400-point Hann STFT "
        "with hop 160 (reflect-padded at the window's edges), power, 80 Slaney mels (0-8 kHz), log10 "
        "(floor 1e-10), values floored 8 below their maximum, then (x + 4) / 4; (4) keep the last 2k frames, "
        "k = ceil(samples / 320) (so an EVEN count from 2 to 800): input_features float32 (batch, frames, 80). "
        "attention_mask int64 (batch, frames): 1 on each clip's frames, 0 on the padding after them. Other "
        "frame counts fail or give wrong scores. ser-hf predict labels a clip whose loudest 50 ms is below -55 "
        "dBFS 'silence' without running the model and refuses one under 0.1 s. Code in numpy alone (those rules "
        f"too): the {script} that ser-hf export writes beside {graph} (classify, turn_inputs); in the "
        "package: TurnEncoderInputs in ser_hf.inference.onnx_turn."
    )


def turn_layers(feature_extractor: Any) -> int | None:
    """The turn encoder's layer count when the extractor's set is one turn-encoder block, else None."""
    blocks = FUNCTIONAL_BLOCKS.get(getattr(feature_extractor, "functionals", None) or "", ())
    return TURN_BLOCKS[blocks[0]] if len(blocks) == 1 and blocks[0] in TURN_BLOCKS else None


class TurnEncoderInputs:
    """The graph's inputs from audio: each clip prepared as ``extractor`` prepares it (silence trimmed
    with its ``trim_db`` and ``trim_margin_s``), its Whisper log-mels, padded on the right."""

    def __init__(self, extractor: Any):
        self.extractor = extractor
        self.sampling_rate = int(extractor.sampling_rate)

    def __call__(
        self, raw_speech: Any, sampling_rate: int | None = None, return_tensors: Any = None, **_: Any
    ):
        if sampling_rate is not None and int(sampling_rate) != self.sampling_rate:
            raise SERError(
                f"audio at {sampling_rate} Hz; this model reads {self.sampling_rate} Hz, resample first"
            )
        clips = [raw_speech] if np.ndim(raw_speech[0]) == 0 else list(raw_speech)
        ex = self.extractor
        mels = [
            whisper_log_mel(
                torch.as_tensor(
                    _prepared(np.asarray(c, np.float32), self.sampling_rate, ex.trim_db, ex.trim_margin_s)
                )
            )[0].T
            for c in clips
        ]
        feats = nn.utils.rnn.pad_sequence(mels, batch_first=True)
        lengths = torch.tensor([m.shape[0] for m in mels])
        mask = lengths_to_mask(lengths, feats.shape[1]).long()
        out = {"input_features": feats, "attention_mask": mask}
        return BatchFeature({k: v.numpy() for k, v in out.items()}, tensor_type=return_tensors)


class TurnEncoderGraph(nn.Module):
    """``(log-mels (B, 2k, 80), mask (B, 2k)) -> (logits, probabilities)``: what the model computes on
    :class:`TurnEncoderInputs`, with the encoder in float32 and a batch of clips at once."""

    def __init__(self, model: nn.Module, encoder: TurnEncoder, positions: bool = True):
        super().__init__()
        self.model, self.encoder, self.positions = model, encoder, positions

    def forward(self, input_features: torch.Tensor, attention_mask: torch.Tensor):
        mel = (input_features * attention_mask[..., None]).transpose(1, 2)  # zeros after each clip
        frames = attention_mask.sum(1, keepdim=True)
        keep = lengths_to_mask(frames[:, 0] // 2, mel.shape[-1] // 2).to(mel.dtype)[..., None]  # (B, k, 1)
        count = keep.sum(1)
        feats = []
        # each layer's states, pooled over each clip's own steps
        for i, h in enumerate(self.encoder(mel, frames)):
            if not self.positions and i < LAYERS - 1:  # as TurnEncoder.pooled(positions=False)
                h = h - self.encoder.placed(frames[:, 0] // 2, h.shape[1])
            mean = (h * keep).sum(1) / count
            feats += [mean, (((h - mean[:, None]) ** 2) * keep).sum(1).div(count).sqrt()]
        logits = self.model(input_features=torch.cat(feats, -1), return_dict=True).logits
        return logits, torch.softmax(logits.float(), -1)


def export_turn_onnx(
    model: nn.Module,
    feature_extractor: Any,
    out: Path,
    opset: int,
    quantize: str | None,
    check: bool,
    parity_seconds: tuple[float, ...],
    source: str,
) -> dict[str, Any]:
    """:func:`~ser_hf.inference.onnx_export.export_onnx` for a turn-encoder model (the module's docstring)."""
    import onnx

    layers = turn_layers(feature_extractor)
    weights = getattr(feature_extractor, "_turn_weights", None) or WEIGHTS
    blocks = FUNCTIONAL_BLOCKS[feature_extractor.functionals]
    encoder = TurnEncoder.load(weights, layers, torch.float32)
    graph = TurnEncoderGraph(model, encoder, not UNPLACED_BLOCKS & set(blocks)).eval()
    started = time.perf_counter()
    feats, mask = torch.randn(2, 14, 80), torch.ones(2, 14, dtype=torch.long)
    mask[1, 8:] = 0
    batch, frames = (
        torch.export.Dim("batch", min=1, max=4096),
        torch.export.Dim("frames", min=2, max=MAX_FRAMES),
    )
    dynamic = {"input_features": {0: batch, 1: frames}, "attention_mask": {0: batch, 1: frames}}
    logger.info("exporting %s (turn encoder, %d layers, opset %d)", source, layers, opset)
    proto = torch_export(graph, (feats, mask), dynamic, opset, source)

    script = preprocess_script(out)

    def metadata(quantization: str) -> dict[str, str]:
        spec = turn_inputs_spec(feature_extractor, script.name, out.name)
        meta = metadata_props(model, feature_extractor, 2, quantization, source, spec)
        meta[META_PREFIX + "input"] = TURN_INPUT_KIND
        meta[META_PREFIX + "max_frames"] = str(MAX_FRAMES)
        # the encoder's BSD-2-Clause / MIT notices go with every copy of its weights
        meta[META_PREFIX + "third_party_notice"] = ENCODER_NOTICE.read_text(encoding="utf-8")
        return meta

    set_metadata(proto, metadata("none"))
    proto.doc_string = f"ser_hf speech emotion recognition model (turn encoder, {layers} layers) from {public_source(source)}"
    result = new_result(out, opset, model.config)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"fp32": Path(tmp) / "model.onnx", "int8": Path(tmp) / "model.int8.onnx"}
        onnx.save(proto, paths["fp32"])
        if quantize == "int8":
            # per output channel, as the encoder's weights were quantised (per tensor moved probabilities up
            # to 0.27 from the package's on 380 real clips; per channel 0.09)
            quantize_int8(paths["fp32"], paths["int8"], metadata(INT8_DESCRIPTION), per_channel=True)
        backends = {t: OnnxRuntimeBackend(p) for t, p in paths.items() if p.is_file()}
        if check:
            rows = _parity(graph, model, feature_extractor, backends, parity_seconds)
            check_parity(result, rows, backends, source)
        save_outputs(result, paths["fp32"], paths["int8"] if quantize == "int8" else None, out)
    # the inputs from audio without torch or ser_hf, beside the graph (onnx_preprocess's docstring)
    write_preprocess(out, script)
    result["preprocess_path"] = str(script)
    result["seconds"] = round(time.perf_counter() - started, 2)
    logger.info("wrote %s in %.1f s", out, result["seconds"])
    return result


def _parity(
    graph: nn.Module, model: nn.Module, extractor: Any, backends: dict[str, Any], seconds: tuple[float, ...]
) -> list[dict[str, Any]]:
    """Per input (each clip alone, then all in one padded batch): every backend's max abs difference of
    probabilities from PyTorch on the same float32 graph (``<tag>_max_abs_diff``, top-1 agreement), and
    from the package's own int8 path (``<tag>_package_max_abs_diff``)."""
    clips = [speechlike_clip(s, seed=i) for i, s in enumerate((*seconds, 1.7))]
    inputs = TurnEncoderInputs(extractor)
    vectors = extractor(clips, sampling_rate=inputs.sampling_rate, return_tensors="pt")["input_features"]
    with torch.inference_mode():
        package = torch.softmax(model(input_features=torch.as_tensor(vectors)).logits, -1).numpy()
    groups = [(f"{s:g} s", [i]) for i, s in enumerate(seconds)] + [
        (f"padded batch of {len(clips)}", list(range(len(clips))))
    ]
    rows = []
    for name, idx in groups:
        got = inputs([clips[i] for i in idx], return_tensors="pt")
        with torch.inference_mode():
            ref = graph(got["input_features"], got["attention_mask"])[1].numpy()
        row: dict[str, Any] = {
            "input": name,
            "batch": len(idx),
            "frames": int(got["input_features"].shape[1]),
        }
        probs = compare_backends(row, backends, got["input_features"], got["attention_mask"], ref)
        for tag in backends:
            row[f"{tag}_package_max_abs_diff"] = float(np.abs(probs[tag] - package[idx]).max())
        rows.append(row)
    return rows


def describe(result: dict[str, Any]) -> str:
    """One line on how far each backend is from the package's own (int8) predictions."""
    tags = [
        t for t in ("fp32", "int8") if result["parity"] and f"{t}_package_max_abs_diff" in result["parity"][0]
    ]
    return "; ".join(
        f"{t}: max abs difference from the package's own int8 probabilities "
        f"{max(r[f'{t}_package_max_abs_diff'] for r in result['parity']):.3f}"
        for t in tags
    )
