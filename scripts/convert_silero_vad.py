"""Write ``ser_hf/models/speech_detector.safetensors`` from Silero VAD v6's TorchScript file.

    pip download --no-deps silero-vad==6.2.3 -d /tmp/sv
    python scripts/convert_silero_vad.py /tmp/sv/silero_vad-6.2.3-py3-none-any.whl ser_hf/models/speech_detector.safetensors

The wheel (MIT, Silero Team) holds ``silero_vad/data/silero_vad.jit``; this keeps its 16-kHz model's
parameters under :class:`ser_hf.models.speech_detector.SpeechDetector`'s names (the 8-kHz branch is
left out). The wheel's own ``silero_vad_16k.safetensors`` holds other weights than its TorchScript and
ONNX files (it gives other probabilities), so the TorchScript file is the source. Then checks that the
package's detector gives the TorchScript model's probabilities on random audio.
"""

import argparse
import io
import zipfile

import torch

JIT = "silero_vad/data/silero_vad.jit"
NAMES = {
    "stft": "_model.stft.forward_basis_buffer",
    "decoder.weight": "_model.decoder.decoder.2.weight",
    "decoder.bias": "_model.decoder.decoder.2.bias",
    **{
        f"encoder.{i}.{p}": f"_model.encoder.{i}.reparam_conv.{p}"
        for i in range(4)
        for p in ("weight", "bias")
    },
    **{f"lstm.{p}_l0": f"_model.decoder.rnn.{p}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("wheel")
    parser.add_argument("out")
    args = parser.parse_args()
    from safetensors.torch import save_file

    from ser_hf.models.speech_detector import SpeechDetector

    with zipfile.ZipFile(args.wheel) as z:
        jit = torch.jit.load(io.BytesIO(z.read(JIT)), map_location="cpu").eval()
    state = jit.state_dict()
    tensors = {ours: state[theirs].detach().float().contiguous() for ours, theirs in NAMES.items()}
    save_file(tensors, args.out, metadata={"source": f"silero-vad 6.2.3 wheel, {JIT} (MIT, Silero Team)"})

    detector = SpeechDetector.load(args.out)
    wave = torch.randn(16000 * 5) * torch.linspace(0, 0.3, 16000 * 5)
    with torch.no_grad():
        ours = detector(wave)
        jit.reset_states()
        theirs = jit.audio_forward(wave[None], 16000)[0]
    gap = float((ours - theirs[: len(ours)]).abs().max())
    print(f"wrote {args.out}: {len(tensors)} tensors; largest gap to the TorchScript model {gap:.2e}")
    if gap > 1e-4:
        raise SystemExit("the package's detector does not reproduce the TorchScript model")


if __name__ == "__main__":
    main()
