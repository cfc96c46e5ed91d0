"""ONNX export of both model families (``ser-hf export``) and ONNX Runtime inference.

Models on the turn encoder (the default among them) take another route, :mod:`.onnx_turn`: the
encoder, its pooling and the linear head in one graph from log-mels.

:func:`export_onnx` writes a self-contained ``.onnx`` file: inputs ``input_features`` float32
``(batch, time, features)`` and ``attention_mask`` int64 ``(batch, time)`` with DYNAMIC batch and
time axes, outputs ``logits`` and ``probabilities`` ``(batch, num_labels)``, and the label names,
the model config and the feature-extractor config in the file's ``metadata_props``. With
``quantize="int8"`` a dynamically quantised copy (int8 MatMul and LSTM weights,
``onnxruntime.quantization.quantize_dynamic``; convolutions stay fp32 because ONNX Runtime's
``ConvInteger`` is slower than its fp32 convolution) is written next to it as ``<name>.int8.onnx``. Every export is checked against PyTorch on clips of
several lengths and on a padded batch of mixed lengths; fp32 must agree within 1e-4 (max absolute
difference of probabilities), int8's difference is reported.

How the time axis stays dynamic: the export goes through ``torch.export`` (the dynamo exporter)
with symbolic batch and time dimensions. The legacy TorchScript exporter would bake the traced
length into the CNN's reshapes and the positional table. ``torch.export`` itself unrolls
``nn.LSTM`` over the example's time steps (or, inside ``torch.onnx``, falls back to a slow ONNX
``Loop``), so each single-layer LSTM is swapped, in a copy of the model, for a custom op that
becomes one native ONNX ``LSTM`` node with the gates reordered (PyTorch ``i f g o`` -> ONNX
``i o f c``). The model's own padding logic (masked convolutions, per-clip reversal for the
backward LSTM, masked attention and pooling) is plain tensor code and exports as is, so padded
batches give the same probabilities as clips run alone.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import SERError
from ..training.loading import load_feature_extractor, load_model
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
from .onnx_runtime import (
    DEFAULT_OPSET,
    OnnxRuntimeBackend,
)

logger = logging.getLogger(__name__)

PARITY_SECONDS = (0.5, 3.0, 7.0)


# ================================================================================= LSTM as one ONNX op
_LSTM_OP: Any = None


def _lstm_op() -> Any:
    """The custom op ``ser_hf::onnx_lstm(x, W, R, B) -> Y`` (registered once per process).

    ``x`` ``(batch, time, in)``, ``W`` ``(1, 4H, in)``, ``R`` ``(1, 4H, H)``, ``B`` ``(1, 8H)``
    in ONNX gate order; ``Y`` ``(batch, time, H)``, zero initial state. ``torch.export`` keeps it
    as one node (its fake implementation only gives the shape), and :func:`_lstm_to_onnx` turns
    that node into one ONNX ``LSTM``.
    """
    global _LSTM_OP
    if _LSTM_OP is not None:
        return _LSTM_OP

    @torch.library.custom_op(
        "ser_hf::onnx_lstm", mutates_args=(), schema="(Tensor x, Tensor w, Tensor r, Tensor b) -> Tensor"
    )
    def onnx_lstm(x, w, r, b):
        hidden = r.shape[-1]
        params = [
            _onnx_to_torch_gates(w[0]),
            _onnx_to_torch_gates(r[0]),
            _onnx_to_torch_gates(b[0, : 4 * hidden]),
            _onnx_to_torch_gates(b[0, 4 * hidden :]),
        ]
        h0 = x.new_zeros(1, x.shape[0], hidden)
        return torch.lstm(x, (h0, h0), params, True, 1, 0.0, False, False, True)[0].contiguous()

    @onnx_lstm.register_fake
    def _(x, w, r, b):
        return x.new_empty(x.shape[0], x.shape[1], r.shape[-1])

    _LSTM_OP = onnx_lstm
    return onnx_lstm


def _lstm_op_overload() -> Any:
    _lstm_op()
    return torch.ops.ser_hf.onnx_lstm.default


def _torch_to_onnx_gates(t: torch.Tensor) -> torch.Tensor:
    i, f, g, o = t.detach().chunk(4, dim=0)
    return torch.cat([i, o, f, g])


def _onnx_to_torch_gates(t: torch.Tensor) -> torch.Tensor:
    i, o, f, c = t.chunk(4, dim=0)
    return torch.cat([i, f, c, o])


def _lstm_to_onnx(x: Any, w: Any, r: Any, b: Any) -> Any:
    """ONNX translation of ``ser_hf::onnx_lstm``: one ``LSTM`` node between two transposes."""
    from onnxscript import opset18 as op

    hidden = r.shape[-1]
    y, _, _ = op.LSTM(op.Transpose(x, perm=[1, 0, 2]), w, r, b, hidden_size=hidden, direction="forward")
    return op.Transpose(op.Squeeze(y, [1]), perm=[1, 0, 2])  # (time, 1, batch, H) -> (batch, time, H)


class _OnnxLstm(nn.Module):
    """Stands in for a single-layer, unidirectional, batch-first ``nn.LSTM`` during export."""

    def __init__(self, lstm: nn.LSTM):
        super().__init__()
        bias_ih = lstm.bias_ih_l0 if lstm.bias else torch.zeros(4 * lstm.hidden_size)
        bias_hh = lstm.bias_hh_l0 if lstm.bias else torch.zeros(4 * lstm.hidden_size)
        self.register_buffer("w", _torch_to_onnx_gates(lstm.weight_ih_l0)[None])
        self.register_buffer("r", _torch_to_onnx_gates(lstm.weight_hh_l0)[None])
        self.register_buffer(
            "b", torch.cat([_torch_to_onnx_gates(bias_ih), _torch_to_onnx_gates(bias_hh)])[None]
        )

    def forward(self, x: torch.Tensor, hx: Any = None) -> tuple[torch.Tensor, None]:
        if hx is not None:
            raise SERError("ONNX export supports LSTMs with a zero initial state only")
        return _lstm_op()(x, self.w, self.r, self.b), None


def _swap_lstms(model: nn.Module) -> int:
    """Replace every exportable ``nn.LSTM`` in ``model`` (in place) by :class:`_OnnxLstm`."""
    swapped = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if (
                isinstance(child, nn.LSTM)
                and child.num_layers == 1
                and not child.bidirectional
                and child.batch_first
                and child.proj_size == 0
            ):
                setattr(module, name, _OnnxLstm(child))
                swapped += 1
    return swapped


class _ExportWrapper(nn.Module):
    """``(input_features, attention_mask) -> (logits, probabilities)`` for the exporter."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_features: torch.Tensor, attention_mask: torch.Tensor):
        logits = self.model(
            input_features=input_features,
            attention_mask=attention_mask,
            output_attentions=False,
            return_dict=True,
        ).logits
        return logits, torch.softmax(logits.float(), dim=-1)


