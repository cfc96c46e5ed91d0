"""A pretrained speaker encoder's pooled states: the ``"voice-encoder"`` functionals block.

The encoder is Resemblyzer's voice encoder (Resemble AI, Apache-2.0; weights from its 0.1.4 wheel,
``voice_encoder.safetensors`` beside this file, its licence in ``voice_encoder_LICENSE.txt``): a GE2E
speaker-verification model, three LSTM layers of 256 units on 40-band mel power frames (25-ms
windows every 10 ms), trained on thousands of speakers (LibriSpeech, VoxCeleb 1 and 2). It was
trained to tell voices apart; its layers also carry how a voice is being used, and emotion is
measured to be readable from them across corpora (``benchmarks/RESULTS.md``).

A clip (already silence-trimmed by the extractor) is cut into 1.6-s windows (160 frames, the length
the encoder was trained on), each run from a zero state. Pooled over every frame of every window: each layer's mean and standard
deviation, then the windows' embeddings averaged and re-normed as Resemblyzer's
``embed_utterance`` does: 3 x 512 + 256 = 1,792 values (``layers=2``: the first two layers' 1,024).
``percentiles=True`` appends each pooled layer's 10th and 90th percentiles over the same frames
(``layers=2``: 1,024 more; session 19).

The windows of all the clips of a call run through the layers together, as padded batches (the
layers run forward in time, so padding after a window does not touch its states): an LSTM step
costs about as much for 8 windows as for 2, so ``classify_batch`` runs the encoder several times
faster than clip by clip (session 22). In float32 a clip's values do not depend on its batch; in
bfloat16 the kernels round differently for another batch, which moves a clip's values by up to
about 3e-3 (bfloat16 against float32: about 1e-2).

Where the LSTMs run in float32 (CPUs without native bfloat16) and ``onnx`` + ``onnxruntime`` are
installed (``pip install onnx onnxruntime``; ser_hf's ``[onnx]`` extra), the layers run in ONNX Runtime: the same states (within
2e-6); on a 3-s clip of two windows the two layers take 4.5 ms against torch's 8.5 ms on one thread
(session 21, torch then one window at a time). ``SER_HF_ENCODER_RUNTIME=torch`` keeps torch.

This file is copied next to saved models, so it imports only torch, numpy and its single-dot siblings
(and onnx / onnxruntime inside the functions that use them, when they are installed).
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np
import torch

from .errors import SERError, install_hint

WEIGHTS = Path(__file__).with_name("voice_encoder.safetensors")
WINDOW = 160  # frames per window (1.6 s)
HIDDEN = 256
N_MELS = 40
_QUANTILES = torch.tensor([0.1, 0.9], dtype=torch.float64)
BATCH_WINDOWS = 32  # windows per LSTM call (past about 8 an LSTM step's cost grows with the batch)


def voice_encoder_size(layers: int = 3, percentiles: bool = False) -> int:
    """Values per clip: mean and sd of each of ``layers`` layers, plus the embedding with all 3,
    plus each layer's 10th and 90th percentiles with ``percentiles``."""
    return (4 if percentiles else 2) * HIDDEN * layers + (HIDDEN if layers == 3 else 0)


