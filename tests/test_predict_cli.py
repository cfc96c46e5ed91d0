"""``ser-hf predict`` and ``ser-hf extract-audio`` on generated files, folders, globs and videos."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, make_tone

from ser_hf.cli import main
from ser_hf.cli.extract_audio import cli as extract_audio_cli
from ser_hf.cli.predict import cli as predict_cli
from ser_hf.errors import SERError, install_hint
from ser_hf.inference.classifier import EmotionClassifier

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry"]

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """clips/{a.wav,quiet.wav,sub/b.flac}, long/ten.wav (10 s), video.mp4/.webm, broken.wav, empty.wav."""
    root = tmp_path_factory.mktemp("media")
    (root / "clips" / "sub").mkdir(parents=True)
    (root / "long").mkdir()
    sf.write(root / "clips" / "a.wav", make_speechlike(1.5, seed=1), SR)
    sf.write(root / "clips" / "sub" / "b.flac", make_speechlike(2.0, seed=2), SR)
    (root / "clips" / "notes.txt").write_text("not audio, not picked up from a folder")
    ten = np.concatenate([make_speechlike(4.0, seed=3), np.zeros(2 * SR, np.float32), make_tone(300.0, 4.0)])
    sf.write(root / "long" / "ten.wav", ten, SR)
    stereo = np.stack([make_speechlike(2.0, sr=44100, seed=4)] * 2, axis=1)
    sf.write(root / "voice.wav", stereo, 44100)
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=64x64:d=2",
        "-i",
        str(root / "voice.wav"),
        "-shortest",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        str(root / "video.mp4"),
    )
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=64x64:d=2",
        "-i",
        str(root / "voice.wav"),
        "-shortest",
        "-c:v",
        "libvpx",
        "-c:a",
        "libopus",
        str(root / "video.webm"),
    )
    (root / "broken.wav").write_bytes(b"RIFF" + np.random.default_rng(0).bytes(2000))
    (root / "empty.wav").write_bytes(b"")
    sf.write(root / "clips" / "quiet.wav", np.zeros(SR, np.float32), SR)
    return root


def test_predict_folder_glob_video_and_a_bad_file(model_dir, media, tmp_path, capsys):
    out_json = tmp_path / "out" / "results.json"
    rc = predict_cli(
        [
            str(media / "clips"),
            str(media / "long" / "*.wav"),
            str(media / "video.mp4"),
            str(media / "broken.wav"),
            str(media / "empty.wav"),
            "--model",
            str(model_dir),
            "--json",
            str(out_json),
            "--timeline-png",
            str(tmp_path / "png"),
            "--top-k",
            "2",
            "--window",
            "4",
            "--hop",
            "2",
            "--min-speech",  # synthetic voices, which the speech detector does not take for speech
            "none",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 1
    assert "broken.wav" in captured.err and "Traceback" not in captured.err + captured.out
    rows = {Path(r["file"]).name: r for r in json.loads(out_json.read_text())}
    assert set(rows) == {"a.wav", "b.flac", "quiet.wav", "ten.wav", "video.mp4", "broken.wav", "empty.wav"}
    assert "error" in rows["broken.wav"] and "label" not in rows["broken.wav"]
    assert "empty.wav" in captured.err and "empty" in rows["empty.wav"]["error"]
    assert rows["quiet.wav"]["label"] == "silence"  # no made-up emotion for digital silence
    for name in ("a.wav", "b.flac", "ten.wav", "video.mp4"):
        r = rows[name]
        assert r["label"] in LABELS and 0 < r["score"] <= 1 and len(r["top_k"]) == 2
        assert r["label"] in captured.out and name in captured.out
    assert rows["a.wav"]["duration"] == pytest.approx(1.5, abs=0.01)
    assert rows["video.mp4"]["duration"] == pytest.approx(2.0, abs=0.1)
    # the 10 s file gets a timeline: windows 0-4, 2-6, 4-8, 6-10
    ten = rows["ten.wav"]
    assert [(w["start"], w["end"]) for w in ten["timeline"]] == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert all(w["label"] in LABELS for w in ten["timeline"])
    assert Path(ten["timeline_png"]).read_bytes()[:4] == b"\x89PNG"
    assert "6.00 -    10.00 s" in captured.out  # the per-window table is printed
    # the short clips' scores are what the Python API gives
    clf = EmotionClassifier(model_dir, device="cpu")
    alone = clf.classify(media / "clips" / "a.wav", top_k=2)
    assert [s["label"] for s in rows["a.wav"]["top_k"]] == [s["label"] for s in alone]
    assert np.allclose([s["score"] for s in rows["a.wav"]["top_k"]], [s["score"] for s in alone], atol=1e-6)


def test_predict_csv_through_the_ser_hf_command(model_dir, media, tmp_path, capsys):
    out_csv = tmp_path / "r.csv"
    rc = main(
        [
            "predict",
            str(media / "clips" / "**" / "*.flac"),
            str(media / "video.webm"),
            str(media / "long"),
            "--model",
            str(model_dir),
            "--csv",
            str(out_csv),
            "--batch-size",
            "1",
            "--min-speech",  # synthetic voices, which the speech detector does not take for speech
            "none",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    files = [Path(r["file"]).name for r in rows]
    assert files.count("b.flac") == 1 and files.count("video.webm") == 1
    assert files.count("ten.wav") == 1 + 4  # one summary row and one row per window
    # which is which without relying on row order (a window row and the file row share the file name)
    assert [r["row"] for r in rows if r["file"].endswith("ten.wav")] == ["file"] + ["window"] * 4
    for r in rows:
        assert r["label"] in LABELS + ["silence"]
        assert 0 < float(r["score"]) <= 1
        assert isinstance(json.loads(r["top_k"]), list)


def test_predict_without_a_usable_model_is_one_error_line(media, tmp_path, capsys):
    rc = main(["predict", str(media / "clips"), "--model", str(tmp_path / "no_model")])
    err = capsys.readouterr().err
    assert rc == 2 and "no_model" in err and "Traceback" not in err


def test_timeline_png_without_matplotlib_is_a_usage_error_before_any_work(
    media, model_dir, tmp_path, capsys, monkeypatch
):
    """On a core install `--timeline-png DIR` turned every long file into an ERROR row
    (`ModuleNotFoundError: No module named 'matplotlib'`), its computed timeline thrown away."""
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as if not installed
    out_csv, pngs = tmp_path / "out.csv", tmp_path / "pngs"
    argv = [
        str(media / "long"),
        "--model",
        str(model_dir),
        "--csv",
        str(out_csv),
        "--timeline-png",
        str(pngs),
    ]
    rc = main(["predict", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and "--timeline-png" in err and install_hint("demo") in err, err
    assert "pip install -e " in err and "ser-hf[" not in err  # this clone's folder: ser-hf is not on PyPI
    assert "Traceback" not in err and not out_csv.exists() and not pngs.exists()


def test_predict_missing_paths(model_dir, tmp_path, capsys):
    rc = predict_cli([str(tmp_path / "nope.wav"), "--model", str(model_dir)])
    captured = capsys.readouterr()
    assert rc == 1 and "nope.wav" in captured.err and "Traceback" not in captured.err
    # a broken link named on the command line was skipped without a word ("1 of 1 classified")
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    sf.write(tmp_path / "good.wav", make_speechlike(1.0, seed=1), SR)
    rc = predict_cli([str(tmp_path / "dangling.wav"), str(tmp_path / "good.wav"), "--model", str(model_dir)])
    captured = capsys.readouterr()
    assert (
        rc == 1
        and "dangling.wav: file not found" in captured.err
        and "1 of 2 file(s) classified" in captured.out
    )
    # a symbolic link loop was "file not found; check the path"
    (tmp_path / "self_a.wav").symlink_to("self_b.wav")
    (tmp_path / "self_b.wav").symlink_to("self_a.wav")
    rc = predict_cli([str(tmp_path / "self_a.wav"), "--model", str(model_dir)])
    err = capsys.readouterr().err
    assert rc == 1 and "self_a.wav: a symbolic link loop (too many levels of symbolic links)" in err
    # with an output FILE too: checking it is not one of the inputs was a RuntimeError traceback
    out = tmp_path / "loop.json"
    assert predict_cli([str(tmp_path / "self_a.wav"), "--model", str(model_dir), "--json", str(out)]) == 1
    assert "symbolic link loop" in json.loads(out.read_text())[0]["error"]
    # another scheme is named as given, with what to do (it read "s3:/bucket/x.wav: file not found")
    rc = predict_cli(["s3://bucket/x.wav", "--model", str(model_dir)])
    assert rc == 1 and "s3://bucket/x.wav: s3:// addresses are not read" in capsys.readouterr().err


def test_predict_downloads_http_addresses_as_the_python_api_does(model_dir, media, tmp_path, capsys, caplog):
    """`ser-hf predict https://...` was refused (the stock pipeline and classify(url) fetch http(s));
    an address is now classified like a file and named as given in the table, the CSV and the plot."""
    import functools
    import http.server
    import threading

    long_clip = tmp_path / "served" / "long.wav"
    long_clip.parent.mkdir()
    sf.write(long_clip, make_speechlike(9.0, seed=3), SR)
    shutil.copy(media / "clips" / "a.wav", long_clip.parent / "a.wav")
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Handler, directory=str(long_clip.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        argv = [
            f"{base}/a.wav?x=1",
            f"{base}/long.wav",
            f"{base}/missing.wav",
            str(media / "clips" / "a.wav"),
        ]
        csv_path, pngs = tmp_path / "out.csv", tmp_path / "png"
        rc = predict_cli(
            [*argv, "--model", str(model_dir), "--csv", str(csv_path), "--timeline-png", str(pngs)]
        )
        captured = capsys.readouterr()
        # --adapt voices read every address three times (grouping, adapting, classifying): now once
        requests.clear()
        (long_clip.parent / "notes.wav").write_text("not audio at all\n" * 20)
        whole = (long_clip.parent / "a.wav").read_bytes()
        (long_clip.parent / "cut.wav").write_bytes(whole[: len(whole) // 2])  # warns: cut short
        argv_adapt = [*argv, f"{base}/notes.wav", f"{base}/cut.wav", "--model", str(model_dir)]
        with caplog.at_level("WARNING"):
            assert predict_cli([*argv_adapt, "--adapt", "voices"]) == 1
        assert sorted(requests) == ["/a.wav?x=1", "/cut.wav", "/long.wav", "/missing.wav", "/notes.wav"]
        assert (
            f"{base}/cut.wav: the file is cut short" in caplog.text and "ser-hf-predict-" not in caplog.text
        )
        adapted = capsys.readouterr()
        assert "adapted to" in adapted.out and "4 of 6 file(s) classified, 2 failed" in adapted.out
        assert f"{base}/missing.wav: could not fetch the audio (HTTP 404" in adapted.err
        assert (
            f"error: {base}/notes.wav: " in adapted.err and "ser-hf-predict-" not in adapted.err
        )  # as given
    finally:
        server.shutdown()
    assert rc == 1 and "3 of 4 file(s) classified, 1 failed" in captured.out
    assert f"{base}/missing.wav: could not fetch the audio (HTTP 404" in captured.err
    rows = {row["file"]: row for row in csv.DictReader(csv_path.open())}
    assert list(rows) == argv  # in the order given, the addresses as given
    assert (
        rows[argv[0]]["label"] == rows[argv[3]]["label"] and rows[argv[0]]["score"] == rows[argv[3]]["score"]
    )
    assert [p.name for p in pngs.iterdir()] == ["long.timeline.png"]


def test_bad_output_paths_and_devices_fail_before_any_clip_is_classified(model_dir, media, tmp_path, capsys):
    """A folder where a file goes (or a file where a folder goes) is the option's typed error before
    the work starts, not an OSError after it; so is a device this machine does not have."""
    a_file = tmp_path / "a.txt"
    a_file.write_text("keep me")
    clips = str(media / "clips")
    cases = [
        (["--json", str(tmp_path)], "--json"),
        (["--csv", str(a_file / "out.csv")], "--csv"),
        (["--timeline-png", str(a_file)], "--timeline-png"),
        (["--device", "cuda:99"], "device"),
        (["--device", "gpu0"], "device"),
        (["--window", "0"], "--window"),
    ]
    for extra, option in cases:
        rc = main(["predict", clips, "--model", str(model_dir), *extra])
        captured = capsys.readouterr()
        assert rc == 2 and option in captured.err and "Traceback" not in captured.err, (extra, captured.err)
        assert "a.wav" not in captured.out  # nothing was classified
    assert a_file.read_text() == "keep me"
    rc = main(["extract-audio", str(media / "video.mp4"), "--out", str(a_file)])
    assert rc == 2 and "--out" in capsys.readouterr().err


def test_a_file_name_that_is_not_utf8_is_classified_and_written_out(model_dir, media, tmp_path, capsys):
    """Linux allows any bytes in a name: FFmpeg and libsndfile refused the name, and writing the
    results raised UnicodeEncodeError after every file was classified, leaving an empty JSON."""
    import os

    odd = Path(os.fsdecode(str(tmp_path).encode() + b"/clip\xff.wav"))
    sf.write(tmp_path / "plain.wav", make_speechlike(1.5, seed=1), SR)
    os.rename(os.fsencode(tmp_path / "plain.wav"), os.fsencode(odd))  # soundfile cannot write that name
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    for option, out in (("--json", out_json), ("--csv", out_csv)):
        rc = predict_cli(
            [str(odd), str(media / "clips" / "a.wav"), "--model", str(model_dir), option, str(out)]
        )
        assert rc == 0, capsys.readouterr().err
    rows = json.loads(out_json.read_text(encoding="utf-8"))
    assert len(rows) == 2 and all("error" not in r for r in rows) and "clip\\xff.wav" in rows[0]["file"]
    assert "clip\\xff.wav" in out_csv.read_text(encoding="utf-8")


def test_a_name_typed_composed_for_a_file_macos_named_decomposed_says_so(model_dir, tmp_path, capsys):
    """`Zoë_Freude.flac` typed (NFC) for the file a Mac wrote (NFD) was a bare "file not found; check
    the path" of a file plainly there in `ls`. It is not opened in its place (on Linux they are two
    names), but the error names the file in the other form."""
    import unicodedata

    on_disk = (
        tmp_path / unicodedata.normalize("NFD", "Zoë Ångström") / unicodedata.normalize("NFD", "Zoë.wav")
    )
    on_disk.parent.mkdir()
    sf.write(on_disk, make_speechlike(1.0, seed=1), SR)
    typed = tmp_path / "Zoë Ångström" / "Zoë.wav"
    clf = EmotionClassifier.from_pretrained(model_dir)
    with pytest.raises(SERError, match="file not found") as err:
        clf.classify(str(typed))
    assert f"a file named so in another Unicode form (NFD, as macOS writes names) is there: {on_disk}" in str(
        err.value
    )
    assert predict_cli([str(typed), "--model", str(model_dir)]) == 1
    assert "another Unicode form (NFD" in capsys.readouterr().err
    assert clf.classify(str(on_disk))[0]["label"] in LABELS  # the name as on disk


def test_a_name_given_in_another_case_says_which_file_is_there(model_dir, tmp_path):
    """`ser-hf predict --files-from` a list written on Windows (`Audio/Clip01.WAV` for the file
    `audio/clip01.wav`) said a bare "file not found; check the path". A name a user gives is not
    guessed (metadata.csv rows are), but the error names the file on disk, or both of a case-twin pair."""
    (tmp_path / "audio").mkdir()
    for name in ("clip01.wav", "b.wav", "B.wav"):
        sf.write(tmp_path / "audio" / name, make_speechlike(1.0, seed=1), SR)
    names = tmp_path / "list.txt"
    names.write_text(f"{tmp_path}/Audio/Clip01.WAV\n{tmp_path}/audio/b.WAV\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert predict_cli(["--files-from", str(names), "--model", str(model_dir), "--json", str(out)]) == 1
    one, twins = (row["error"] for row in json.loads(out.read_text(encoding="utf-8")))
    assert f"file not found; a file named so in another case is there: {tmp_path}/audio/clip01.wav" in one
    assert (
        f"files named so in another case are there: {tmp_path}/audio/B.wav, {tmp_path}/audio/b.wav" in twins
    )


def test_csv_cells_that_would_run_as_a_spreadsheet_formula_stay_text(
    model_dir, tmp_path, monkeypatch, capsys
):
    """A file named ``=HYPERLINK(...)`` was written as it is to --csv, where Excel runs it as a formula;
    the JSON keeps the name exact."""
    monkeypatch.chdir(tmp_path)
    name = '=HYPERLINK("x")+1.wav'
    sf.write(tmp_path / name, make_speechlike(1.5, seed=2), SR)
    for option, out in (("--csv", "r.csv"), ("--json", "r.json")):
        assert predict_cli([name, "--model", str(model_dir), option, out]) == 0, capsys.readouterr().err
    (row,) = list(csv.DictReader((tmp_path / "r.csv").open(newline="", encoding="utf-8")))
    assert row["file"] == "'" + name and float(row["score"]) > 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))[0]["file"] == name


def test_extract_audio_writes_16k_mono_wav(media, tmp_path, capsys):
    out = tmp_path / "wavs"
    rc = extract_audio_cli(
        [str(media / "video.mp4"), str(media / "video.webm"), str(media / "broken.wav"), "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert rc == 1 and "broken.wav" in captured.err
    written = sorted(p.name for p in out.glob("*.wav"))
    assert written == ["video-webm.wav", "video.wav"]
    for name in written:
        info = sf.info(out / name)
        assert info.samplerate == 16000 and info.channels == 1
        assert info.duration == pytest.approx(2.0, abs=0.1)
    # a later extraction to the same name that fails leaves the earlier wav as it was (it once
    # deleted it), and leaves no temporary file; a bad rate is the option's error
    kept = (out / "video.wav").read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    (other / "video.mp4").write_bytes(b"not a video at all" * 100)
    assert extract_audio_cli([str(other / "video.mp4"), "--out", str(out)]) == 1
    assert (out / "video.wav").read_bytes() == kept and sorted(p.name for p in out.iterdir()) == written
    with pytest.raises(SERError, match="--sampling-rate -5"):
        extract_audio_cli([str(media / "video.mp4"), "--out", str(out), "--sampling-rate", "-5"])
    assert (out / "video.wav").read_bytes() == kept


def test_extract_audio_gives_every_input_its_own_wav(media, tmp_path, capsys):
    """Three files called clip.mp4 in three folders: the third used to overwrite the second."""
    import shutil

    for folder in "abc":
        (tmp_path / "vids" / folder).mkdir(parents=True)
        shutil.copy(media / "video.mp4", tmp_path / "vids" / folder / "clip.mp4")
    assert extract_audio_cli([str(tmp_path / "vids"), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    targets = [line.split(" -> ")[1].split(" (")[0] for line in lines]
    assert len(targets) == 3 and len(set(targets)) == 3, lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "clip-mp4-2.wav",
        "clip-mp4.wav",
        "clip.wav",
    ]
    # --out the inputs' own folder: a 48 kHz stereo original was overwritten by its 16 kHz mono copy
    here = tmp_path / "here"
    here.mkdir()
    stereo = np.stack([make_speechlike(1.0, sr=48000, seed=1)] * 2, axis=1)
    sf.write(here / "talk.wav", stereo, 48000)
    original = (here / "talk.wav").read_bytes()
    assert extract_audio_cli([str(here), "--out", str(here)]) == 0
    assert (here / "talk.wav").read_bytes() == original and sf.info(here / "talk-wav.wav").samplerate == 16000
    cam = tmp_path / "cam"  # a camera's AVCHD files were skipped in folders; extract-audio wrote nothing
    cam.mkdir()
    shutil.copy(media / "video.mp4", cam / "C0001.MTS")
    assert extract_audio_cli([str(cam), "--out", str(tmp_path / "cam_out")]) == 0
    assert [p.name for p in (tmp_path / "cam_out").iterdir()] == ["C0001.wav"]
    (tmp_path / "no_media").mkdir()
    with pytest.raises(SERError, match="no audio or video files found"):  # it wrote nothing, exit 0
        extract_audio_cli([str(tmp_path / "no_media"), "--out", str(tmp_path / "none")])
    assert extract_audio_cli([str(tmp_path / "nothing_*.mp4"), "--out", str(tmp_path / "none")]) == 1
    assert "nothing_*.mp4: no file matches this pattern" in capsys.readouterr().err


def test_json_to_stdout_and_one_timeline_rule_with_the_demo(model_dir, tmp_path, capsys):
    """`--json` alone (or `-`) writes the JSON to stdout and the table to stderr; a 5-s clip is one
    clip (no two-window "timeline"), a 7-s one gets a timeline: 1.5 windows, the demo's rule too."""
    import importlib.util

    from ser_hf.inference.levels import wants_timeline

    five, seven = tmp_path / "five.wav", tmp_path / "seven.wav"
    sf.write(five, make_speechlike(5.0, seed=5), SR)
    sf.write(seven, make_speechlike(7.0, seed=7), SR)
    for flag in (["--json"], ["--json", "-"]):
        assert predict_cli([str(five), str(seven), "--model", str(model_dir), *flag]) == 0
        captured = capsys.readouterr()
        rows = {Path(r["file"]).name: r for r in json.loads(captured.out)}
        assert "five.wav" in captured.err and "2 of 2 file(s) classified" in captured.err
        assert "timeline" not in rows["five.wav"] and len(rows["seven.wav"]["timeline"]) >= 3
    assert predict_cli([str(five), "--model", str(model_dir), "--csv"]) == 0
    assert next(csv.DictReader(capsys.readouterr().out.splitlines()))["file"] == str(five)

    spec = importlib.util.spec_from_file_location("demo_app", Path(__file__).parents[1] / "demo" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    clf = EmotionClassifier(model_dir, device="cpu")
    assert not wants_timeline(5.0, clf.default_window_s()) and wants_timeline(7.0, clf.default_window_s())
    assert app.classify_file(str(five), clf)[2] is None
    assert app.classify_file(str(seven), clf)[2] is not None


def test_predict_labels_keeps_only_those_classes(model_dir, tmp_path, capsys):
    clip = tmp_path / "clip.wav"
    sf.write(clip, make_speechlike(1.5, seed=2), SR)
    assert (
        predict_cli(
            [str(clip), "--model", str(model_dir), "--json", "-", "--top-k", "4", "--labels", "sad, angry"]
        )
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)
    assert {s["label"] for s in row["top_k"]} == {"sad", "angry"} and sum(
        s["score"] for s in row["top_k"]
    ) == pytest.approx(1)
    assert main(["predict", str(clip), "--model", str(model_dir), "--labels", "sad,boredom"]) == 2
    assert "'boredom' is not one of this model's classes" in capsys.readouterr().err


def _six_clips_ctrl_c_at_the_fifth(tmp_path, monkeypatch):
    """Six clips in ``tmp_path``; Ctrl-C while predict reads the fifth one's header. Returns out.csv's path."""
    import ser_hf.data.audio as audio

    for i in range(6):
        sf.write(tmp_path / f"{i}.wav", make_speechlike(1.0, seed=i), SR)
    real, calls = audio.audio_info, []

    def interrupted_at_the_fifth(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(audio, "audio_info", interrupted_at_the_fifth)
    return tmp_path / "out.csv"


def test_ctrl_c_keeps_the_files_already_classified_in_the_table_and_the_csv(
    model_dir, tmp_path, monkeypatch, capsys
):
    """Ctrl-C after 1,500 of 4,238 files wrote nothing: the table and --csv came after the loop."""
    out = _six_clips_ctrl_c_at_the_fifth(tmp_path, monkeypatch)
    args = [str(tmp_path / f"{i}.wav") for i in range(6)] + ["--model", str(model_dir), "--csv", str(out)]
    with pytest.raises(KeyboardInterrupt):
        predict_cli([*args, "--batch-size", "3"])
    rows = list(csv.DictReader(out.open()))
    assert [Path(r["file"]).name for r in rows] == [
        "0.wav",
        "1.wav",
        "2.wav",
    ]  # the 4th was queued, not classified
    assert all(r["label"] in LABELS for r in rows)
    assert "interrupted after 3 of 6 file(s)" in capsys.readouterr().err


def test_ctrl_c_before_any_file_finished_exits_130_and_keeps_the_old_csv(
    model_dir, tmp_path, monkeypatch, capsys
):
    """Ctrl-C before the first batch was classified (a long --adapt pass, --batch-size 1000) ended in a
    TypeError traceback from the table (exit 1), replaced the old --csv with a header alone and never
    said "interrupted after"."""
    from ser_hf.cli.predict_output import CSV_FIELDS

    out = _six_clips_ctrl_c_at_the_fifth(tmp_path, monkeypatch)
    old = ",".join(CSV_FIELDS) + "\nold.wav,0.0,1.0,1.0,sad,0.9,[],,file,,,\n"  # an old run's results
    out.write_text(old)
    args = [str(tmp_path / f"{i}.wav") for i in range(6)] + ["--model", str(model_dir), "--csv", str(out)]
    assert main(["predict", *args, "--batch-size", "1000"]) == 130  # 4 queued, none classified
    err = capsys.readouterr().err
    assert "interrupted after 0 of 6 file(s)" in err and "Traceback" not in err
    assert out.read_text() == old


def test_a_folder_too_deep_to_read_is_reported_not_skipped_silently(model_dir, tmp_path, capsys, caplog):
    """A clip under a path longer than PATH_MAX (22 nested folders of 200-character names) was left out
    of a folder scan without a word: os.walk dropped the folder it could not read."""
    import os

    sf.write(tmp_path / "a.wav", make_speechlike(1.0, seed=1), SR)
    clip = (tmp_path / "a.wav").read_bytes()
    fd = os.open(tmp_path, os.O_RDONLY)
    for level in range(22):  # made relative to each folder: the whole path is too long for the system
        name = f"{level:02d}" + "d" * 198
        os.mkdir(name, dir_fd=fd)
        fd, old = os.open(name, os.O_RDONLY, dir_fd=fd), fd
        os.close(old)
    out = os.open("clip.wav", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
    os.write(out, clip)
    os.close(out)
    os.close(fd)
    with caplog.at_level("WARNING"):
        assert predict_cli([str(tmp_path), "--model", str(model_dir), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert [Path(r["file"]).name for r in json.loads(captured.out)] == ["a.wav"]
    assert "1 folder(s) could not be read, their files left out" in captured.err
    assert (
        "left out 1 folder(s) that could not be read" in caplog.text and "File name too long" in caplog.text
    )


def test_a_truncated_file_is_flagged_in_its_row(model_dir, tmp_path, capsys):
    """A WAV or MP3 cut short (a copy or download that stopped) got a normal row: the WAV's warning
    was in the log only, the MP3 gave FFmpeg's unattributed noise."""
    sf.write(tmp_path / "whole.wav", make_speechlike(4.0, seed=1), SR)
    sf.write(tmp_path / "long.wav", make_speechlike(12.0, seed=2), SR)
    _ffmpeg("-i", str(tmp_path / "whole.wav"), str(tmp_path / "whole.mp3"))
    _ffmpeg("-i", str(tmp_path / "long.wav"), str(tmp_path / "long.mp3"))
    for name in ("whole.wav", "whole.mp3", "long.mp3"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"half_{name}").write_bytes(data[: len(data) // 2])
    # 61 s, 3 % short: under the header check's 5 %; only the timeline's chunk reader tells (data.chunks)
    sf.write(tmp_path / "minute.wav", make_speechlike(61.0, seed=3), SR)
    _ffmpeg("-i", str(tmp_path / "minute.wav"), str(tmp_path / "minute.mp3"))
    data = (tmp_path / "minute.mp3").read_bytes()
    (tmp_path / "most_long.mp3").write_bytes(data[: len(data) * 97 // 100])
    names = ["whole.wav", "half_whole.wav", "whole.mp3", "half_whole.mp3", "half_long.mp3", "most_long.mp3"]
    args = [str(tmp_path / n) for n in names] + ["--model", str(model_dir)]
    assert predict_cli([*args, "--json", "-"]) == 0
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert "warning" not in rows["whole.wav"] and "warning" not in rows["whole.mp3"]
    assert rows["half_whole.wav"]["warning"] == "truncated: header says 4.00 s, holds 2.00 s"
    assert rows["half_whole.mp3"]["warning"].startswith("truncated: header says 4.0")
    assert rows["half_long.mp3"]["warning"].startswith("truncated: header says 12.0")
    assert rows["most_long.mp3"]["warning"].startswith("truncated: header says 61.0")  # data.chunks' warning
    assert all(r["label"] in LABELS for r in rows.values())
    assert predict_cli([*args, "--csv", "-"]) == 0
    warnings = {
        Path(r["file"]).name: r["warning"] for r in csv.DictReader(capsys.readouterr().out.splitlines())
    }
    assert warnings["half_whole.wav"].startswith("truncated") and warnings["whole.wav"] == ""


def test_odd_window_and_hop_lengths_are_run_with_a_warning_saying_why(model_dir, media, capsys, caplog):
    """`--window 0.1` scored windows too short to hold an emotion and `--hop 0.001` ran the model a
    thousand times per second of audio, both without a word; a hop longer than the window skips audio."""
    ten = str(media / "long" / "ten.wav")
    cases = [
        (["--window", "0.5", "--hop", "0.25"], "too little speech"),
        (["--window", "4", "--hop", "0.05"], "20 times per second of audio"),
        (["--window", "2", "--hop", "3"], "is skipped"),
    ]
    for flags, expected in cases:
        caplog.clear()
        with caplog.at_level("WARNING"):
            assert predict_cli([ten, "--model", str(model_dir), "--json", "-", *flags]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert row["timeline"] and expected in caplog.text and "ten.wav" in caplog.text, flags
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert (
            predict_cli([ten, "--model", str(model_dir), "--json", "-", "--window", "4", "--hop", "1"]) == 0
        )
    capsys.readouterr()
    assert "window" not in caplog.text and "hop" not in caplog.text


def test_a_name_too_long_for_the_file_system_is_that_files_error(model_dir, media, capsys):
    """A 300-character file name aborted the whole run with OSError [Errno 36] before any file was
    classified; ``classify`` raised OSError, not SERError."""
    long_name = "a" * 300 + ".wav"
    assert (
        predict_cli([str(media / "clips" / "a.wav"), long_name, "--model", str(model_dir), "--json", "-"])
        == 1
    )
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert rows["a.wav"]["label"] in LABELS and "the path cannot be read" in rows[long_name]["error"]
    with pytest.raises(SERError, match="the path cannot be read"):
        EmotionClassifier(model_dir, device="cpu").classify(long_name)


def test_a_long_file_at_its_own_rate_or_a_whole_aac_gets_no_false_warning(
    model_dir, tmp_path, capsys, caplog
):
    """`ser-hf predict` of any long recording not at 16 kHz (most are 44.1 or 48 kHz) warned that
    "sampling_rate=16000 is ignored", a rate the user never gave (predict passed the model's to the
    timeline); a whole ADTS AAC's row said `truncated: header says 48.03 s, holds 44.61 s`, its
    "header" length being FFmpeg's guess from the file's size (regression probe of session 44)."""
    import logging

    rng = np.random.default_rng(0)
    parts = [make_speechlike(3.0, seed=s) * (0.5 + rng.random()) for s in range(12)]
    pauses = [np.concatenate([p, np.zeros(SR // 2, np.float32)]) for p in parts]
    speech = np.concatenate([np.zeros(SR, np.float32), *pauses])  # a quiet first second: FFmpeg's guess
    # of an ADTS file's length, from its size and first frames, is then 155 s for 43 s
    sf.write(tmp_path / "talk.wav", speech, SR)
    _ffmpeg("-i", str(tmp_path / "talk.wav"), "-ar", "48000", str(tmp_path / "talk48.wav"))
    _ffmpeg(
        "-i",
        str(tmp_path / "talk.wav"),
        "-ar",
        "44100",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        str(tmp_path / "talk.aac"),
    )
    with caplog.at_level(logging.WARNING):
        args = [str(tmp_path / "talk48.wav"), str(tmp_path / "talk.aac"), "--model", str(model_dir)]
        assert predict_cli([*args, "--json", "-"]) == 0
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert "is ignored" not in caplog.text
    assert all("timeline" in r and "warning" not in r for r in rows.values()), rows
    assert rows["talk.aac"]["duration"] == pytest.approx(43.0, abs=0.2)
    cut = (tmp_path / "talk.aac").read_bytes()
    (tmp_path / "cut.aac").write_bytes(cut[: len(cut) // 2 + 7])  # ends inside a frame: still said
    assert predict_cli([str(tmp_path / "cut.aac"), "--model", str(model_dir), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["warning"].startswith("truncated")


def test_a_clip_under_a_second_is_classified_with_a_warning(model_dir, tmp_path, capsys):
    """A 0.1-s cut of a sentence scored `sad 0.999` with no warning (a README probe): a clip under the
    1 s a window needs for a stable score is classified, with a warning in its row."""
    for name, seconds in (("short.wav", 0.5), ("whole.wav", 1.5)):
        sf.write(tmp_path / name, make_speechlike(seconds, seed=3), SR)
    paths = [str(tmp_path / "short.wav"), str(tmp_path / "whole.wav")]
    assert main(["predict", *paths, "--model", str(model_dir), "--json", "-"]) == 0
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert rows["short.wav"]["label"] and "only 0.5 s: too little speech" in rows["short.wav"]["warning"]
    assert "warning" not in rows["whole.wav"]
