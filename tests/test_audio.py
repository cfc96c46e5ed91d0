"""ser_hf.audio: every input kind -> float32 mono at the model's rate; bad input -> SERError."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import make_speechlike, make_tone

from ser_hf.data.audio import audio_info, load_audio, write_wav
from ser_hf.data.chunks import iter_audio_chunks
from ser_hf.data.media_files import find_media_files
from ser_hf.errors import SERError


def peak_freq(x: np.ndarray, sr: int = 16000) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """One 1 s 440 Hz tone at 44.1 kHz stereo in every container we promise to read."""
    d = tmp_path_factory.mktemp("media")
    tone = make_tone(440.0, 1.0, 44100)
    sf.write(d / "tone.wav", np.stack([tone, tone], axis=1), 44100, subtype="PCM_16")
    files = {"wav": d / "tone.wav"}
    for ext, codec in [("flac", []), ("mp3", []), ("ogg", ["-c:a", "libvorbis"]), ("m4a", ["-c:a", "aac"])]:
        files[ext] = d / f"tone.{ext}"
        ffmpeg("-i", str(d / "tone.wav"), *codec, str(files[ext]))
    for ext, codec in [("mp4", ["-c:a", "aac"]), ("webm", ["-c:a", "libopus"]), ("mkv", ["-c:a", "aac"])]:
        files[ext] = d / f"video.{ext}"
        ffmpeg(
            "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1", "-i", str(d / "tone.wav"),
            "-shortest", *codec, str(files[ext]),
        )  # fmt: skip
    return files


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg", "m4a", "mp4", "webm", "mkv"])
def test_every_container_decodes_to_16k_mono(media, ext):
    x = load_audio(media[ext])
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) / 16000 - 1.0) < 0.1  # codecs add a few ms of priming
    assert abs(peak_freq(x) - 440.0) < 5
    rms = float(np.sqrt(np.mean(x[4000:12000] ** 2)))
    assert 0.3 < rms < 0.4  # a 0.5-amplitude sine (RMS 0.354) survives: scaled, not clipped or int


def test_bytes_and_path_agree(media):
    from_path = load_audio(media["flac"])
    from_bytes = load_audio(media["flac"].read_bytes())
    np.testing.assert_allclose(from_path, from_bytes, atol=1e-6)


def test_int16_is_scaled_and_stereo_mixed_down():
    tone = make_tone(300.0, 0.5, 8000)
    pcm = (tone * 32767).astype(np.int16)
    stereo = np.stack([pcm, np.zeros_like(pcm)], axis=1)  # (samples, channels)
    x = load_audio(stereo, source_rate=8000)
    assert abs(np.abs(x).max() - 0.25) < 0.02  # mean of tone and silence, in [-1, 1]
    assert abs(len(x) - 8000) <= 1 and abs(peak_freq(x) - 300) < 5


def test_channels_first_tensor_and_six_channels():
    tone = torch.from_numpy(make_tone(500.0, 0.5, 16000))
    x = load_audio(tone.repeat(6, 1), source_rate=16000)  # (channels, samples)
    np.testing.assert_allclose(x, tone.numpy(), atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_any_rate_is_resampled(rate):
    x = load_audio({"array": make_tone(1000.0, 1.0, rate), "sampling_rate": rate})
    assert abs(len(x) - 16000) <= 2 and abs(peak_freq(x) - 1000) < 5


def test_gradio_tuple_and_decoder(media):
    from torchcodec.decoders import AudioDecoder

    rate, pcm = 48000, (make_tone(440, 0.5, 48000) * 20000).astype(np.int16)
    assert abs(peak_freq(load_audio((rate, pcm))) - 440) < 5
    x = load_audio(AudioDecoder(str(media["wav"])))
    assert abs(len(x) - 16000) <= 2 and abs(peak_freq(x) - 440) < 5


def test_soundfile_and_librosa_tuples_decode_and_a_list_of_clips_is_refused(media):
    """soundfile.read / librosa.load return (samples, rate): it was refused as an "unsupported
    (sampling_rate, samples) tuple". A list of clips where one clip goes was read as one stereo
    clip (two clips averaged into one answer) or failed inside numpy; it is now an error saying so."""
    samples, rate = sf.read(media["wav"])  # (samples, rate): float64, channels last
    assert samples.ndim == 2 and np.allclose(load_audio((samples, rate)), load_audio(media["wav"]), atol=1e-4)
    mono = samples.mean(axis=1).astype(np.float32)  # librosa.load's
    assert np.allclose(load_audio((mono, rate)), load_audio(media["wav"]), atol=1e-4)
    clip = load_audio(media["wav"])
    for clips in ([clip, clip], [clip, clip[:100]], [str(media["wav"])] * 2, [clip.tolist(), clip.tolist()]):
        with pytest.raises(SERError, match="a list of 2 clips where one clip goes.*classify_batch"):
            load_audio(clips, source_rate=16000)
    assert load_audio([0.1, -0.1] * 800, source_rate=16000).shape == (1600,)  # a list of numbers is samples
    frames = list(zip(clip[:1600], clip[:1600]))  # per-frame (left, right) tuples: one stereo clip
    assert np.allclose(load_audio(frames, source_rate=16000), clip[:1600], atol=1e-6)
    assert load_audio(list(torch.from_numpy(clip[:1600])), source_rate=16000).shape == (1600,)  # 0-d tensors
    with pytest.raises(SERError, match="pass source_rate="):  # the argument load_audio has
        load_audio(np.zeros(1600, np.float32))


def test_datasets_audio_column_decoder(media):
    from datasets import Audio, Dataset

    ds = Dataset.from_dict({"audio": [str(media["wav"])]}).cast_column("audio", Audio(sampling_rate=16000))
    x = load_audio(ds[0]["audio"])
    assert abs(peak_freq(x) - 440) < 5
    undecoded = Dataset.from_dict({"audio": [str(media["mp3"])]}).cast_column("audio", Audio(decode=False))
    assert abs(peak_freq(load_audio(undecoded[0]["audio"])) - 440) < 5


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make_bad, problem",
    [
        (lambda d: d / "missing.wav", "not found"),
        (lambda d: d, "directory"),
        (lambda d: _write(d / "empty.wav", b""), "empty"),
        (lambda d: _write(d / "noise.wav", np.random.default_rng(0).bytes(4000)), "not a readable"),
        (lambda d: _write(d / "notes.txt", b"hello " * 100), "not a readable"),
    ],
)
def test_bad_files_raise_typed_error_naming_the_file(tmp_path, make_bad, problem):
    path = make_bad(tmp_path)
    with pytest.raises(SERError) as info:
        load_audio(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_header_only_wav_and_nan_are_rejected(tmp_path):
    sf.write(tmp_path / "hdr.wav", np.zeros((0,), np.float32), 16000)
    with pytest.raises(SERError, match="no audio samples"):
        load_audio(tmp_path / "hdr.wav")
    bad = make_tone()
    bad[100] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(SERError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    with pytest.raises(SERError, match="sampling rate"):
        load_audio(np.zeros(100, np.float32))


def test_chunks_cover_the_file_in_bounded_pieces(tmp_path, media):
    x = make_tone(200.0, 3.3, 16000)
    write_wav(tmp_path / "long.wav", x)
    chunks = list(iter_audio_chunks(tmp_path / "long.wav", 1.0))
    assert [len(c) for c in chunks] == [16000, 16000, 16000, 4800]
    np.testing.assert_allclose(np.concatenate(chunks), x, atol=1e-4)
    video_chunks = list(iter_audio_chunks(media["mp4"], 0.25))
    assert max(len(c) for c in video_chunks) <= 4001 and abs(sum(map(len, video_chunks)) - 16000) < 1600
    assert audio_info(tmp_path / "long.wav") == (3.3, 16000, 1)
    # at another rate the chunks join as the whole file decodes: each block was resampled alone, so
    # a long recording's timeline from its path differed from its samples' near every chunk boundary
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "44k.wav", 0.3 * rng.standard_normal(int(44100 * 5.5)).astype(np.float32), 44100)
    chunks = list(iter_audio_chunks(tmp_path / "44k.wav", 2.0))
    assert len(chunks) == 3
    np.testing.assert_allclose(np.concatenate(chunks), load_audio(tmp_path / "44k.wav"), atol=1e-5)


def test_chunks_of_a_video_whose_audio_starts_late_cover_all_of_it(tmp_path, caplog):
    """A dubbed video: its audio starts 2 s after its picture. The chunks (predict's and timeline's
    reading) stopped 2 s short of the audio's end; they now hold what load_audio holds."""
    write_wav(tmp_path / "speech.wav", make_tone(300.0, 4.0, 16000))
    video = tmp_path / "late.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=blue:s=32x32:r=10", "-itsoffset", "2", "-i", str(tmp_path / "speech.wav"),
        "-t", "8", "-c:a", "aac", str(video),
    )  # fmt: skip
    whole = load_audio(video)
    with caplog.at_level("WARNING", logger="ser_hf.data.audio"):
        chunks = list(iter_audio_chunks(video, 1.0))
    # a timeline's times are the audio's: said, as they were 2 s off the video's clock without a word
    assert "its audio starts 1.9" in caplog.text and "times count from the start of the audio" in caplog.text
    assert abs(len(whole) / 16000 - 4.0) < 0.1
    assert abs(sum(map(len, chunks)) - len(whole)) < 1600, (sum(map(len, chunks)), len(whole))  # codec frames


