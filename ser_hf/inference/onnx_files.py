"""What every ONNX export of the package shares: metadata, atomic saving, int8 quantisation, checks.

Used by :mod:`.onnx_export` (the log-mel families) and :mod:`.onnx_turn` (the turn-encoder models).
"""

from __future__ import annotations

import glob
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import SERError
from ..training.saving import staged_file
from .classifier import _softmax
from .onnx_runtime import FP32_TOLERANCE, INPUT_NAMES, META_PREFIX, OUTPUT_NAMES

logger = logging.getLogger(__name__)

INT8_OP_TYPES = ("MatMul", "LSTM")
INT8_DESCRIPTION = "int8 dynamic quantisation"  # quantize_int8 says of what, from the quantised graph
# what quantize_dynamic turns each of INT8_OP_TYPES into
_QUANTISED_AS = {"MatMul": ("MatMulInteger", "DynamicQuantizeMatMul"), "LSTM": ("DynamicQuantizeLSTM",)}


def metadata_props(
    model: nn.Module,
    feature_extractor: Any,
    min_frames: int,
    quantization: str,
    source: str = "",
    inputs_spec: str = "",
) -> dict[str, str]:
    """The ``ser_hf.*`` metadata of an exported file: labels, configs, inputs (and how to compute them),
    quantisation (and what it means for batches), the weights' licence, version. No path of the
    building machine: the config's ``_name_or_path`` is left out."""
    from .. import __version__

    config = model.config
    settings = json.loads(config.to_json_string(use_diff=False))
    settings.pop("_name_or_path", None)
    meta = {
        "id2label": json.dumps({str(i): str(name) for i, name in sorted(config.id2label.items())}),
        "model_type": str(getattr(config, "model_type", "")),
        "config": json.dumps(settings, indent=2, sort_keys=True),
        "min_frames": str(min_frames),
        "inputs": ",".join(INPUT_NAMES),
        "outputs": ",".join(OUTPUT_NAMES),
        "quantization": quantization,
        "version": __version__,
        "license": card_license(source)
        or "not recorded: the weights derive from their training data, whose terms apply (see the model card)",
    }
    if inputs_spec:
        meta["inputs_spec"] = inputs_spec
    if quantization != "none":
        meta["batch"] = (
            "one clip per call: dynamic int8 scales each activation over the whole batch, so a clip's "
            "scores move with the other clips of a batch (up to 0.17 measured); the fp32 file batches exactly"
        )
    if feature_extractor is not None:
        meta["feature_extractor"] = feature_extractor.to_json_string()
    return {META_PREFIX + k: v for k, v in meta.items()}


def card_license(source: str) -> str | None:
    """The ``license`` (and ``license_name``) of a local model folder's card, or None."""
    card = Path(source) / "README.md" if source else None
    if card is None or not card.is_file():
        return None
    from huggingface_hub.repocard import metadata_load

    try:
        data = metadata_load(card) or {}
    except Exception:  # a card without valid YAML front matter
        return None
    names = [str(data[k]) for k in ("license", "license_name") if data.get(k)]
    return " / ".join(names) or None


def public_source(source: str) -> str:
    """A local model folder as its own name: the building machine's paths stay out of the file."""
    return Path(source).name if Path(source).is_absolute() or Path(source).exists() else source


def set_metadata(proto: Any, metadata: dict[str, str]) -> None:
    """Write ``metadata`` into the model's ``metadata_props`` (replacing entries of the same key)."""
    kept = [p for p in proto.metadata_props if p.key not in metadata]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def save_atomic(proto: Any, path: Path) -> None:
    """Save through a temporary file in the same folder, then rename: never a half-written model.
    Temporary files of killed saves of ``path`` are removed first (the short ``.ser-hf-*`` names of
    :func:`staged_file`, and the ``.{name}-*.part`` ones of earlier versions)."""
    import onnx

    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}-*.part"):  # of earlier versions
        leftover.unlink(missing_ok=True)
    with staged_file(path, leftovers=True) as tmp:
        onnx.save(proto, str(tmp))


