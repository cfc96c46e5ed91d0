"""Session 24: the pooled states of smart-turn v3.2's Whisper-tiny encoder (``turn_rule.md``).

smart-turn v3.2 (Daily, BSD-2-Clause; a Whisper-tiny encoder, MIT, fine-tuned to tell from
intonation and pace whether a speaker has finished a turn, about 270 k clips in 23 languages)
ships as an int8 ONNX file inside the pipecat-ai 1.14.0 wheel on PyPI:

    pip download --no-deps pipecat-ai==1.14.0 && unzip the wheel into PC
    python turn_states.py prepare DATA_DIR PC runs/s24_states.npz

The clip (silence-trimmed as the package's extractors trim) is left-padded to the model's fixed
8 s, as smart-turn pads; its Whisper log-mels go through the encoder, and over the positions that
hold the clip the mean and sd of four streams are kept: the residual stream after layers 1, 2 and
3 and the final layer-normed output (4 x 768 = 3,072 values). The same pass stores the default's
own values (``voice-encoder-2``, 1,024) so both come from the same clips and copies.
"""

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))

STREAMS = ["add_146", "add_268", "add_390", "layer_norm_8"]
SECONDS, HOP = 8, 320  # the model's window; samples per encoder position (10-ms frames, stride 2)
_STATE = {}


def _session(pc):
    import onnx
    import onnxruntime as ort

    m = onnx.load(str(Path(pc) / "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"))
    for name in STREAMS:
        m.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    return ort.InferenceSession(m.SerializeToString(), so)


def init(pc):
    sys.path.insert(0, str(pc))
    from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

    _STATE["sess"], _STATE["mel"] = _session(pc), compute_whisper_log_mel_features


def turn_values(waves):
    """(n, 3072): per stream, mean and sd over the positions that hold the (trimmed) clip."""
    from ser_hf.models.feature_extraction_functionals import trim_silence

    n = SECONDS * 16000
    feats, keep = [], []
    for w in waves:
        w = trim_silence(np.asarray(w, np.float32), 16000, 35.0, 0.1)[-n:]
        feats.append(_STATE["mel"](np.pad(w, (n - len(w), 0))))
        keep.append(max(1, min(n // HOP, -(-len(w) // HOP))))
    out = np.zeros((len(waves), 768 * len(STREAMS)), np.float32)
    for s in range(0, len(waves), 16):
        got = _STATE["sess"].run(STREAMS, {"input_features": np.stack(feats[s : s + 16])})
        for j in range(len(got[0])):
            k = keep[s + j]
            out[s + j] = np.concatenate([np.r_[g[j, -k:].mean(0), g[j, -k:].std(0)] for g in got])
    return out


def values(waves):
    """The default's 1,024 values then the encoder's 3,072."""
    from ser_hf.models.feature_extraction_functionals import batch_functionals

    return np.concatenate([batch_functionals(list(waves), "voice-encoder-2", 16000), turn_values(waves)], 1)


def main():
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["prepare", "time"])
    p.add_argument("data")
    p.add_argument("pc")
    p.add_argument("out", nargs="?")
    a = p.parse_args()
    if a.cmd == "time":
        import time

        from encoder_states import data_args

        from ser_hf.training.clips import decode_rows, load_rows

        init(a.pc)
        ds = load_rows(data_args(a.data))
        clips = decode_rows(ds, list(range(0, 4000, 250)), 16000, None, 1)
        turn_values(clips[:2])
        t = time.perf_counter()
        x = turn_values(clips)
        print(f"turn: {(time.perf_counter() - t) / len(clips) * 1e3:.1f} ms a clip; shape {x.shape}")
        t = time.perf_counter()
        for c in clips:
            turn_values([c])
        print(f"turn one at a time: {(time.perf_counter() - t) / len(clips) * 1e3:.1f} ms a clip")
        return
    from common import prepare_states

    prepare_states(a.data, a.out, 1024 + 768 * len(STREAMS), lambda: init(a.pc), values)


if __name__ == "__main__":
    main()
