"""Write ``ser_hf/models/turn_encoder.safetensors`` from smart-turn v3.2's int8 ONNX file.

    pip download --no-deps pipecat-ai==1.14.0 -d /tmp/pc
    python scripts/convert_smart_turn.py /tmp/pc/pipecat_ai-1.14.0-py3-none-any.whl ser_hf/models/turn_encoder.safetensors

The wheel (BSD-2-Clause, Daily) holds ``pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx``,
a Whisper-tiny encoder (MIT, OpenAI) fine-tuned for end-of-turn detection, quantised to int8 with a
scale per output channel. This keeps the encoder's int8 weights and scales as they are (``NAME.int8``
and ``NAME.scale``; :class:`ser_hf.models.turn_encoder.TurnEncoder` dequantises them on loading) and
its other parameters in float32, under :class:`~ser_hf.models.turn_encoder.TurnEncoder`'s names; the
turn classifier's head is left out. Needs ``onnx``.
"""

import argparse
import io
import zipfile

import numpy as np

ONNX = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
PREFIX = "inner.encoder."


def convert(wheel: str, out: str, layers: int) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import save_file

    with zipfile.ZipFile(wheel) as z:
        graph = onnx.load(io.BytesIO(z.read(ONNX))).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    made = {o: n for n in graph.node for o in n.output}

    def quantised(base: str, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """int8 weights with the output channel first, and their scales (zero points must be 0)."""
        q, scale, zero = init[f"{base}_quantized"], init[f"{base}_scale"], init[f"{base}_zero_point"]
        if q.dtype != np.int8 or np.any(zero != 0):
            raise SystemExit(f"{base}: expected symmetric int8 weights")
        return np.moveaxis(q, axis, 0).copy(), scale.astype(np.float32)

    # the projections in graph order, 6 per layer: k, q, v, out, fc1, fc2 ((in, out), scale per column)
    mats = []
    for node in graph.node:
        w = made.get(node.input[1]) if node.op_type == "MatMul" else None
        if w is not None and w.input[0].endswith("_quantized"):
            mats.append(quantised(w.input[0][: -len("_quantized")], 1))
    tensors: dict[str, np.ndarray] = {}

    def put(name: str, pair: tuple[np.ndarray, np.ndarray]) -> None:
        tensors[f"{name}.int8"], tensors[f"{name}.scale"] = pair

    for conv in ("conv1", "conv2"):
        put(f"{conv}.weight", quantised(f"{PREFIX}{conv}.weight", 0))
        bias = init[f"{PREFIX}{conv}.bias_quantized"].astype(np.float64)
        tensors[f"{conv}.bias"] = (bias * init[f"{PREFIX}{conv}.bias_quantized_scale"]).astype(np.float32)
    tensors["positions"] = init[f"{PREFIX}embed_positions.weight"]
    for i in range(layers):
        p, t = f"{PREFIX}layers.{i}.", f"layers.{i}."
        k, q, v, o, f1, f2 = mats[6 * i : 6 * i + 6]
        tensors[t + "qkv.weight.int8"] = np.concatenate([q[0], k[0], v[0]])
        tensors[t + "qkv.weight.scale"] = np.concatenate([q[1], k[1], v[1]])
        zeros = np.zeros(384, np.float32)
        tensors[t + "qkv.bias"] = np.concatenate(
            [init[p + "self_attn.q_proj.bias"], zeros, init[p + "self_attn.v_proj.bias"]]
        )
        put(t + "out.weight", o)
        tensors[t + "out.bias"] = init[p + "self_attn.out_proj.bias"]
        put(t + "fc1.weight", f1)
        tensors[t + "fc1.bias"] = init[p + "fc1.bias"]
        put(t + "fc2.weight", f2)
        tensors[t + "fc2.bias"] = init[p + "fc2.bias"]
        for ours, theirs in (("attn_norm", "self_attn_layer_norm"), ("mlp_norm", "final_layer_norm")):
            tensors[f"{t}{ours}.weight"], tensors[f"{t}{ours}.bias"] = (
                init[f"{p}{theirs}.weight"],
                init[f"{p}{theirs}.bias"],
            )
    tensors["norm.weight"], tensors["norm.bias"] = (
        init[f"{PREFIX}layer_norm.weight"],
        init[f"{PREFIX}layer_norm.bias"],
    )
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_file(
        tensors,
        out,
        metadata={
            "source": f"pipecat-ai 1.14.0 wheel, {ONNX}",
            "licence": "BSD-2-Clause (Daily); Whisper: MIT (OpenAI)",
        },
    )
    return tensors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wheel", help="pipecat_ai-1.14.0-py3-none-any.whl")
    p.add_argument("out", help="the .safetensors file to write")
    p.add_argument("--layers", type=int, default=4, help="transformer layers to keep (default all 4)")
    a = p.parse_args()
    tensors = convert(a.wheel, a.out, a.layers)
    print(f"wrote {a.out}: {len(tensors)} tensors, {sum(v.nbytes for v in tensors.values()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