# ================================================================================= loading
# utterance-functionals front ends: not expressible in ONNX
_NOT_EXPORTABLE = ("ser_functionals_linear", "ser_fusion")


def _load(model_dir_or_model: Any, feature_extractor: Any) -> tuple[nn.Module, Any, str]:
    """(model in eval mode on CPU, feature extractor or None, description of the source)."""
    if isinstance(model_dir_or_model, (str, os.PathLike)):
        source = str(model_dir_or_model)
        folder = Path(source)
        if not (folder / "config.json").is_file():
            raise SERError(
                "not a saved model folder (no config.json); pass the folder written by 'ser-hf train' "
                "or save_pretrained",
                source=source,
            )
        model = load_model(source)  # never the folder's own code; safetensors only
        if feature_extractor is None and (folder / "preprocessor_config.json").is_file():
            feature_extractor = source
    elif isinstance(model_dir_or_model, nn.Module):
        model = model_dir_or_model
        source = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
    else:
        raise SERError(
            f"expected a model folder or a loaded model, got {type(model_dir_or_model).__name__}",
            source="export_onnx",
        )
    feature_extractor = load_feature_extractor(feature_extractor)  # a folder or Hub id: loaded
    config = getattr(model, "config", None)
    if config is None or not getattr(config, "id2label", None):
        raise SERError("the model has no config.id2label; only classifiers can be exported", source=source)
    if getattr(config, "model_type", "") == "ser_backbone":
        raise SERError(
            "ser-hf export builds graphs for this package's log-mel families; export a pretrained-encoder "
            "model with the encoder's own tooling (optimum's ONNX exporter), or distil it into a fast "
            "preset with ser-hf distill and export that",
            source=source,
        )
    from .onnx_turn import turn_layers

    if getattr(config, "model_type", "") == "ser_fusion":
        raise SERError(
            "a fusion averages its members' probabilities in Python (and its functionals member, if any, "
            "computes its values in Python): it cannot run as one ONNX graph. Export a frame-feature or "
            "turn-encoder member on its own (ser-hf export --model MEMBER_DIR --out member.onnx), or run the "
            "fusion as it is with EmotionClassifier or ser-hf predict",
            source=source,
        )
    if getattr(config, "model_type", "") in _NOT_EXPORTABLE and not turn_layers(feature_extractor):
        raise SERError(
            f"a {config.model_type} model on hand-made values (statistics over the speech frames, a pitch "
            "tracker, openSMILE) or the speaker encoder's pooled states computes them in Python, and they "
            "cannot run inside an ONNX graph; it runs as it is with EmotionClassifier or ser-hf predict. "
            "Models on the turn encoder export (the default: ser-hf export --model default --out "
            "model.onnx), and so do the frame-feature models, e.g. ser-hf export --model cnn --out "
            "model.onnx",
            source=source,
        )
    num_features = getattr(config, "num_features", None)
    if feature_extractor is not None and num_features and feature_extractor.feature_size != num_features:
        raise SERError(
            f"the feature extractor gives {feature_extractor.feature_size} features but the model expects "
            f"{num_features}; pass the extractor saved with the model",
            source=source,
        )
    return model.float().cpu().eval(), feature_extractor, source