def speechlike_clip(seconds: float, seed: int, sampling_rate: int = 16000) -> np.ndarray:
    """A deterministic voiced-speech-like clip: harmonics of a wobbling F0, syllable envelope, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sampling_rate))) / sampling_rate
    f0 = rng.uniform(110, 240) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sampling_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
    x = 0.2 * envelope * voiced + 0.02 * rng.standard_normal(t.size)
    return x.astype(np.float32)


class quiet_torch_onnx:
    """Silence the exporter's INFO/WARNING chatter (torchvision ops missing, etc.) for one export."""

    names = (
        "torch.onnx",
        "torch._dynamo",
        "torch.export",
        "torch._export",
        "onnxscript",
        "onnx_ir",
        "torch.fx",
    )

    def __enter__(self) -> None:
        self._levels = {n: logging.getLogger(n).level for n in self.names}
        for n in self.names:
            logging.getLogger(n).setLevel(logging.ERROR)

    def __exit__(self, *exc: Any) -> None:
        for n, level in self._levels.items():
            logging.getLogger(n).setLevel(level)


def check_dynamic(proto: Any, source: str) -> None:
    """Both inputs must keep symbolic batch and time axes (a fixed size means it was specialised)."""
    for value in proto.graph.input:
        dims = value.type.tensor_type.shape.dim
        for axis in (0, 1):
            if axis < len(dims) and dims[axis].HasField("dim_value"):
                raise SERError(
                    f"the exporter fixed axis {axis} of {value.name} to {dims[axis].dim_value}; "
                    "the exported model would only accept that size",
                    source=source,
                )


def quantize_int8(
    fp32_path: Path, int8_path: Path, metadata: dict[str, str], per_channel: bool = False
) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # onnxruntime.quantization logs every tensor it skips on the root logger
    root.setLevel(logging.ERROR)
    try:
        # ConvInteger (quantised convolutions) runs about 2x SLOWER than fp32 Conv on ONNX Runtime's
        # CPU kernels, so only the MatMul and LSTM weights are quantised; the convolutions stay fp32
        quantize_dynamic(
            str(fp32_path),
            str(int8_path),
            op_types_to_quantize=list(INT8_OP_TYPES),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
        )
    except Exception as err:
        raise SERError(
            f"int8 quantisation failed ({type(err).__name__}: {err})", source=str(fp32_path)
        ) from err
    finally:
        root.setLevel(level)
    proto = onnx.load(str(int8_path))
    key = META_PREFIX + "quantization"
    set_metadata(proto, {**metadata, key: int8_description(proto, per_channel)})
    onnx.save(proto, str(int8_path))


def int8_description(proto: Any, per_channel: bool = False) -> str:
    """What the int8 graph ``proto`` holds in int8 (it said "MatMul and LSTM" of a graph without an LSTM)."""
    ops = {n.op_type for n in proto.graph.node} | {n.op_type for f in proto.functions for n in f.node}
    kinds = [kind for kind, quantised in _QUANTISED_AS.items() if ops & set(quantised)]
    return (
        f"{INT8_DESCRIPTION} (QInt8 weights of the {' and '.join(kinds) or 'no'} layers"
        f"{', per output channel' if per_channel else ''}; convolutions and the rest fp32)"
    )


def compare_backends(
    row: dict[str, Any], backends: dict[str, Any], feats: Any, mask: Any, ref: np.ndarray
) -> dict:
    """Each backend's probabilities on ``(feats, mask)`` against PyTorch's ``ref``, into ``row``:
    ``<tag>_max_abs_diff``, ``<tag>_top1_agreement``, ``<tag>_finite``; returns ``{tag: probabilities}``."""
    got = {}
    for tag, backend in backends.items():
        probs = got[tag] = _softmax(backend.predict_logits(feats, mask))
        row[f"{tag}_max_abs_diff"] = float(np.abs(probs - ref).max())
        row[f"{tag}_top1_agreement"] = float((probs.argmax(-1) == ref.argmax(-1)).mean())
        row[f"{tag}_finite"] = bool(np.isfinite(probs).all())
    return got


