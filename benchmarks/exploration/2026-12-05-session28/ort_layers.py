"""Session 28, speed only: the turn encoder's graph of 2 / 3 / 4 layers through ONNX Runtime's int8
(per channel, as ``ser-hf export --quantize int8`` writes it; a random head) against PyTorch's int8
encoder and pooling (the package's path), one 3-s synthetic clip untrimmed, one thread, interleaved
runs in one process. On this CPU's AVX-512 kernels only: ONNX Runtime has no switch to limit its own.

    python ort_layers.py > ort_layers.txt
"""

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch

from ser_hf.inference.onnx_files import quantize_int8, speechlike_clip, torch_export
from ser_hf.inference.onnx_runtime import OnnxRuntimeBackend
from ser_hf.inference.onnx_turn import MAX_FRAMES, TurnEncoderGraph
from ser_hf.models.configuration_ser import FunctionalsLinearConfig
from ser_hf.models.modeling_ser import FunctionalsLinearForAudioClassification
from ser_hf.models.turn_encoder import TurnEncoder, whisper_log_mel

torch.set_num_threads(1)
clip = torch.as_tensor(speechlike_clip(3.0, 0))
mel, _ = whisper_log_mel(clip)
feats = mel.T[None].numpy()
mask = np.ones(feats.shape[:2], np.int64)
paths = {}
tmp = Path(tempfile.mkdtemp())
for layers in (2, 3, 4):
    cfg = FunctionalsLinearConfig(
        num_features=768 * layers,
        id2label={i: str(i) for i in range(7)},
        label2id={str(i): i for i in range(7)},
    )
    model = FunctionalsLinearForAudioClassification(cfg).eval()
    g = TurnEncoderGraph(model, TurnEncoder.load(layers=layers, dtype=torch.float32)).eval()
    b, f = torch.export.Dim("batch", min=1, max=64), torch.export.Dim("frames", min=2, max=MAX_FRAMES)
    x, m = torch.randn(2, 14, 80), torch.ones(2, 14, dtype=torch.long)
    proto = torch_export(g, (x, m), {"input_features": {0: b, 1: f}, "attention_mask": {0: b, 1: f}}, 18, "t")
    onnx.save(proto, tmp / f"l{layers}.onnx")
    quantize_int8(tmp / f"l{layers}.onnx", tmp / f"l{layers}.int8.onnx", {}, per_channel=True)
    ort = OnnxRuntimeBackend(tmp / f"l{layers}.int8.onnx", threads=1)
    enc = TurnEncoder.load(layers=layers)
    paths[f"ORT int8 graph, {layers} layers"] = lambda ort=ort: ort.predict_logits(feats, mask)
    paths[f"torch int8 encoder+pooling, {layers} layers"] = lambda enc=enc: enc.pooled([clip])
for c in paths.values():
    for _ in range(5):
        c()
times = {k: [] for k in paths}
rng = np.random.default_rng(0)
for _ in range(30):
    for k in rng.permutation(list(paths)):
        t = time.perf_counter()
        paths[k]()
        times[k].append((time.perf_counter() - t) * 1e3)
for k, v in sorted(times.items()):
    print(f"{k}: p50 {statistics.median(v):.2f} ms")
