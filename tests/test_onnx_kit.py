"""The numpy-only kit ``ser-hf export`` writes beside a turn-encoder graph (``NAME_preprocess.py``), run as a
product runs it: in a process that cannot import torch, transformers or ser_hf, with onnxruntime and numpy.

It must give what ``ser-hf predict`` gives, or a clear error: at any sampling rate (resampled as the
package resamples), on silent and too short clips (``silence`` / an error, not a confident emotion), on
stereo and damaged samples, on long recordings (the graph's 2 to 800 frames), on the WAV formats it reads.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import onnx  # noqa: E402
import soundfile as sf  # noqa: E402

from ser_hf.cli import export, predict  # noqa: E402
from ser_hf.data.audio import load_audio  # noqa: E402
from ser_hf.data.resampling import resample  # noqa: E402
from ser_hf.inference.classifier import EmotionClassifier  # noqa: E402
from ser_hf.inference.onnx_classifier import OnnxEmotionClassifier  # noqa: E402
from ser_hf.inference.windows import sliding_windows  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "demo" / "examples").glob("*.flac"))
BLOCKED = ("torch", "torchaudio", "transformers", "ser_hf")


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> dict[str, Any]:
    """``ser-hf export --model default --out my-model.onnx --quantize int8`` (a name other than the
    default's), and the module it writes, imported from its file."""
    out = tmp_path_factory.mktemp("kit") / "my-model.onnx"
    with contextlib.redirect_stdout(io.StringIO()):
        assert export.cli(["--model", "default", "--out", str(out), "--quantize", "int8", "--json", "-"]) == 0
    script = out.with_name("my_model_preprocess.py")
    spec = importlib.util.spec_from_file_location("my_model_preprocess", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        "path": str(out),
        "int8": str(out.with_name("my-model.int8.onnx")),
        "script": script,
        "module": module,
    }


@pytest.fixture(scope="module")
def onnx_package(kit) -> OnnxEmotionClassifier:
    """The package on the same fp32 graph: its loading, resampling and inputs."""
    return OnnxEmotionClassifier(kit["path"])


def run_kit(kit: dict[str, Any], code: str, block_soundfile: bool = False) -> Any:
    """``code`` in a fresh process that cannot import torch, transformers or ser_hf (nor soundfile, with
    ``block_soundfile``), with ``kit`` (the module) and ``session`` (the fp32 graph); it prints JSON last."""
    blocked = BLOCKED + (("soundfile",) if block_soundfile else ())
    program = (
        f"import sys, json\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
        f"sys.path.insert(0, {str(kit['script'].parent)!r})\n"
        "import numpy as np, onnxruntime as ort\nimport my_model_preprocess as kit\n"
        f"session = ort.InferenceSession({kit['path']!r}, providers=['CPUExecutionProvider'])\n"
        + textwrap.dedent(code)
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


def scores(top: list[dict[str, Any]]) -> dict[str, float]:
    return {s["label"]: s["score"] for s in top}


def test_other_rates_are_resampled_as_the_package_resamples_them(kit, onnx_package, tmp_path):
    """44.1/48 kHz audio was read as 16 kHz (the kit took no rate): confident wrong labels. The kit
    takes the rate and resamples as torchaudio does; its labels are the package's on the same files."""
    module, rng = kit["module"], np.random.default_rng(0)
    files = []
    for i, rate in enumerate((44100, 48000, 8000)):
        up = resample(load_audio(str(EXAMPLES[i]), 16000), 16000, rate)
        x = (up + 0.003 * rng.standard_normal(up.size)).astype(np.float32)  # energy up to its Nyquist too
        ours, theirs = module.resample(x, rate), resample(x.astype(np.float32), rate, 16000)
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-4, rate
        files.append(str(tmp_path / f"clip_{rate}.wav"))
        sf.write(files[-1], x, rate, subtype="PCM_16")
    got = run_kit(
        kit,
        f"""
        out = {{}}
        for path in {files!r}:
            wave, rate = kit.read_audio(path)
            out[path] = [rate, kit.classify(session, wave, rate)]
        print(json.dumps(out))
        """,
    )
    package = EmotionClassifier()
    for path in files:
        rate, top = got[path]
        assert rate == sf.info(path).samplerate
        ref = scores(onnx_package.classify(path, top_k=None))
        assert max(abs(s - ref[label]) for label, s in scores(top).items()) < 1e-3, path
        assert top[0]["label"] == package.classify(path)[0]["label"], path
    with pytest.raises(ValueError, match="sampling rate"):
        module.turn_inputs([np.zeros(16000, np.float32)], 0)


def test_silent_and_too_short_clips_get_what_predict_gives(kit, tmp_path, capsys):
    """Digital zeros scored ``fearful``, a 50-ms clip got emotions: now the kit labels a clip whose
    loudest 50 ms is below -55 dBFS ``silence`` and refuses one under 0.1 s, as ``ser-hf predict`` does."""
    speech = load_audio(str(EXAMPLES[3]), 16000)
    peak_db = kit["module"].level_db(speech)
    clips = {
        "zeros": np.zeros(32000, np.float32),
        "hum_56db": speech * 10 ** ((-56.0 - peak_db) / 20),  # just below the threshold: silence
        "quiet_54db": speech * 10 ** ((-54.0 - peak_db) / 20),  # just above it: an emotion
        "short": speech[8000:8800],  # 50 ms
    }
    paths = {}
    for name, x in clips.items():
        paths[name] = str(tmp_path / f"{name}.wav")
        sf.write(paths[name], x, 16000, subtype="FLOAT")
    capsys.readouterr()
    assert predict.cli([*paths.values(), "--json", "-"]) == 1  # the short clip's error row
    rows = {Path(r["file"]).stem: r for r in json.loads(capsys.readouterr().out)}
    got = run_kit(
        kit,
        f"""
        out = {{}}
        for name, path in {paths!r}.items():
            wave, rate = kit.read_audio(path)
            try:
                out[name] = kit.classify(session, wave, rate)[0]["label"]
            except kit.TooShortError as err:
                out[name] = "error: " + str(err)
        try:
            kit.turn_inputs([np.zeros(16000, np.float32)], 16000)
        except kit.NoSpeechError as err:
            out["turn_inputs"] = str(err)
        print(json.dumps(out))
        """,
    )
    assert rows["zeros"]["label"] == got["zeros"] == "silence"
    assert rows["hum_56db"]["label"] == got["hum_56db"] == "silence"
    assert rows["quiet_54db"]["label"] == got["quiet_54db"] != "silence"
    assert "error" in rows["short"] and got["short"].startswith(
        "error: the clip is 50 ms long (800 samples at 16000 Hz), too short"
    )
    assert "silent" in got["turn_inputs"]
    with pytest.raises(kit["module"].TooShortError):
        kit["module"].classify(None, np.zeros(0, np.float32), 16000)


def test_stereo_is_averaged_and_damaged_samples_are_refused(kit, onnx_package):
    """A (samples, 2) array was flattened (its channels interleaved) and NaN samples gave NaN scores
    read as ``neutral``: stereo is averaged as the package averages it, NaN/inf is a clear error."""
    module = kit["module"]
    left = load_audio(str(EXAMPLES[4]), 16000)
    stereo = np.stack([left, 0.3 * np.roll(left, 4000)], axis=1)
    mono = module.turn_inputs([stereo.mean(1)], 16000)
    for layout in (stereo, stereo.T):
        got = module.turn_inputs([layout], 16000)
        assert got["input_features"].shape == mono["input_features"].shape
        assert np.abs(got["input_features"] - mono["input_features"]).max() < 1e-6
    pcm = (stereo * 32767).astype(np.int16)  # integer PCM scaled as the package scales it
    assert np.allclose(module.to_mono(pcm), load_audio(pcm, 16000, source_rate=16000), atol=1e-7)
    ref = scores(onnx_package.classify(stereo, 16000, top_k=None))
    got = run_kit(kit, f"print(json.dumps(kit.classify(session, np.load({_saved(stereo)!r}), 16000)))")
    assert max(abs(s - ref[label]) for label, s in scores(got).items()) < 1e-3
    broken = left.copy()
    broken[100] = np.nan
    for bad, message in [(broken, "NaN or infinite"), (np.zeros((2, 2, 16000)), "1-D samples or a 2-D")]:
        with pytest.raises(ValueError, match=message):
            module.turn_inputs([bad], 16000)
    with pytest.raises(ValueError, match="one clip's samples"):
        module.turn_inputs(left, 16000)


def _saved(x: np.ndarray) -> str:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "x.npy"
    np.save(path, x)
    return str(path)


def test_long_recordings_stay_in_the_graphs_frames_and_have_windows(kit):
    """The README promised "dynamic batch and length"; the graph takes an even number of frames from 2
    to 800. The kit keeps the last 8 s (and says so) and cuts a long recording into predict's windows."""
    module = kit["module"]
    assert "2 to 800" in module.__doc__ and "last 8 s" in module.__doc__
    rng = np.random.default_rng(1)
    for seconds in (0.1, 0.37, 3.0, 8.0, 20.0):
        x = (0.1 * rng.standard_normal(round(seconds * 44100))).astype(np.float32)
        frames = module.turn_inputs([x], 44100)["input_features"].shape[1]
        assert 2 <= frames <= 800 and frames % 2 == 0, seconds
    x = np.zeros(19 * 16000, dtype=np.float32)
    ours = [(a, b) for a, b, _ in module.windows(x, 16000)]
    assert ours == [(a, b) for a, b, _ in sliding_windows([x], 4 * 16000, 2 * 16000)]
    assert ours[-1] == (15 * 16000, 19 * 16000)


def test_read_audio_reads_float_and_24_bit_wav_with_or_without_soundfile(kit, tmp_path):
    """``read_wav`` raised ``wave.Error: unknown format: 3`` on float WAV (and 65534 on 24-bit) though its
    docstring promised 32-bit: soundfile when installed reads them (FLAC too); without it, integer and
    float WAV is read in numpy (24-bit included) and anything else is a ValueError naming the fix."""
    x = (0.5 * np.sin(np.arange(8000) / 7.0)).astype(np.float32)
    files = {}
    for name, fmt, subtype in [
        ("float.wav", "WAV", "FLOAT"),
        ("pcm24.wav", "WAV", "PCM_24"),
        ("pcm32_stereo.wav", "WAV", "PCM_32"),
        ("u8.wav", "WAV", "PCM_U8"),
        ("extensible24.wav", "WAVEX", "PCM_24"),
        ("pcm16.flac", "FLAC", "PCM_16"),
    ]:
        files[name] = str(tmp_path / name)
        sf.write(
            files[name], np.stack([x, -0.5 * x], 1) if "stereo" in name else x, 22050, subtype, format=fmt
        )
    files["not_read.m4a"] = str(tmp_path / "not_read.m4a")  # soundfile: LibsndfileError, not a ValueError
    (tmp_path / "not_read.m4a").write_bytes(b"\0\0\0\x20ftypM4A " + bytes(64))
    code = f"""
    out = {{}}
    for name, path in {files!r}.items():
        try:
            wave, rate = kit.read_wav(path)
            out[name] = [rate, wave.tolist()]
        except ValueError as err:
            out[name] = str(err)
    print(json.dumps(out))
    """
    for block in (False, True):
        got = run_kit(kit, code, block_soundfile=block)
        for name, path in files.items():
            if name == "not_read.m4a":
                assert isinstance(got[name], str) and "ffmpeg -i IN" in got[name], got[name]
                continue
            if block and name == "pcm16.flac":  # not a WAV: soundfile's
                assert isinstance(got[name], str) and "pip install soundfile" in got[name], name
                continue
            rate, wave = got[name]
            assert rate == 22050 and np.allclose(wave, load_audio(path, 22050), atol=1e-6), (name, block)


def test_the_generated_files_name_themselves_and_say_what_is_int8(kit):
    """``my-model.onnx``'s module said ``from default_preprocess import`` and "default.onnx"; its metadata
    promised ``NAME_preprocess.py`` (it is ``my_model_preprocess.py``); int8 metadata said "MatMul and
    LSTM" of a graph without an LSTM."""
    doc = kit["module"].__doc__
    assert "from my_model_preprocess import" in doc and '"my-model.onnx"' in doc
    assert "default.onnx" not in doc and "default_preprocess" not in doc
    for path in (kit["path"], kit["int8"]):
        meta = {p.key: p.value for p in onnx.load(path).metadata_props}
        assert (
            "my_model_preprocess.py" in meta["ser_hf.inputs_spec"]
            and "my-model.onnx" in meta["ser_hf.inputs_spec"]
        )
    meta = {p.key: p.value for p in onnx.load(kit["int8"]).metadata_props}
    assert "MatMul" in meta["ser_hf.quantization"] and "LSTM" not in meta["ser_hf.quantization"]


def _riff(fmt: bytes, data: bytes, before: list[tuple[bytes, bytes]], data_size: int | None = None) -> bytes:
    """A RIFF WAV of the chunks ``before``, ``fmt `` and ``data`` (``data_size``: the size its header gives)."""
    chunks = b"".join(
        name + len(body).to_bytes(4, "little") + body + b"\0" * (len(body) & 1) for name, body in before
    )
    chunks += b"fmt " + len(fmt).to_bytes(4, "little") + fmt
    chunks += b"data" + (len(data) if data_size is None else data_size).to_bytes(4, "little") + data
    return b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks


def test_read_audio_without_soundfile_reads_extensible_wav_as_soundfile_does(kit, tmp_path):
    """Without soundfile, the kit's reader (the standard library's ``wave``) refused every
    WAVE_FORMAT_EXTENSIBLE file (``unknown format: 65534``): the 24- and 32-bit WAV that ffmpeg
    (``-c:a pcm_s24le``, ``pcm_s32le``, ``pcm_f32le``) and sox write, and float WAV. It now walks the
    RIFF chunks in numpy (a LIST chunk of odd size before fmt, a data size of 0xFFFFFFFF as ffmpeg writes
    to a pipe, RF64) and gives soundfile's samples; A-law or ADPCM is the ValueError naming the fix."""
    rng = np.random.default_rng(3)
    x = np.clip(0.3 * rng.standard_normal((4410, 2)), -1, 1).astype(np.float32)
    files = {}
    for name, fmt, subtype in [
        ("ex_pcm16.wav", "WAVEX", "PCM_16"),
        ("ex_pcm24.wav", "WAVEX", "PCM_24"),
        ("ex_pcm32.wav", "WAVEX", "PCM_32"),
        ("ex_float.wav", "WAVEX", "FLOAT"),
        ("ex_double.wav", "WAVEX", "DOUBLE"),
        ("float.wav", "WAV", "FLOAT"),
        ("rf64_pcm24.wav", "RF64", "PCM_24"),
        ("alaw.wav", "WAV", "ALAW"),
        ("ima_adpcm.wav", "WAV", "IMA_ADPCM"),
    ]:
        files[name] = tmp_path / name
        sf.write(files[name], x, 44100, subtype, format=fmt)
    # ffmpeg's layout: an EXTENSIBLE 24-bit fmt after a LIST chunk (odd size: padded), written to a pipe
    ex24 = files["ex_pcm24.wav"].read_bytes()
    fmt = ex24[ex24.index(b"fmt ") + 8 : ex24.index(b"fmt ") + 48]
    data = ex24[ex24.index(b"data") + 8 :]
    assert int.from_bytes(fmt[:2], "little") == 0xFFFE
    listing = (b"LIST", b"INFOISFT\x0d\0\0\0Lavf60.16.100\0")
    files["ffmpeg_pipe24.wav"] = tmp_path / "ffmpeg_pipe24.wav"
    files["ffmpeg_pipe24.wav"].write_bytes(_riff(fmt, data, [listing], 0xFFFFFFFF))
    files["odd_chunks.wav"] = tmp_path / "odd_chunks.wav"
    files["odd_chunks.wav"].write_bytes(_riff(fmt, data, [listing, (b"fact", b"\0" * 4), (b"junk", b"x")]))
    code = f"""
    out = {{}}
    for name, path in { ({k: str(v) for k, v in files.items()})!r}.items():
        try:
            wave, rate = kit.read_audio(path)
            out[name] = [rate, wave.tolist()]
        except ValueError as err:
            out[name] = str(err)
    print(json.dumps(out))
    """
    got = run_kit(kit, code, block_soundfile=True)
    for name, path in files.items():
        if name in ("alaw.wav", "ima_adpcm.wav"):
            assert isinstance(got[name], str) and "pip install soundfile" in got[name], got[name]
            assert ("A-law" if name == "alaw.wav" else "ADPCM") in got[name] and str(path) in got[name]
            continue
        assert not isinstance(got[name], str), got[name]
        rate, wave = got[name]
        ref, ref_rate = sf.read(path if "pipe" not in name else files["ex_pcm24.wav"], dtype="float32")
        assert rate == ref_rate == 44100 and len(wave) == len(ref) == len(x), name
        assert np.abs(np.asarray(wave) - ref.mean(1)).max() < 1e-6, name


def test_turn_inputs_names_the_silent_or_too_short_clip(kit):
    """``turn_inputs([speech, silence], rate)`` said "the clip is silent" of a batch without saying which
    (and "the clip is 0 ms long" of a 3-sample clip, too short to hold speech though it said 0 ms, not
    3 samples). The errors name the clip's position in the list and its name when ``names`` gives one,
    and a too short clip's length in samples and in ms to the hundredth."""
    module = kit["module"]
    speech = load_audio(str(EXAMPLES[0]), 16000)
    silent = np.zeros(16000, np.float32)
    short = 0.1 * np.ones(3, np.float32)
    with pytest.raises(module.NoSpeechError, match=r"^clip 1 of 3 is silent"):
        module.turn_inputs([speech, silent, speech], 16000)
    with pytest.raises(module.NoSpeechError, match=r"^clip 2 of 3 \(c\.wav\) is silent"):
        module.turn_inputs([speech, speech, silent], 16000, names=["a.wav", "b.wav", "c.wav"])
    with pytest.raises(module.TooShortError) as short_error:
        module.turn_inputs([speech, short], 16000, names=["a.wav", "b.wav"])
    assert str(short_error.value).startswith("clip 1 of 2 (b.wav) is 0.18 ms long (3 samples at 16000 Hz)")
    with pytest.raises(module.TooShortError, match=r"^the clip is 0.06 ms long \(3 samples at 48000 Hz\)"):
        module.classify(None, short, 48000)
    with pytest.raises(ValueError, match=r"^clip 1 of 2 \(b.wav\): 1 of the 16000 samples are NaN"):
        module.turn_inputs(
            [speech, np.where(np.arange(16000) == 5, np.nan, silent)], 16000, names=["a", "b.wav"]
        )
    with pytest.raises(ValueError, match="2 names for 3 clips"):
        module.turn_inputs([speech, speech, speech], 16000, names=["a.wav", "b.wav"])