def new_result(out: Path, opset: int, config: Any) -> dict[str, Any]:
    """An export's report before the files are checked and written (``export_onnx``'s Returns)."""
    return {
        "path": str(out),
        "int8_path": None,
        "opset": int(opset),
        "model_type": str(config.model_type),
        "labels": [config.id2label[i] for i in sorted(config.id2label)],
        "parity": [],
        "fp32_max_abs_diff": None,
        "int8_max_abs_diff": None,
    }


def torch_export(
    module: nn.Module, example: tuple, dynamic: dict, opset: int, source: str, **options: Any
) -> Any:
    """``module`` through ``torch.onnx.export`` (the dynamo exporter), quietly; the ``ModelProto``,
    both inputs' batch and time axes checked to have stayed symbolic."""
    try:
        with warnings.catch_warnings(), quiet_torch_onnx():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module,
                example,
                None,
                dynamo=True,
                opset_version=int(opset),
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=dynamic,
                verbose=False,
                **options,
            )
    except Exception as err:
        raise SERError(f"ONNX export failed ({type(err).__name__}: {str(err)[:500]})", source=source) from err
    proto = program.model_proto
    check_dynamic(proto, source)
    _drop_node_metadata(proto)
    return proto


def _drop_node_metadata(proto: Any) -> None:
    """The exporter notes on every node where it came from (``pkg.torch.onnx.stack_trace``: source paths
    of the building machine, hundreds of them): left out of the file, subgraphs and functions too."""

    def clean_nodes(nodes: Any) -> None:
        for node in nodes:
            del node.metadata_props[:]
            node.doc_string = ""
            for attribute in node.attribute:
                for sub in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                    clean_graph(sub)

    def clean_graph(graph: Any) -> None:
        clean_nodes(graph.node)
        for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
            if hasattr(value, "metadata_props"):
                del value.metadata_props[:]
        del graph.metadata_props[:]

    clean_graph(proto.graph)
    for function in proto.functions:  # their nodes (and subgraphs) as the graph's
        clean_nodes(function.node)
        del function.metadata_props[:]


def check_parity(result: dict[str, Any], rows: list[dict[str, Any]], tags: Any, source: str) -> None:
    """Record the parity ``rows`` and each backend's largest difference in ``result``; raise
    :class:`SERError` (so that nothing is written) when fp32 differs from PyTorch by more than 1e-4."""
    result["parity"] = rows
    for tag in tags:
        result[f"{tag}_max_abs_diff"] = max(r[f"{tag}_max_abs_diff"] for r in rows)
    bad = [r for r in rows if not r["fp32_finite"] or r["fp32_max_abs_diff"] > FP32_TOLERANCE]
    if bad:
        raise SERError(
            f"ONNX Runtime and PyTorch disagree: max abs difference of probabilities "
            f"{result['fp32_max_abs_diff']:.2e} > {FP32_TOLERANCE:g} on {bad[0]['input']}; "
            "the file was not written. Please report this with the model's config.json",
            source=source,
        )


def save_outputs(result: dict[str, Any], fp32: Path, int8: Path | None, out: Path) -> None:
    """The checked files to ``out`` (and ``<stem>.int8.onnx`` when ``int8``), atomically; their sizes
    and paths into ``result``."""
    import onnx

    proto = onnx.load(fp32)
    written = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if written is not None and written != result["opset"]:  # the exporter's lowest is above the request
        logger.warning("opset %s was asked for; the exporter wrote opset %s", result["opset"], written)
        result["opset"] = int(written)
    int8_out = out.with_name(out.stem + ".int8.onnx")
    int8_out.unlink(missing_ok=True)  # another model's: it must not stay beside this one
    save_atomic(proto, out)
    result["size_bytes"] = out.stat().st_size
    if int8 is not None:
        save_atomic(onnx.load(int8), int8_out)
        result["int8_path"], result["int8_size_bytes"] = str(int8_out), int8_out.stat().st_size