def test_find_media_files_expands_folders_and_globs(tmp_path, media):
    (tmp_path / "sub").mkdir()
    write_wav(tmp_path / "sub" / "a.wav", make_tone())
    write_wav(tmp_path / "b.wav", make_tone())
    (tmp_path / "readme.txt").write_text("x")
    assert {p.name for p in find_media_files([str(tmp_path)])} == {"a.wav", "b.wav"}
    assert [p.name for p in find_media_files([str(tmp_path / "*.wav")])] == ["b.wav"]
    assert find_media_files([str(tmp_path / "nothing.wav")])[0].name == "nothing.wav"


def test_a_folder_scan_keeps_telephony_formats_and_linked_folders(tmp_path, media, caplog):
    """A call-centre folder (probe of session 36): .au / .caf / .gsm files and a linked sub-folder were
    left out of ``ser-hf predict FOLDER`` without a word, though each file decodes when named."""
    calls, elsewhere = tmp_path / "calls", tmp_path / "archive"
    calls.mkdir(), elsewhere.mkdir()
    tone = make_tone()
    for name in ("a.au", "b.caf"):
        write_wav(tmp_path / "x.wav", tone)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(tmp_path / "x.wav"), str(calls / name)], check=True
        )
    write_wav(elsewhere / "c.wav", tone)
    (calls / "linked").symlink_to(elsewhere, target_is_directory=True)
    (calls / "loop").symlink_to(calls, target_is_directory=True)  # a link back up: read once
    (calls / "notes.txt").write_text("x")
    (calls / "gone.wav").symlink_to(tmp_path / "deleted.wav")  # a broken link: named, to be reported
    with caplog.at_level("INFO"):
        found = find_media_files([str(calls)])
    assert sorted(p.name for p in found) == ["a.au", "b.caf", "c.wav", "gone.wav"]
    assert "left out 1 file(s) that are not audio or video" in caplog.text
    assert all(len(load_audio(p)) > 0 for p in found if p.name != "gone.wav")
    with pytest.raises(SERError, match="gone.wav"):
        load_audio(calls / "gone.wav")