def _min_frames(config: Any) -> int:
    # the CNN pools time by time_reduction; shorter inputs are padded (masked) up to it
    return max(2, int(getattr(config, "time_reduction", 1)))


def _max_frames(config: Any) -> int | None:
    # the CNN-Transformer refuses more than max_positions downsampled frames
    if getattr(config, "use_transformer", False) and getattr(config, "max_positions", None):
        return int(config.max_positions) * int(getattr(config, "time_reduction", 1))
    return None


# ================================================================================= ONNX Runtime


def parity_inputs(
    feature_extractor: Any, num_features: int, seconds: Sequence[float] = PARITY_SECONDS
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(name, features (B, T, F) float32, mask (B, T) int64)]``: each length alone, then a padded
    batch of all lengths (plus one more); with a fixed-length extractor (``max_frames``) also the
    batch as that extractor pads it. Without an extractor, standard-normal features at 100 frames/s.
    """
    rows: list[tuple[str, np.ndarray, np.ndarray]] = []
    lengths = [*seconds, 1.7]
    if feature_extractor is None:
        rng = np.random.default_rng(0)
        frames = [1 + int(s * 100) for s in lengths]
        for s, n in zip(seconds, frames):
            rows.append(
                (
                    f"{s:g} s",
                    rng.standard_normal((1, n, num_features)).astype(np.float32),
                    np.ones((1, n), np.int64),
                )
            )
        feats = rng.standard_normal((len(frames), max(frames), num_features)).astype(np.float32)
        mask = (np.arange(max(frames))[None] < np.array(frames)[:, None]).astype(np.int64)
        rows.append((f"padded batch of {len(frames)} ({min(lengths):g}-{max(lengths):g} s)", feats, mask))
        return rows
    sr = int(feature_extractor.sampling_rate)
    clips = [speechlike_clip(s, seed=i, sampling_rate=sr) for i, s in enumerate(lengths)]
    variable = copy.deepcopy(feature_extractor)
    variable.max_frames = None  # the dynamic time axis is what is being checked

    def feats_of(extractor: Any, audio: Any) -> tuple[np.ndarray, np.ndarray]:
        out = extractor(audio, sampling_rate=sr, return_tensors="np")
        return out["input_features"].astype(np.float32), out["attention_mask"].astype(np.int64)

    for s, clip in zip(seconds, clips):
        rows.append((f"{s:g} s", *feats_of(variable, clip)))
    name = f"padded batch of {len(clips)} ({min(lengths):g}-{max(lengths):g} s)"
    rows.append((name, *feats_of(variable, clips)))
    if feature_extractor.max_frames:
        rows.append(
            (f"{name}, max_frames={feature_extractor.max_frames}", *feats_of(feature_extractor, clips))
        )
    return rows


def parity_table(
    model: nn.Module,
    backends: dict[str, OnnxRuntimeBackend],
    inputs: list[tuple[str, np.ndarray, np.ndarray]],
) -> list[dict[str, Any]]:
    """Per input: PyTorch vs each ONNX backend, max |p_torch - p_onnx| and top-1 agreement."""
    rows = []
    for name, feats, mask in inputs:
        with torch.inference_mode():
            ref = torch.softmax(
                model(
                    input_features=torch.from_numpy(feats), attention_mask=torch.from_numpy(mask)
                ).logits.float(),
                -1,
            ).numpy()
        row: dict[str, Any] = {"input": name, "batch": int(feats.shape[0]), "frames": int(feats.shape[1])}
        compare_backends(row, backends, feats, mask, ref)
        rows.append(row)
    return rows


def format_parity(result: dict[str, Any]) -> str:
    """Markdown table of :func:`export_onnx`'s parity rows."""
    tags = [
        t
        for t in ("fp32", "int8")
        if f"{t}_max_abs_diff" in (result["parity"][0] if result["parity"] else {})
    ]
    head = (
        "| input | batch | frames | " + " | ".join(f"{t} max abs diff | {t} top-1 agree" for t in tags) + " |"
    )
    lines = [head, "|" + " --- |" * (3 + 2 * len(tags))]
    for row in result["parity"]:
        cells = [row["input"], str(row["batch"]), str(row["frames"])]
        for t in tags:
            cells += [f"{row[f'{t}_max_abs_diff']:.2e}", f"{row[f'{t}_top1_agreement']:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ================================================================================= export
def export_onnx(
    model_dir_or_model: Any,
    out_path: str | os.PathLike,
    *,
    feature_extractor: Any = None,
    opset: int = DEFAULT_OPSET,
    quantize: str | None = None,
    check: bool = True,
    parity_seconds: Sequence[float] = PARITY_SECONDS,
) -> dict[str, Any]:
    """Export a ``ser_hf`` model (either family) to ONNX with dynamic batch and time axes.

    Args:
        model_dir_or_model: a saved model folder, or a loaded model (then pass
            ``feature_extractor`` to store its config and to check on real features).
        out_path: the fp32 ``.onnx`` file to write.
        feature_extractor: a ``SERFeatureExtractor`` or folder (default: the model folder's).
        opset: ONNX opset (18 by default; the dynamo exporter needs >= 18, lower ones are
            converted down by the exporter).
        quantize: None or ``"int8"``: also write ``<out stem>.int8.onnx`` with int8 dynamically
            quantised MatMul and LSTM weights (``quantize_dynamic``, QInt8; convolutions fp32).
        check: run the parity check (PyTorch vs ONNX Runtime on clips of ``parity_seconds`` and a
            padded mixed-length batch); fp32 must agree within 1e-4.
        parity_seconds: the single-clip lengths of the check (at least three are recommended).

    Returns:
        ``{"path", "int8_path", "opset", "model_type", "labels", "seconds", "size_bytes",
        "int8_size_bytes", "parity": [rows], "fp32_max_abs_diff", "int8_max_abs_diff"}``; parity
        rows hold ``input``, ``batch``, ``frames``, ``fp32_max_abs_diff``, ``fp32_top1_agreement``
        (and the ``int8_`` pair).

    Raises:
        SERError: bad arguments, an unloadable model, an export failure, or an fp32 parity
            difference above 1e-4 (the file is then not written).
    """
    if quantize not in (None, "int8"):
        raise SERError(f"quantize must be None or 'int8', got {quantize!r}", source="export_onnx")
    out = Path(out_path)
    if out.suffix.lower() != ".onnx":
        raise SERError("the output file name must end in .onnx", source=str(out))
    model, feature_extractor, source = _load(model_dir_or_model, feature_extractor)
    config = model.config
    from .onnx_turn import export_turn_onnx, turn_layers

    if turn_layers(feature_extractor):  # the turn encoder, its pooling and the head in one graph
        return export_turn_onnx(
            model, feature_extractor, out, opset, quantize, check, tuple(parity_seconds), source
        )
    num_features = int(
        getattr(config, "num_features", 0) or (feature_extractor.feature_size if feature_extractor else 0)
    )
    if not num_features:
        raise SERError("cannot tell the number of input features (config.num_features)", source=source)
    min_frames, max_frames = _min_frames(config), _max_frames(config)

    started = time.perf_counter()
    export_model = copy.deepcopy(model)
    swapped = _swap_lstms(export_model)
    wrapper = _ExportWrapper(export_model).eval()
    example_t = 7 * min_frames + 3
    feats = torch.randn(2, example_t, num_features)
    mask = torch.ones(2, example_t, dtype=torch.long)
    mask[1, example_t // 2 :] = 0
    batch_dim = torch.export.Dim("batch", min=1, max=4096)
    time_dim = torch.export.Dim("time", min=min_frames, max=max_frames or 10_000_000)
    dynamic = {"input_features": {0: batch_dim, 1: time_dim}, "attention_mask": {0: batch_dim, 1: time_dim}}
    if swapped:
        logger.info("exporting %s (%d LSTM layers as ONNX LSTM nodes, opset %d)", source, swapped, opset)
    else:
        logger.info("exporting %s (opset %d)", source, opset)
    translation = {_lstm_op_overload(): _lstm_to_onnx}
    proto = torch_export(wrapper, (feats, mask), dynamic, opset, source, custom_translation_table=translation)
    spec = (
        f"input_features float32 (batch, frames, {num_features}): the frames of the model's feature extractor "
        f"(ser_hf.feature_extractor; SERFeatureExtractor in the ser_hf package), {min_frames} to "
        f"{max_frames or 'any number of'} frames; attention_mask int64 (batch, frames): 1 on each clip's "
        "frames, 0 on the padding after them"
    )
    set_metadata(proto, metadata_props(model, feature_extractor, min_frames, "none", source, spec))
    proto.doc_string = (
        f"ser_hf speech emotion recognition model ({config.model_type}) exported from {public_source(source)}"
    )

    result = new_result(out, opset, config)
    with tempfile.TemporaryDirectory() as tmp:
        fp32_tmp = Path(tmp) / "model.onnx"
        import onnx

        onnx.save(proto, fp32_tmp)
        backends = {"fp32": OnnxRuntimeBackend(fp32_tmp)}
        int8_tmp = Path(tmp) / "model.int8.onnx"
        if quantize == "int8":
            quantize_int8(
                fp32_tmp,
                int8_tmp,
                metadata_props(model, feature_extractor, min_frames, INT8_DESCRIPTION, source, spec),
            )
            backends["int8"] = OnnxRuntimeBackend(int8_tmp)
        if check:
            rows = parity_table(
                model, backends, parity_inputs(feature_extractor, num_features, parity_seconds)
            )
            check_parity(result, rows, backends, source)
            if "int8" in backends:
                logger.info("int8 max abs difference of probabilities: %.3e", result["int8_max_abs_diff"])
        save_outputs(result, fp32_tmp, int8_tmp if quantize == "int8" else None, out)
    result["seconds"] = round(time.perf_counter() - started, 2)
    logger.info("wrote %s in %.1f s", out, result["seconds"])
    return result


# ================================================================================= CLI
