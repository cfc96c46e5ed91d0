"""Session 24: smart-turn v3.2's Whisper-tiny encoder in PyTorch (``turn_rule.md``, rule 3's next step).

The int8 ONNX file's weights are dequantised (per output channel: (q - zero point) x scale) into a
40-line pre-LN transformer; activations stay in float (the ONNX file also quantises them). With
``clip_only`` the encoder runs over the clip's own positions (the last ones of the 8-s window, as
smart-turn left-pads) instead of all 400, which is what makes it cheaper.

    python turn_port.py check DATA_DIR PC      # values against the ONNX Runtime ones, and the time
    python turn_port.py prepare DATA_DIR PC runs/s24_port.npz   # the port's four streams, every clip and copy
"""

import functools
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-03-session16"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-03-session18"))
from turn_states import HOP, SECONDS, STREAMS  # noqa: E402

ONNX = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"


def dequantised(pc):
    """name -> float32 array for every weight the encoder uses (the quantised ones dequantised),
    and the 24 projection weights in graph order (per layer: k, q, v, out, fc1, fc2)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(Path(pc) / ONNX)).graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}

    def deq(base, axis):
        q = init[f"{base}_quantized"].astype(np.float32)
        scale, zero = init[f"{base}_scale"], init[f"{base}_zero_point"].astype(np.float32)
        shape = [1] * q.ndim
        shape[axis] = -1
        return (q - zero.reshape(shape)) * scale.reshape(shape)

    out = {k: v for k, v in init.items() if k.startswith("inner.encoder") and v.dtype == np.float32}
    for conv in ("conv1", "conv2"):
        out[f"{conv}.weight"] = deq(f"inner.encoder.{conv}.weight", 0)
        b = init[f"inner.encoder.{conv}.bias_quantized"].astype(np.float32)
        out[f"{conv}.bias"] = b * init[f"inner.encoder.{conv}.bias_quantized_scale"]
    prod = {o: n for n in g.node for o in n.output}
    mats = []
    for n in g.node:
        if n.op_type == "MatMul":
            w = prod.get(n.input[1])
            base = (
                w.input[0][: -len("_quantized")]
                if w is not None and w.input[0].endswith("_quantized")
                else None
            )
            if base is not None:
                mats.append(deq(base, 1))  # (in, out), scale per output column
    return out, mats[:24]


class Encoder(nn.Module):
    def __init__(self, pc, layers=4):
        super().__init__()
        w, mats = dequantised(pc)
        t = lambda a: nn.Parameter(torch.from_numpy(np.ascontiguousarray(a)), requires_grad=False)  # noqa: E731
        self.conv1, self.conv2 = nn.Conv1d(80, 384, 3, padding=1), nn.Conv1d(384, 384, 3, stride=2, padding=1)
        for c in ("conv1", "conv2"):
            getattr(self, c).weight, getattr(self, c).bias = t(w[f"{c}.weight"]), t(w[f"{c}.bias"])
        self.pos = t(w["inner.encoder.embed_positions.weight"])
        self.layers = nn.ModuleList()
        for i in range(layers):
            p = f"inner.encoder.layers.{i}."
            k, q, v, o, f1, f2 = mats[6 * i : 6 * i + 6]
            layer = nn.Module()
            layer.ln1, layer.ln2 = nn.LayerNorm(384), nn.LayerNorm(384)
            layer.ln1.weight, layer.ln1.bias = (
                t(w[p + "self_attn_layer_norm.weight"]),
                t(w[p + "self_attn_layer_norm.bias"]),
            )
            layer.ln2.weight, layer.ln2.bias = (
                t(w[p + "final_layer_norm.weight"]),
                t(w[p + "final_layer_norm.bias"]),
            )
            layer.qkv_w = t(np.concatenate([q, k, v], 1))
            zero = np.zeros(384, np.float32)
            layer.qkv_b = t(
                np.concatenate([w[p + "self_attn.q_proj.bias"], zero, w[p + "self_attn.v_proj.bias"]])
            )
            layer.o_w, layer.o_b = t(o), t(w[p + "self_attn.out_proj.bias"])
            layer.f1_w, layer.f1_b, layer.f2_w, layer.f2_b = (
                t(f1),
                t(w[p + "fc1.bias"]),
                t(f2),
                t(w[p + "fc2.bias"]),
            )
            self.layers.append(layer)
        self.ln = nn.LayerNorm(384)
        self.ln.weight, self.ln.bias = (
            t(w["inner.encoder.layer_norm.weight"]),
            t(w["inner.encoder.layer_norm.bias"]),
        )

    def forward(self, mel):
        """mel (B, 80, 2n) -> the four streams' (B, n, 384) states, positions 400-n .. 399."""
        x = nn.functional.gelu(self.conv2(nn.functional.gelu(self.conv1(mel)))).transpose(1, 2)
        x = x + self.pos[-x.shape[1] :]
        out = []
        b, n, _ = x.shape
        for layer in self.layers:
            h = layer.ln1(x) @ layer.qkv_w + layer.qkv_b
            q, k, v = (a.view(b, n, 6, 64).transpose(1, 2) for a in h.split(384, -1))
            a = nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, 384)
            x = x + a @ layer.o_w + layer.o_b
            x = x + nn.functional.gelu(layer.ln2(x) @ layer.f1_w + layer.f1_b) @ layer.f2_w + layer.f2_b
            out.append(x)
        if len(self.layers) == 4:
            out[-1] = self.ln(x)
        return out