def test_an_http_address_is_fetched_and_other_addresses_are_named_as_given(media):
    """A URL read as a path said "http:/localhost:9/x.wav: file not found" (the // collapsed); the
    stock pipeline fetches http(s) addresses, so load_audio (and classify) now do too."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(media["flac"].parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        np.testing.assert_allclose(load_audio(f"{base}/tone.flac"), load_audio(media["flac"]), atol=1e-6)
        np.testing.assert_allclose(
            load_audio({"path": f"{base}/tone.flac"}), load_audio(media["flac"]), atol=1e-6
        )
        with pytest.raises(SERError, match=f"{base}/missing.wav: could not fetch the audio.*404"):
            load_audio(f"{base}/missing.wav")
        from ser_hf import EmotionClassifier

        clf = EmotionClassifier("speech-stats")  # timeline sent the address to the file reader
        windows = clf.timeline(f"{base}/tone.flac", window_s=0.5).windows
        assert windows == clf.timeline(media["flac"], window_s=0.5).windows
    finally:
        server.shutdown()
    with pytest.raises(SERError, match=r"s3://bucket/x\.wav: s3:// addresses are not read; download"):
        load_audio("s3://bucket/x.wav")


def test_a_download_cut_short_is_an_error_not_part_of_a_clip(media):
    """A connection that closed half-way gave the first half of the clip (the WAV decoder reads what
    is there) or "not a readable audio file"; the bytes received are now checked against the length
    the server announced."""
    import http.server
    import threading

    body = media["wav"].read_bytes()

    class Cut(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # announces the whole file, sends half, closes
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if self.path == "/whole.wav" else body[: len(body) // 2])
            self.close_connection = True

        def log_message(self, *args):
            pass

    class CutChunks(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # chunked, and the connection closes before the last chunk
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = body[: len(body) // 2]
            self.wfile.write(f"{len(body):x}\r\n".encode() + half)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cut)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        np.testing.assert_allclose(load_audio(f"{base}/whole.wav"), load_audio(media["wav"]), atol=1e-6)
        with pytest.raises(SERError, match=rf"{base}/cut.wav: the download ended after {len(body) // 2} of"):
            load_audio(f"{base}/cut.wav")
    finally:
        server.shutdown()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CutChunks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:  # http.client's IncompleteRead came out as itself, not as a typed error naming the address
        url = f"http://127.0.0.1:{server.server_address[1]}/chunks.wav"
        with pytest.raises(SERError, match=rf"{url}: could not fetch the audio \(IncompleteRead"):
            load_audio(url)
    finally:
        server.shutdown()


def test_a_download_that_drips_stops_at_the_deadline(monkeypatch):
    """A server sending a byte every 29 s held the caller indefinitely: the 30-s timeout is per read."""
    import http.server
    import threading
    import time

    from ser_hf.data import download

    class Drip(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"R")
                self.wfile.flush()
                time.sleep(0.1)

        def log_message(self, *args):
            pass

    monkeypatch.setattr(download, "URL_DEADLINE_S", 1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(SERError, match=r"drip.wav: the download took more than 1 s \(\d+ bytes so far\)"):
            load_audio(f"http://127.0.0.1:{server.server_address[1]}/drip.wav")
        assert time.monotonic() - started < 4
    finally:
        server.shutdown()


def test_a_header_rate_no_recording_has_is_refused_and_an_odd_one_resampled_in_bounded_memory(
    tmp_path, caplog
):
    """A 4-KB WAV at 16001 Hz took 4.8 GB to resample (torchaudio's kernel is 16001 x 16000 values),
    and one at 1 Hz became 2,000 s of audio; the demo server took both."""
    from ser_hf.data.chunks import iter_audio_chunks

    for rate in (1, 16001):
        sf.write(
            tmp_path / f"r{rate}.wav",
            make_tone(300.0, 2000 / rate, rate) if rate > 1 else np.zeros(2000),
            rate,
        )
    for route in (load_audio, lambda p: np.concatenate(list(iter_audio_chunks(p, 60, 16000)))):
        # a WAV's header: what in it is damaged, and how to recover its samples (session 45)
        with pytest.raises(
            SERError, match=r"r1.wav: the WAV file's header is damaged: .* 1 Hz \(outside 1000 Hz"
        ):
            route(tmp_path / "r1.wav")
        with caplog.at_level("WARNING"):
            assert route(tmp_path / "r16001.wav").size == pytest.approx(2000, abs=2)
    assert "resampling 16001 Hz to 16000 Hz as 16000 Hz to 16000 Hz" in caplog.text
    # read in blocks, a file at such a rate joins them as the whole file is resampled (the blocks were
    # cut by the exact ratio: clicks, and 0.26 s gained on 130 s at 22051 Hz)
    sf.write(tmp_path / "r22051.wav", make_speechlike(12.0, 22051, seed=3), 22051)
    whole = load_audio(tmp_path / "r22051.wav")
    blocks = np.concatenate(list(iter_audio_chunks(tmp_path / "r22051.wav", 2.0, 16000)))
    assert blocks.shape == whole.shape and np.allclose(blocks, whole, atol=1e-4)
    with pytest.raises(SERError, match="sampling rate 100 Hz is outside"):
        load_audio(np.zeros(100, np.float32), source_rate=100)


def test_int16_samples_scale_alike_in_load_audio_and_the_feature_extractor():
    """The extractor divided int16 by 32767, load_audio (and soundfile) by 32768: the stock pipeline
    and classify gave slightly different scores for the same microphone samples."""
    from ser_hf.models.feature_extraction_ser import SERFeatureExtractor

    pcm = (make_tone(300.0, 0.5, 16000) * 32767).astype(np.int16)
    fe = SERFeatureExtractor()
    direct = fe(pcm, sampling_rate=16000, return_tensors="np")["input_features"]
    loaded = fe(load_audio(pcm, source_rate=16000), sampling_rate=16000, return_tensors="np")[
        "input_features"
    ]
    np.testing.assert_array_equal(direct, loaded)
    for unsigned, offset in ((np.uint16, 2**15), (np.uint32, 2**31)):  # once divided by -0.0: NaN
        wide = (pcm.astype(np.int64) + offset).astype(unsigned)
        assert np.isfinite(fe(wide, sampling_rate=16000, return_tensors="np")["input_features"]).all()


def test_a_file_of_many_channels_at_a_high_rate_decodes_in_memory_that_follows_the_output(
    tmp_path, monkeypatch
):
    """A 250-KB FLAC of 10 min at 192 kHz x 8 channels took 5.4 GB in the demo (read whole, every
    channel at its own rate, then mixed down). Above the limit it now goes block by block."""
    import tracemalloc

    import ser_hf.data.audio as audio

    rate, seconds = 192000, 20
    path = tmp_path / "eight_channels.flac"
    with sf.SoundFile(path, "w", samplerate=rate, channels=8, subtype="PCM_16") as f:
        for _ in range(seconds):
            block = np.zeros((rate, 8), np.float32)
            block[:, 0] = make_tone(440.0, 1.0, rate)[:rate]  # amplitude 0.5
            f.write(block)
    monkeypatch.setattr(audio, "_WHOLE_READ_SAMPLES", 2**20)
    monkeypatch.setattr(audio, "_BLOCK_SAMPLES", 2**20)
    tracemalloc.start()
    x = load_audio(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    raw_float32 = seconds * rate * 8 * 4  # 123 MB: what reading it whole takes
    assert peak < raw_float32 / 4, peak
    assert abs(len(x) - seconds * 16000) <= 2 and abs(peak_freq(x[16000:48000]) - 440) < 5
    assert 0.04 < float(np.sqrt(np.mean(x[16000:-16000] ** 2))) < 0.05  # one channel of eight: 0.354 / 8
    # the blocks join as the whole file reads: no click at their edges, the same length (each block
    # resampled alone clicked at 16 % of the amplitude and drifted by a sample or two)
    noise = (0.3 * np.random.default_rng(0).standard_normal((int(44100 * 5.55), 2))).astype(np.float32)
    sf.write(tmp_path / "noise.wav", noise, 44100, subtype="FLOAT")
    by_blocks = load_audio(tmp_path / "noise.wav")
    monkeypatch.setattr(audio, "_WHOLE_READ_SAMPLES", 2**40)
    whole = load_audio(tmp_path / "noise.wav")
    assert len(by_blocks) == len(whole) and float(np.abs(by_blocks - whole).max()) < 1e-5


def test_a_wav_cut_short_is_read_with_a_warning(tmp_path, caplog):
    """A WAV copy or download cut in half decoded its first half without a word (a cut MP3's
    timeline already warned); the header's announced length is named beside what the file holds."""
    x = (make_tone(220, 4.0, 16000) * 0.5).astype(np.float32)
    sf.write(tmp_path / "full.wav", x, 16000, subtype="PCM_24")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with caplog.at_level("WARNING", logger="ser_hf.data.audio"):
        assert len(load_audio(tmp_path / "full.wav")) == len(x)
        assert not caplog.records
        cut = load_audio(tmp_path / "cut.wav")
    assert abs(len(cut) - len(x) // 2) < 100
    assert (
        "cut.wav: the file is cut short: its header announces 4.00 s of audio, it holds 2.00 s" in caplog.text
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.data.audio"):  # a long file's chunks (timeline) say it too
        assert sum(map(len, iter_audio_chunks(tmp_path / "cut.wav", 0.5))) == len(cut)
    assert "cut short" in caplog.text
    # a WAV written to a pipe announces the largest size: it is whole, no warning
    piped = bytearray(data)
    at = piped.index(b"data") + 4
    piped[at : at + 4] = (0xFFFFFFFF).to_bytes(4, "little")
    (tmp_path / "piped.wav").write_bytes(bytes(piped))
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.data.audio"):
        assert len(load_audio(tmp_path / "piped.wav")) == len(x)
    assert "cut short" not in caplog.text


def test_a_vbr_mp3_without_a_xing_header_is_read_whole(tmp_path):
    """libsndfile estimated such a file's length from its first frame and read 2.2 s of a 4.2-s
    recording, with no word; MP3 now goes through FFmpeg, as timeline() already did."""
    sf.write(tmp_path / "x.wav", make_speechlike(4.0, seed=3), 16000)
    ffmpeg(
        "-i",
        str(tmp_path / "x.wav"),
        "-c:a",
        "libmp3lame",
        "-q:a",
        "4",
        "-write_xing",
        "0",
        str(tmp_path / "v.mp3"),
    )
    y = load_audio(tmp_path / "v.mp3")
    assert 3.95 < len(y) / 16000 < 4.2
    assert 3.95 < len(load_audio((tmp_path / "v.mp3").read_bytes())) / 16000 < 4.2  # the same from bytes


def test_a_cut_mp3_is_read_up_to_the_cut_and_a_long_one_without_xing_to_its_end(tmp_path, caplog):
    """FFmpeg refused an MP3 cut mid-frame that libsndfile had read up to the cut (a result became an
    error row); timeline() stopped at FFmpeg's estimate of an MP3 without a Xing header (50.9 s of 61 s)."""
    sf.write(tmp_path / "x.wav", make_speechlike(12.0, seed=4), 16000)
    ffmpeg("-i", str(tmp_path / "x.wav"), "-c:a", "libmp3lame", "-q:a", "4", str(tmp_path / "x.mp3"))
    data = (tmp_path / "x.mp3").read_bytes()
    from torchcodec.decoders import AudioDecoder

    def refused(size: int) -> bool:  # FFmpeg stops on about 1 in 50 cut points (mid-frame)
        try:
            AudioDecoder(data[:size]).get_all_samples()
        except Exception:
            return True
        return False

    cut = next((n for n in range(len(data) // 2, len(data) // 2 + 5000) if refused(n)), None)
    if cut is None:
        pytest.skip("this FFmpeg decodes every cut of the file")
    (tmp_path / "cut.mp3").write_bytes(data[:cut])
    with caplog.at_level("WARNING"):
        y = load_audio(tmp_path / "cut.mp3")
    assert 4.5 < len(y) / 16000 < 7.0 and "damaged or cut short" in caplog.text
    chunks = np.concatenate(list(iter_audio_chunks(tmp_path / "cut.mp3", 4.0)))
    assert abs(len(chunks) - len(y)) < 1600  # the timeline's reading keeps what decodes of its last chunk
    long = np.concatenate([make_speechlike(12.0, seed=k) for k in range(5)])
    sf.write(tmp_path / "long.wav", long, 16000)
    ffmpeg(
        "-i",
        str(tmp_path / "long.wav"),
        "-c:a",
        "libmp3lame",
        "-q:a",
        "2",
        "-write_xing",
        "0",
        str(tmp_path / "long.mp3"),
    )
    whole = load_audio(tmp_path / "long.mp3")
    read = np.concatenate(list(iter_audio_chunks(tmp_path / "long.mp3", 4.0)))
    assert 59.5 < len(whole) / 16000 < 61 and abs(len(read) - len(whole)) < 1600


def test_a_flac_header_followed_by_garbage_is_a_clear_error(tmp_path):
    """A FLAC whose header is followed by bytes that are not FLAC frames (the file read up to its
    damage, and nothing before the damage) gave torchcodec's words on its own arguments: "No audio
    frames were decoded. This is probably because start_seconds is too high(0),or because
    stop_seconds(60.000000) is too low." Now the error says what is wrong with the file, by path and
    bytes, whole and in the timeline's chunks."""
    from ser_hf.errors import AudioInputError

    sf.write(tmp_path / "x.flac", make_speechlike(2.0, seed=3), 16000)
    data = (tmp_path / "x.flac").read_bytes()
    end, last = 4, False  # "fLaC", then metadata blocks up to the one flagged last
    while not last:
        last, size = bool(data[end] & 0x80), int.from_bytes(data[end + 1 : end + 4], "big")
        end += 4 + size
    garbage = data[:end] + np.random.default_rng(0).integers(0, 256, 100_000, np.uint8).tobytes()
    (tmp_path / "garbage.flac").write_bytes(garbage)
    for source, name in ((tmp_path / "garbage.flac", "garbage.flac"), (garbage, "bytes of audio")):
        for read in (load_audio, lambda s: list(iter_audio_chunks(s, 60.0))):
            with pytest.raises(AudioInputError) as err:
                read(source)
            text = str(err.value)
            assert name in text and "not a readable audio file" in text, text
            assert "start_seconds" not in text and "convert it to wav" in text, text


@pytest.mark.parametrize("rate", [44100, 48000, 8000, 16001])
def test_a_stream_resampled_chunk_by_chunk_gives_the_whole_recording_s_samples(rate):
    """What StreamingClassifier's speech detector reads: a stream pushed in chunks of any size, resampled
    to 16 kHz as the whole recording is (within float rounding); the last few ms, which the filter has not
    settled, as the recording ending there would give them."""
    from ser_hf.data.resampling import StreamResampler, resample

    x = np.random.default_rng(0).standard_normal(rate).astype(np.float32)
    stream, settled, at = StreamResampler(rate, 16000), [], 0
    for size in [37, 1000, 5000, 1, 7000] * 3:
        done, tail = stream.push(x[at : at + size])
        settled.append(done)
        at += size
        np.testing.assert_allclose(np.concatenate([*settled, tail]), resample(x[:at], rate, 16000), atol=1e-5)
    settled.append(stream.push(x[at:], final=True)[0])
    np.testing.assert_allclose(np.concatenate(settled), resample(x, rate, 16000), atol=1e-5)