@functools.lru_cache(maxsize=2)
def _mel_matrix(sampling_rate: int = 16000, n_fft: int = 400, n_mels: int = N_MELS) -> torch.Tensor:
    """librosa's default mel filterbank (Slaney's mel scale and area norm), ``(n_fft // 2 + 1, n_mels)``:
    what Resemblyzer's ``librosa.feature.melspectrogram`` applies (written out: no librosa at run time;
    with 80 bands, Whisper's)."""

    def mel(f: np.ndarray) -> np.ndarray:  # linear below 1 kHz, logarithmic above
        f = np.asarray(f, dtype=np.float64)
        return np.where(
            f < 1000.0, 3.0 * f / 200.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        )

    def hz(m: np.ndarray) -> np.ndarray:
        return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)))

    edges = hz(np.linspace(mel(0.0), mel(sampling_rate / 2), n_mels + 2))
    freqs = np.linspace(0.0, sampling_rate / 2, n_fft // 2 + 1)
    ramps = edges[:, None] - freqs[None, :]
    gaps = np.diff(edges)
    lower, upper = -ramps[:-2] / gaps[:-1, None], ramps[2:] / gaps[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(weights.T.astype(np.float32))


def mel_power(wave: torch.Tensor, sampling_rate: int = 16000) -> torch.Tensor:
    """Resemblyzer's input for one clip: volume raised to -30 dBFS when quieter (never lowered),
    then 40-band mel power frames, ``(frames, 40)``."""
    x = wave.to(torch.float32)
    change = -30.0 - 10.0 * math.log10(float((x.double() ** 2).mean()) + 1e-12)
    if change > 0:
        x = x * 10.0 ** (change / 20.0)
    n_fft, hop = sampling_rate * 25 // 1000, sampling_rate // 100
    spec = torch.stft(
        x, n_fft, hop, window=_window(n_fft), center=True, pad_mode="constant", return_complex=True
    )
    return (spec.real**2 + spec.imag**2).T @ _mel_matrix(sampling_rate, n_fft)


@functools.lru_cache(maxsize=2)
def _window(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft)


def load_weights(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """The tensors of a shipped encoder's safetensors file, or a clear error when it is missing."""
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise SERError(
            f"the {what}'s weights are missing ({path}); they ship inside the ser-hf package: "
            f"reinstall it ({install_hint(None, reinstall=True)}), or load this model with ser_hf installed",
            source=str(path),
        )
    return load_file(str(path))


def fast_dtype() -> torch.dtype:
    """bfloat16 where the CPU computes it natively (AVX512-BF16 / AMX: the LSTM runs about 3x faster,
    its states within about 1e-3 of float32's), else float32; ``SER_HF_ENCODER_DTYPE=float32``
    forces float32."""
    if os.environ.get("SER_HF_ENCODER_DTYPE", "").lower() in ("float32", "fp32"):
        return torch.float32
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        native = False
    return torch.bfloat16 if native else torch.float32


@functools.lru_cache(maxsize=1)
def _onnx_installed() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _gates_for_onnx(w: np.ndarray) -> np.ndarray:
    """torch's LSTM gate order (input, forget, cell, output) as ONNX's (input, output, forget, cell)."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def _onnx_lstm_session(layers: list[torch.nn.LSTM], threads: int) -> object:
    """An ONNX Runtime session running ``layers`` one after the other on time-major input
    ``x`` (frames, windows, 40), returning every layer's states ``y0, y1, ...`` (frames, windows,
    256). Needs onnx and onnxruntime."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    nodes, inp, outs = [], "x", []
    for j, lstm in enumerate(layers):
        w = {name: p.detach().float().numpy() for name, p in lstm.named_parameters()}
        arrays = {
            f"W{j}": _gates_for_onnx(w["weight_ih_l0"])[None],
            f"R{j}": _gates_for_onnx(w["weight_hh_l0"])[None],
            f"B{j}": np.concatenate([_gates_for_onnx(w["bias_ih_l0"]), _gates_for_onnx(w["bias_hh_l0"])])[
                None
            ],
        }
        inits += [numpy_helper.from_array(a.astype(np.float32), name) for name, a in arrays.items()]
        nodes.append(
            helper.make_node("LSTM", [inp, f"W{j}", f"R{j}", f"B{j}"], [f"Y{j}"], hidden_size=HIDDEN)
        )
        nodes.append(helper.make_node("Squeeze", [f"Y{j}", "axis1"], [f"y{j}"]))  # drop the direction axis
        inp = f"y{j}"
        outs.append(helper.make_tensor_value_info(inp, TensorProto.FLOAT, None))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["frames", "windows", N_MELS])
    graph = helper.make_graph(nodes, "voice_encoder", [x], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class VoiceEncoder(torch.nn.Module):
    """The three LSTM layers (each its own module, so every layer's outputs can be pooled) and the
    embedding projection of Resemblyzer's ``VoiceEncoder``."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [torch.nn.LSTM(N_MELS if i == 0 else HIDDEN, HIDDEN, 1, batch_first=True) for i in range(3)]
        )
        self.linear = torch.nn.Linear(HIDDEN, HIDDEN)

    @classmethod
    def load(cls, path: str | Path = WEIGHTS, dtype: torch.dtype | None = None) -> VoiceEncoder:
        """The encoder from ``path``, its LSTMs in ``dtype`` (None: :func:`fast_dtype`)."""
        encoder = cls()
        encoder.load_state_dict(load_weights(path, "voice encoder"))
        encoder.layers.to(dtype or fast_dtype())
        return encoder.eval()

    def runtime(self) -> str:
        """``"onnxruntime"`` where the layers are float32 and onnx + onnxruntime are installed (unless
        ``SER_HF_ENCODER_RUNTIME=torch``), else ``"torch"``."""
        wanted = os.environ.get("SER_HF_ENCODER_RUNTIME", "").lower()
        if wanted == "torch" or self.layers[0].weight_hh_l0.dtype != torch.float32:
            return "torch"
        return "onnxruntime" if _onnx_installed() else "torch"

    def _session(self, layers: int) -> object:
        """The ONNX Runtime session of the first ``layers`` layers, built once per process and
        thread count (a forked worker builds its own)."""
        key = (os.getpid(), layers, torch.get_num_threads())
        sessions = self.__dict__.setdefault("_sessions", {})
        if key not in sessions:
            sessions[key] = _onnx_lstm_session(list(self.layers[:layers]), torch.get_num_threads())
        return sessions[key]

    def _run(self, x: torch.Tensor, layers: int, onnx: bool) -> list[torch.Tensor]:
        """The first ``layers`` layers on a padded batch of windows ``x`` (windows, frames, 40), each
        from a zero state: every layer's states (windows, frames, 256), in ONNX Runtime or torch.
        The layers run forward in time, so a window's states do not depend on the padding after it."""
        if onnx:
            ys = self._session(layers).run(None, {"x": x.transpose(0, 1).contiguous().numpy()})
            return [torch.from_numpy(y).transpose(0, 1) for y in ys]
        h, out = x.to(self.layers[0].weight_hh_l0.dtype), []
        for lstm in self.layers[:layers]:
            h, _ = lstm(h)
            out.append(h)
        return out

    def _states(self, mels: list[torch.Tensor], layers: int) -> list[list[torch.Tensor]]:
        """Every clip's states, per layer ``(frames, 256)`` float64 in window order: the 1.6-s
        windows of ALL the clips go through the layers together, in padded batches of at most
        ``BATCH_WINDOWS`` (an LSTM step costs about as much for 8 windows as for 2, so a batch of
        clips runs several times faster than clip by clip)."""
        onnx = self.runtime() == "onnxruntime"
        windows = [
            (c, start, length)
            for c, mel in enumerate(mels)
            for start, length in zip(range(0, len(mel), WINDOW), _window_lengths(len(mel)))
        ]
        pieces: list[list[list[torch.Tensor]]] = [[[] for _ in range(layers)] for _ in mels]
        for k in range(0, len(windows), BATCH_WINDOWS):
            chunk = windows[k : k + BATCH_WINDOWS]
            x = torch.zeros(len(chunk), max(length for _, _, length in chunk), N_MELS)
            for w, (c, start, length) in enumerate(chunk):
                x[w, :length] = mels[c][start : start + length]
            for j, y in enumerate(self._run(x, layers, onnx)):
                for w, (c, _, length) in enumerate(chunk):
                    pieces[c][j].append(y[w, :length].to(torch.float64))
        return [
            [torch.cat(p) if p else torch.zeros(0, HIDDEN, dtype=torch.float64) for p in clip]
            for clip in pieces
        ]

    @torch.inference_mode()
    def forward(
        self,
        waves: list[torch.Tensor],
        layers: int = 3,
        sampling_rate: int = 16000,
        percentiles: bool = False,
    ) -> torch.Tensor:
        """Pooled states of each clip, ``(len(waves), voice_encoder_size(layers, percentiles))``, the
        states from :meth:`_states` (all the clips' windows batched; ONNX Runtime where
        :meth:`runtime` says so, else torch)."""
        out = []
        for states in self._states([mel_power(wave, sampling_rate) for wave in waves], layers):
            feats = []
            for hd in states:
                mean = hd.sum(0) / max(len(hd), 1)
                feats += [mean, ((hd * hd).sum(0) / max(len(hd), 1) - mean * mean).clamp_min(0).sqrt()]
            if layers == 3:  # each window's embedding from its last state, averaged and re-normed
                last = np.cumsum(_window_lengths(len(states[2]))) - 1
                e = torch.relu(self.linear(states[2][last].float())).to(torch.float64)
                embedding = (e / e.norm(dim=1, keepdim=True).clamp_min(1e-8)).sum(0)
                feats.append(embedding / embedding.norm().clamp_min(1e-8))
            for hd in states if percentiles else []:
                feats += list(torch.quantile(hd, _QUANTILES, dim=0))
            out.append(torch.cat(feats))
        return torch.stack(out).to(torch.float32)


def _window_lengths(frames: int) -> list[int]:
    """The frame counts of a clip's 1.6-s windows (the last one may be shorter)."""
    return [min(WINDOW, frames - start) for start in range(0, frames, WINDOW)]


@functools.lru_cache(maxsize=2)
def shared_encoder(weights: str = str(WEIGHTS)) -> VoiceEncoder:
    """One encoder per weights file and process (5.7 MB), loaded on first use."""
    return VoiceEncoder.load(weights)


def voice_encoder_stats(
    waves: list[np.ndarray],
    layers: int = 3,
    sampling_rate: int = 16000,
    weights: str | Path | None = None,
    percentiles: bool = False,
) -> np.ndarray:
    """The block's values of each mono clip, ``(len(waves), size)`` float64 (as the other
    functionals blocks), the clips' windows batched; ``weights``: a saved model's copy of the
    encoder (None: the one beside this file)."""
    if sampling_rate != 16000:
        raise SERError(f"the voice encoder reads 16 kHz audio, got {sampling_rate} Hz; resample first")
    encoder = shared_encoder(str(weights or WEIGHTS))
    clips = [torch.as_tensor(np.asarray(wave, np.float32)) for wave in waves]
    return encoder(clips, layers, percentiles=percentiles).numpy().astype(np.float64)