N = SECONDS * 16000
_WIN = torch.hann_window(400, periodic=True, dtype=torch.float64)


@functools.lru_cache(maxsize=1)
def _fbank():
    import torchaudio

    return torchaudio.functional.melscale_fbanks(
        201, 0.0, 8000.0, 80, 16000, norm="slaney", mel_scale="slaney"
    ).double()


def torch_mel(w):
    """Whisper log-mels (smart-turn's: waveform normalised over the left-padded 8-s buffer) of only
    the last 2k frames, k = the clip's encoder positions; equal to smart-turn's own (numpy, whole
    buffer) within 5e-6. ``(80, 2k)`` and k."""
    x = torch.from_numpy(np.asarray(w, np.float32)).double()
    k = max(1, min(N // HOP, math.ceil(len(x) / HOP)))
    mean = x.sum() / N
    sd = torch.sqrt((x.square().sum() / N - mean**2).float().double() + 1e-7)
    start = 160 * (800 - 2 * k) - 200  # the first kept frame's first sample, in buffer coordinates
    begin = max(start, 0)
    pad = (N - len(x)) - begin
    seg = torch.cat([(-mean / sd).expand(pad), (x - mean) / sd]) if pad >= 0 else ((x - mean) / sd)[-pad:]
    if start < 0:
        seg = nn.functional.pad(seg[None], (-start, 0), mode="reflect")[0]
    seg = nn.functional.pad(seg[None], (0, 200), mode="reflect")[0]
    spec = torch.fft.rfft(seg.unfold(0, 400, 160)[: 2 * k] * _WIN, dim=-1).abs().square()
    mel = torch.log10((spec @ _fbank()).clamp_min(1e-10))
    return ((torch.maximum(mel, mel.max() - 8.0) + 4.0) / 4.0).T.float(), k


def mel_of(waves, clip_only, mel_fn):
    """Whisper log-mels of each trimmed clip: the full left-padded 8 s (smart-turn's numpy code), or
    (``clip_only``) only the frames that hold the clip (:func:`torch_mel`)."""
    from ser_hf.models.feature_extraction_functionals import trim_silence

    mels, keep = [], []
    for w in waves:
        w = trim_silence(np.asarray(w, np.float32), 16000, 35.0, 0.1)[-N:]
        if clip_only:
            m, k = torch_mel(w)
        else:
            m, k = (
                torch.from_numpy(mel_fn(np.pad(w, (N - len(w), 0)))),
                max(1, min(N // HOP, math.ceil(len(w) / HOP))),
            )
        mels.append(m)
        keep.append(k)
    return mels, keep


@torch.inference_mode()
def port_values(enc, waves, mel_fn, clip_only=True, dtype=torch.float32):
    mels, keep = mel_of(waves, clip_only, mel_fn)
    out = np.zeros((len(waves), 768 * len(enc.layers)), np.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        for i, (m, k) in enumerate(zip(mels, keep)):
            got = enc(m[None])
            out[i] = np.concatenate(
                [torch.cat([g[0, -k:].mean(0), g[0, -k:].std(0, correction=0)]).float().numpy() for g in got]
            )
    return out


def prepare(data, pc, out):
    """The port's four streams (clip positions only, bfloat16: what a package extractor would
    run), for the clips, copies and held-out conditions of ``turn_states.py prepare``."""
    from common import prepare_states

    def init():
        from turn_states import _STATE
        from turn_states import init as init_onnx

        init_onnx(pc)
        _STATE["port"] = Encoder(pc, layers=4).eval()

    def values(waves):
        from turn_states import _STATE

        return port_values(_STATE["port"], waves, _STATE["mel"], True, torch.bfloat16)

    prepare_states(data, out, 3072, init, values)


def main():
    import time

    from encoder_states import data_args
    from turn_states import _STATE, init, turn_values

    from ser_hf.training.clips import decode_rows, load_rows

    data, pc = sys.argv[2], sys.argv[3]
    if sys.argv[1] == "prepare":
        return prepare(data, pc, sys.argv[4])
    torch.set_num_threads(1)
    init(pc)
    enc = Encoder(pc).eval()
    ds = load_rows(data_args(data))
    clips = decode_rows(ds, list(range(0, 4200, 140)), 16000, None, 1)
    ref = turn_values(clips)
    for clip_only in (False, True):
        got = port_values(enc, clips, _STATE["mel"], clip_only)
        for s, name in enumerate(STREAMS):
            a, b = ref[:, 768 * s : 768 * (s + 1)], got[:, 768 * s : 768 * (s + 1)]
            r = np.mean([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(768) if a[:, j].std() > 0])
            print(f"clip_only={clip_only} {name}: mean per-value correlation over clips {r:.3f}")
    for label, f in [
        ("onnx int8, 8 s", lambda c: turn_values([c])),
        ("port fp32, 8 s", lambda c: port_values(enc, [c], _STATE["mel"], False)),
        ("port fp32, clip", lambda c: port_values(enc, [c], _STATE["mel"], True)),
        ("port bf16, clip", lambda c: port_values(enc, [c], _STATE["mel"], True, torch.bfloat16)),
    ]:
        f(clips[0])
        t = time.perf_counter()
        for c in clips:
            f(c)
        print(f"{label}: {(time.perf_counter() - t) / len(clips) * 1e3:.1f} ms a clip")


if __name__ == "__main__":
    main()
