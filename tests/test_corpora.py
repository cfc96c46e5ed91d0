"""Corpus loaders on small generated trees with each corpus's exact file naming."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_hf.data.corpora import corpus_summary, load_corpora, load_corpus
from ser_hf.data.labels import scheme_names
from ser_hf.errors import SERError

RATE = 16000


def _tone(path: Path, seconds: float = 0.2, rate: int = RATE, channels: int = 1, freq: float = 220.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    if channels > 1:
        wave = np.stack([wave] * channels, axis=1)
    sf.write(str(path), wave, rate)
    return path


def _corrupt_files(folder: Path, stem_prefix: str = "") -> dict[str, Path]:
    """An empty file, random bytes and a text file, all with audio extensions."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / f"{stem_prefix}empty.wav"
    empty.write_bytes(b"")
    noise = folder / f"{stem_prefix}noise.wav"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    text = folder / f"{stem_prefix}text.mp3"
    text.write_text("this is not audio, just a renamed text file\n" * 20)
    return {"empty": empty, "noise": noise, "text": text}


def _ravdess_tree(root: Path) -> Path:
    # actors 1-4; Actor_01 male, Actor_02 female ...; one FLAC, one 44.1 kHz stereo wav
    for actor in (1, 2, 3, 4):
        for emotion, intensity in ((1, 1), (2, 1), (2, 2), (5, 2), (8, 1)):
            name = f"03-01-{emotion:02d}-{intensity:02d}-01-01-{actor:02d}.wav"
            _tone(root / f"Actor_{actor:02d}" / name)
    _tone(root / "Actor_01" / "03-01-03-01-02-02-01.flac")  # happy, statement 2, FLAC
    _tone(root / "Actor_02" / "03-01-04-02-01-02-02.wav", rate=44100, channels=2)  # sad, stereo 44.1k
    _tone(root / "Actor_03" / "03-02-03-01-01-01-03.wav")  # song: excluded unless include_song
    (root / "Actor_04" / "._03-01-01-01-01-01-04.wav").write_bytes(b"\x00\x05\x16\x07")  # macOS junk
    (root / "README.txt").write_text("not audio, ignored")
    return root


def test_ravdess_rows_labels_speakers_and_corrupt_files(tmp_path, caplog):
    root = _ravdess_tree(tmp_path / "ravdess")
    bad = _corrupt_files(root / "Actor_01", "03-01-01-01-01-02-01_")  # names also unparseable
    _corrupt_files(root / "Actor_02")
    # parseable names but broken contents: skipped for the file, not the name
    (root / "Actor_03" / "03-01-06-01-01-01-03.wav").write_bytes(b"")
    (root / "Actor_03" / "03-01-07-01-01-01-03.wav").write_bytes(np.random.default_rng(1).bytes(3000))
    (root / "Actor_03" / "03-01-08-02-01-01-03.wav").write_text("RIFF but really a text file" * 10)
    _tone(root / "Actor_04" / "03-01-09-01-01-01-04.wav")  # emotion 09 does not exist
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        ds, report = load_corpus("ravdess", root, return_report=True)

    assert len(ds) == 4 * 5 + 2
    assert ds.features["emotion"].names == scheme_names("ravdess8")
    assert sorted(set(ds["speaker"])) == ["ravdess_01", "ravdess_02", "ravdess_03", "ravdess_04"]
    rows = {Path(p).name: i for i, p in enumerate(ds["path"])}
    row = ds[rows["03-01-03-01-02-02-01.flac"]]
    assert (row["raw_emotion"], row["gender"], row["speaker"]) == ("happy", "male", "ravdess_01")
    assert row["statement"] == "Dogs are sitting by the door" and row["intensity"] == "normal"
    assert ds.features["emotion"].int2str(row["emotion"]) == "happy"
    row = ds[rows["03-01-02-02-01-01-02.wav"]]
    assert (row["raw_emotion"], row["gender"], row["intensity"]) == ("calm", "female", "strong")
    assert set(ds["corpus"]) == {"ravdess"}
    assert all(abs(d - 0.2) < 0.01 for d in ds["duration"])

    # 3 corrupt files x 2 folders (unparseable names) + 3 broken contents + 1 bad emotion code
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert len(skipped) == 10
    assert "empty" in skipped["03-01-06-01-01-01-03.wav"]
    assert "unreadable" in skipped["03-01-07-01-01-01-03.wav"]
    assert "unreadable" in skipped["03-01-08-02-01-01-03.wav"]
    assert all(p.name in skipped for p in bad.values())
    assert "03-01-09-01-01-01-04.wav" in skipped
    assert sum(report.excluded.values()) == 2  # the song clip and the macOS file
    assert any("skipped 10" in r.getMessage() for r in caplog.records)

    # audio decodes lazily to 16 kHz mono, whatever the file's rate and channels
    audio = ds[rows["03-01-04-02-01-02-02.wav"]]["audio"]
    assert audio["sampling_rate"] == RATE and audio["array"].ndim == 1
    assert abs(len(audio["array"]) - 0.2 * RATE) <= 2


def test_ravdess_song_flat_layout_and_schemes(tmp_path):
    root = _ravdess_tree(tmp_path / "ravdess")
    with_song = load_corpus("ravdess", root, include_song=True)
    assert len(with_song) == 23

    flat = tmp_path / "flat"
    for i, emotion in enumerate((1, 2, 3, 4, 5, 6)):
        _tone(flat / f"03-01-{emotion:02d}-01-01-01-{i + 1:02d}.wav")
    ds = load_corpus("ravdess", flat, check_files=False)
    assert sorted(ds["gender"]) == ["female"] * 3 + ["male"] * 3
    assert ds["duration"] == [None] * 6

    ds, report = load_corpus("ravdess", root, "nocalm7", return_report=True)
    assert len(ds) == 22 - 8 and report.dropped_by_scheme == {"calm": 8}
    ds = load_corpus("ravdess", root, "harmonized7")
    names = ds.features["emotion"].names
    assert names == scheme_names("harmonized7")
    calm_rows = [names[e] for e, r in zip(ds["emotion"], ds["raw_emotion"]) if r == "calm"]
    assert calm_rows == ["neutral"] * 8
    ds = load_corpus("ravdess", root, "gender_emotion")
    labels = {ds.features["emotion"].int2str(e) for e in ds["emotion"]}
    assert (
        "female_neutral" in labels and "male_surprised" in labels and len(labels) == 8
    )  # 3 emotions x 2 + male happy + female sad


def test_tess_speaker_and_emotion_from_folder(tmp_path):
    root = tmp_path / "TESS Toronto emotional speech set data"
    _tone(root / "OAF_Fear" / "OAF_back_fear.wav")
    _tone(root / "OAF_Pleasant_surprise" / "OAF_back_ps.wav")
    _tone(root / "OAF_neutral" / "OA_bite_neutral.wav")  # the official misnamed file
    _tone(root / "YAF_pleasant_surprised" / "YAF_bean_ps.wav")
    _tone(root / "YAF_sad" / "YAF_bean_sad.wav")
    _tone(root / "YAF_angry" / "YAF_dog_angry.flac")
    _tone(root / "YAF_happy" / "YAF_dog_happy.ogg")
    _tone(root / "misc" / "random_name.wav")
    ds, report = load_corpus("tess", tmp_path, return_report=True)
    assert len(ds) == 7 and len(report.skipped) == 1
    by_name = {Path(p).name: i for i, p in enumerate(ds["path"])}
    row = ds[by_name["OA_bite_neutral.wav"]]
    assert (row["speaker"], row["gender"], row["statement"]) == ("tess_OAF", "female", "bite")
    names = ds.features["emotion"].names
    assert names == scheme_names("harmonized7")
    row = ds[by_name["YAF_bean_ps.wav"]]
    assert row["raw_emotion"] == "pleasant_surprise" and names[row["emotion"]] == "surprised"
    assert names[ds[by_name["OAF_back_fear.wav"]]["emotion"]] == "fearful"
    assert set(ds["speaker"]) == {"tess_OAF", "tess_YAF"}


def test_savee_flat_and_audiodata_layouts(tmp_path):
    flat = tmp_path / "savee_flat"
    for name in ("DC_a01", "DC_sa01", "DC_su02", "JE_h03", "JK_n10", "KL_f05", "KL_d01"):
        _tone(flat / f"{name}.wav")
    _tone(flat / "XX_a01.wav")  # not a SAVEE speaker
    ds, report = load_corpus("savee", flat, return_report=True)
    got = {Path(p).stem: ds.features["emotion"].int2str(e) for p, e in zip(ds["path"], ds["emotion"])}
    assert got == {
        "DC_a01": "angry",
        "DC_sa01": "sad",
        "DC_su02": "surprised",
        "JE_h03": "happy",
        "JK_n10": "neutral",
        "KL_f05": "fearful",
        "KL_d01": "disgust",
    }
    assert set(ds["gender"]) == {"male"} and len(report.skipped) == 1
    nested = tmp_path / "savee_orig"
    for spk, name in (("DC", "sa01"), ("DC", "a01"), ("KL", "su15"), ("JE", "n30")):
        _tone(nested / "AudioData" / spk / f"{name}.wav")
    ds = load_corpus("savee", nested, "common6")
    got = sorted((s, r) for s, r in zip(ds["speaker"], ds["raw_emotion"]))
    assert got == [("savee_DC", "angry"), ("savee_DC", "sad"), ("savee_JE", "neutral")]  # surprise dropped


def test_cremad_gender_from_demographics_and_intensity(tmp_path):
    root = tmp_path / "CREMA-D"
    for name in (
        "1001_DFA_ANG_XX",
        "1001_IEO_HAP_HI",
        "1002_TIE_SAD_LO",
        "1091_WSI_NEU_MD",
        "1002_DFA_FEA_XX",
    ):
        _tone(root / "AudioWAV" / f"{name}.wav")
    _tone(root / "AudioWAV" / "1001_DFA_XXX_XX.wav")  # unknown emotion code
    ds = load_corpus("cremad", root / "AudioWAV")
    assert set(ds["gender"]) == {"unknown"}
    with open(root / "VideoDemographics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
        w.writerows(
            [
                [1001, 51, "Male", "Caucasian", "Not Hispanic"],
                [1002, 21, "Female", "Caucasian", "Not Hispanic"],
            ]
        )
    for data_dir in (root, root / "AudioWAV"):  # csv found inside the folder or next to it
        ds, report = load_corpus("cremad", data_dir, return_report=True)
        assert len(ds) == 5 and len(report.skipped) == 1
        genders = dict(zip(ds["speaker"], ds["gender"]))
        assert genders == {"cremad_1001": "male", "cremad_1002": "female", "cremad_1091": "unknown"}
    assert ds.features["emotion"].names == scheme_names("common6")
    intensity = {Path(p).stem: i for p, i in zip(ds["path"], ds["intensity"])}
    assert intensity["1001_IEO_HAP_HI"] == "high" and intensity["1002_TIE_SAD_LO"] == "low"
    assert intensity["1001_DFA_ANG_XX"] == "unspecified"
    ds, report = load_corpus("crema-d", root, "gender_emotion", return_report=True)
    assert len(ds) == 4 and report.dropped_unknown_gender == 1
    (root / "VideoDemographics.csv").unlink()
    with pytest.raises(SERError, match="gender_emotion needs known genders"):
        load_corpus("cremad", root, "gender_emotion")


def test_emodb_codes_speakers_and_boredom(tmp_path):
    root = tmp_path / "emodb" / "wav"
    for name in ("03a01Fa", "08a02La", "09b03Wb", "10a04Ea", "13b01Ac", "16a05Tb", "15a07Na"):
        _tone(root / f"{name}.wav")
    ds = load_corpus("emodb", root.parent)
    got = {
        Path(p).stem: (ds.features["emotion"].int2str(e), g)
        for p, e, g in zip(ds["path"], ds["emotion"], ds["gender"])
    }
    assert got == {
        "03a01Fa": ("happy", "male"),
        "08a02La": ("boredom", "female"),
        "09b03Wb": ("angry", "female"),
        "10a04Ea": ("disgust", "male"),
        "13b01Ac": ("fearful", "female"),
        "16a05Tb": ("sad", "female"),
        "15a07Na": ("neutral", "male"),
    }
    assert "emodb_03" in ds["speaker"]
    ds, report = load_corpus("emodb", root.parent, "harmonized7", return_report=True)
    assert len(ds) == 6 and report.dropped_by_scheme == {"boredom": 1}


def test_audiofolder_per_label_and_metadata_csv(tmp_path):
    folder = tmp_path / "myset"
    _tone(folder / "Angry" / "a.wav")
    _tone(folder / "happy" / "b.flac")
    _tone(folder / "happy" / "c.wav")
    mp3 = folder / "sad" / "d.mp3"
    mp3.parent.mkdir(parents=True)
    sf.write(str(mp3), 0.3 * np.sin(np.linspace(0, 400, 8000)).astype(np.float32), RATE, format="MP3")
    _corrupt_files(folder / "sad")
    ds, report = load_corpus("audiofolder", folder, return_report=True)
    assert ds.features["emotion"].names == ["Angry", "happy", "sad"]  # native: sorted folder names
    assert len(ds) == 4 and len(report.skipped) == 3
    assert set(ds["speaker"]) == {"myset_unknown"} and set(ds["corpus"]) == {"myset"}
    ds = load_corpus("audiofolder", folder, "harmonized7", label_map={"Angry": "angry"})
    assert sorted(ds.features["emotion"].int2str(e) for e in ds["emotion"]) == [
        "angry",
        "happy",
        "happy",
        "sad",
    ]

    meta_dir = tmp_path / "meta"
    rows = [
        ("clips/x1.wav", "anger", "s1", "F"),
        ("clips/x2.wav", "fear", "s2", "M"),
        ("clips/missing.wav", "sad", "s2", "M"),
    ]
    for file_name, *_ in rows[:2]:
        _tone(meta_dir / file_name)
    with open(meta_dir / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "label", "speaker", "gender"])
        w.writerows(rows)
    ds, report = load_corpus("audiofolder", meta_dir, "ravdess8", return_report=True)
    assert list(zip(ds["speaker"], ds["gender"])) == [("meta_s1", "female"), ("meta_s2", "male")]
    assert [ds.features["emotion"].int2str(e) for e in ds["emotion"]] == ["angry", "fearful"]
    assert [Path(s.path).name for s in report.skipped] == ["missing.wav"]

    # a name of the user's own for a local folder reads it (no Hub lookup), named as given
    ds = load_corpus("My Set", meta_dir, "ravdess8")
    assert set(ds["corpus"]) == {"my_set"} and list(ds["speaker"]) == ["my_set_s1", "my_set_s2"]
    # and a mistyped folder says so (it was looked up on the Hub as a dataset "mine": "Couldn't reach")
    with pytest.raises(SERError, match="nothere: corpus folder not found; check the path"):
        load_corpus("mine", tmp_path / "nothere")


def test_a_metadata_csv_speaker_column_named_spk_is_read_and_a_missing_one_is_said(tmp_path, caplog):
    """A metadata.csv with `path,emotion,spk` read every clip as one unknown speaker without a word,
    and training then failed with "cannot take 4 validation speakers from 1" naming no way out."""
    from ser_hf.data.folds import validation_speakers

    folder = tmp_path / "mine2"
    for header, name in ((["path", "emotion", "spk"], "spk"), (["path", "emotion", "who"], "who")):
        with open(_tone(folder / "clips" / "a.wav").parent.parent / "metadata.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i in range(4):
                _tone(folder / "clips" / f"{i}.wav")
                w.writerow([f"clips/{i}.wav", "angry" if i % 2 else "sad", f"p{i // 2}"])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            ds = load_corpus("mine2", folder)
        if name == "spk":
            assert (
                sorted(set(ds["speaker"])) == ["mine2_p0", "mine2_p1"]
                and "no speaker column" not in caplog.text
            )
        else:
            assert set(ds["speaker"]) == {"mine2_unknown"}
            assert "metadata.csv: no speaker column (looked for speaker, speaker_id, actor" in caplog.text
    with pytest.raises(
        SERError, match="from 1 training speakers.*--num-val-speakers.*--speaker-column.*--split random"
    ):
        validation_speakers(["mine2_unknown"], n=4)


def test_a_file_listed_twice_in_metadata_csv_is_read_once_or_skipped_when_its_labels_differ(tmp_path, caplog):
    """A metadata.csv listing one file three times under three labels loaded silently: the same audio
    trained as each class, and the summary counted 95 files for 60 (probe of session 36)."""
    folder = tmp_path / "dup"
    for i in range(5):
        _tone(folder / "clips" / f"{i}.wav")
    rows = [f"clips/{i}.wav,{'angry' if i % 2 else 'sad'},p{i % 2}" for i in range(4)]
    rows += ["clips/0.wav,happy,p0", "clips/0.wav,Angry,p0", "./clips/1.wav,angry,p1"]  # 0: three labels
    rows += ["clips/4.wav,colère,p0", "clips/4.wav,cole\u0300re,p0"]  # one label in two Unicode forms
    (folder / "metadata.csv").write_text("file_name,emotion,speaker\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        ds, report = load_corpus("dup", folder, return_report=True)
    assert sorted(Path(p).name for p in ds["path"]) == ["1.wav", "2.wav", "3.wav", "4.wav"]  # 1, 4 once
    assert report.files_found == 5
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("0.wav", "listed 3 times in metadata.csv with different labels (Angry, happy, sad)")
    ]
    assert "2 row(s) list a file again with the same label; each file is read once" in caplog.text


def test_a_metadata_csv_as_excel_saves_it_is_read(tmp_path, caplog):
    """French labels in a Windows-1252 metadata.csv were a raw UnicodeDecodeError traceback; a
    semicolon-separated one (European Excel) said it lacked a 'file_name' column."""
    folder = tmp_path / "fr"
    rows = [(f"clips/{i}.wav", label, f"p{i % 2}") for i, label in enumerate(["colère", "tristesse"] * 2)]
    for name, _, _ in rows:
        _tone(folder / name)
    for encoding, delimiter in (("cp1252", ","), ("utf-8", ";"), ("utf-8-sig", "\t")):
        text = "\n".join(delimiter.join(r) for r in [("file_name", "emotion", "speaker"), *rows]) + "\n"
        (folder / "metadata.csv").write_bytes(text.encode(encoding))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            ds = load_corpus("fr", folder)
        names = ds.features["emotion"].names
        assert sorted(names) == ["colère", "tristesse"] and len(ds) == 4, (encoding, names)
        assert sorted(set(ds["speaker"])) == ["fr_p0", "fr_p1"]
        assert ("read as Windows-1252" in caplog.text) == (encoding == "cp1252")
        assert "outside the corpus folder" not in caplog.text
    # a row naming a file outside the folder is loaded, with a warning (push-dataset would upload it)
    _tone(tmp_path / "elsewhere.wav")
    text = "file_name,emotion,speaker\n" + "".join(f"{n},{lab},{spk}\n" for n, lab, spk in rows)
    (folder / "metadata.csv").write_text(text + "../elsewhere.wav,colère,p9\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(load_corpus("fr", folder)) == 5
    assert "metadata.csv: 1 rows name files outside the corpus folder, e.g." in caplog.text
    # a clips/ folder linked to another disk is loaded, with one warning naming the link (an etcdir/ ->
    # /etc link and a row etcdir/passwd were opened without a word); a stray quote in an extra column
    # (a list in csv.DictReader's row) lost the rows after it; a name too long for the file system
    # aborted the load
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "clips").symlink_to(folder / "clips")
    (linked / "metadata.csv").write_text(text, encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(load_corpus("fr", linked)) == 4
    assert "rows name files outside" not in caplog.text
    assert (
        "metadata.csv: 4 rows name files that symbolic links lead outside the corpus folder, e.g. "
        in caplog.text
    )
    assert caplog.text.count("symbolic links lead outside") == 1
    extra = text.replace("clips/1.wav,tristesse,p1\n", 'clips/1.wav,tristesse,p1,"oops\n')
    (folder / "metadata.csv").write_text(extra, encoding="utf-8")
    with pytest.raises(SERError, match="line 3: a quote opened here is not closed"):
        load_corpus("fr", folder)
    (folder / "metadata.csv").write_text(text + "a" * 300 + ".wav,colère,p1\n", encoding="utf-8")
    ds, report = load_corpus("fr", folder, return_report=True)
    assert len(ds) == 4 and "the path cannot be read" in report.skipped[0].reason
    (folder / "metadata.csv").write_bytes("file_name,emotion\nclips/0.wav,x\x81y\n".encode("latin-1"))
    with pytest.raises(SERError, match="metadata.csv: is not UTF-8 text.*save it as CSV UTF-8"):
        load_corpus("fr", folder)
    # a stray quote read the lines after it as one row (their clips lost without a word), and in a
    # large file was a raw _csv.Error traceback
    lines = ["file_name,emotion,speaker", *[f"clips/{i}.wav,colère,p{i % 2}" for i in range(4)]]
    lines[2] = 'clips/1.wav,"tristesse,p1'
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SERError, match="line 3: a quote opened here is not closed, so lines 3-5"):
        load_corpus("fr", folder)
    (folder / "metadata.csv").write_text("\n".join(lines + ["x" * 200] * 1000) + "\n", encoding="utf-8")
    with pytest.raises(SERError, match="line 3: .*a quote opened there is likely not closed"):
        load_corpus("fr", folder)


def test_own_labels_merge_across_case_and_spaces_and_empty_labels_are_skipped(tmp_path):
    """A generic corpus's labels are its classes: ``Angry`` / ``angry`` / `` ANGRY `` are one class
    (they used to be three), named by the most frequent spelling; an empty label skips its row (it
    used to become a class named '')."""
    folder = tmp_path / "own"
    labels = ["angry", "Angry", " ANGRY ", "angry", "Happy", "", "  "]
    with open(_tone(folder / "clips" / "0.wav").parent.parent / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "label", "speaker"])
        for i, label in enumerate(labels):
            _tone(folder / "clips" / f"{i}.wav")
            w.writerow([f"clips/{i}.wav", label, "s1"])
    ds, report = load_corpus("audiofolder", folder, return_report=True)
    assert ds.features["emotion"].names == ["Happy", "angry"]
    assert [ds.features["emotion"].int2str(e) for e in ds["emotion"]] == ["angry"] * 4 + ["Happy"]
    assert report.merged_labels == {"angry": ["angry", "Angry", "ANGRY"]}
    assert "one class 'angry'" in report.format()
    assert sorted(Path(s.path).name for s in report.skipped) == ["5.wav", "6.wav"]
    assert {s.reason for s in report.skipped} == {"empty label"}

    # the same for a dataset of string labels (parquet / save_to_disk / the Hub)
    from datasets import Dataset

    paths = [str(folder / "clips" / f"{i}.wav") for i in range(4)]
    Dataset.from_dict({"audio": paths, "label": ["sad", "Sad ", "sad", "calm"]}).to_parquet(
        str(tmp_path / "pq" / "data.parquet")
    )
    ds = load_corpus("parquet", tmp_path / "pq")
    assert ds.features["emotion"].names == ["calm", "sad"] and len(ds) == 4


def test_own_corpus_under_the_gender_emotion_scheme_is_not_called_emotionless(tmp_path, caplog):
    folder = tmp_path / "mine"
    with open(_tone(folder / "clips" / "a.wav").parent.parent / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "label", "speaker", "gender"])
        for i, (label, gender) in enumerate((("angry", "F"), ("Sad", "M"), ("neutral", "F"))):
            _tone(folder / "clips" / f"{i}.wav")
            w.writerow([f"clips/{i}.wav", label, f"s{i}", gender])
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", folder, "gender_emotion")
    assert "female_angry" in ds.features["emotion"].names
    assert "none of its labels is an emotion" not in caplog.text


def test_classes_of_your_own_from_a_metadata_column_are_no_warning(tmp_path, caplog):
    """Japanese labels in metadata.csv's Emotion column were warned of as "check that the
    sub-folders are the labels": there were no label sub-folders, and own classes are welcome."""
    folder = tmp_path / "k_jp"
    (folder / "clips").mkdir(parents=True)
    with open(folder / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "Emotion", "speaker"])
        for i, label in enumerate(["喜び", "平静", "怒り", "悲しみ"] * 2):
            _tone(folder / "clips" / f"{i}.wav")
            w.writerow([f"clips/{i}.wav", label, f"s{i % 2}"])
    for column in (None, "Emotion"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="ser_hf.data"):
            ds = load_corpus("k_jp", folder, label_column=column)
        assert len(ds.features["emotion"].names) == 4
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert "4 classes of your own from the " in caplog.text and "of metadata.csv" in caplog.text
        assert "sub-folder" not in caplog.text
    # class sub-folders that are no emotion: still a warning, saying that the sub-folders were read
    _tone(tmp_path / "own" / "Sitzung_1" / "a.wav")
    _tone(tmp_path / "own" / "Sitzung_2" / "b.wav")
    with caplog.at_level(logging.WARNING):
        load_corpus("own", tmp_path / "own")
    assert "its classes are its sub-folder names (Sitzung_1, Sitzung_2)" in caplog.text


def test_label_map_on_the_command_line_of_corpus_and_train(tmp_path, capsys):
    """label_map= was Python only: a corpus named in German could not be renamed for a model of
    classes of its own from the command line."""
    import json

    from ser_hf.cli import corpus as corpus_cli
    from ser_hf.data.labels import parse_label_map
    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import load_rows

    for i, label in enumerate(["Wut", "Freude", "ruhe"]):
        _tone(tmp_path / "de" / label / f"{i}.wav")
    assert (
        corpus_cli.cli([str(tmp_path / "de"), "--json", "--label-map", "wut=怒り, FREUDE=喜び, Ruhe="]) == 0
    )
    assert json.loads(capsys.readouterr().out)["summary"]["classes"] == ["喜び", "怒り"]
    rows = load_rows(
        DataArguments(audiofolder=str(tmp_path / "de"), label_map="wut=angry,freude=happy,ruhe=calm")
    )
    assert rows.features["emotion"].names == ["angry", "calm", "happy"]
    with pytest.raises(SERError, match="'Wut' is mapped twice"):
        parse_label_map("Wut=a,Wut=b")


def test_a_dataset_whose_every_row_is_dropped_is_a_clear_error_and_numbers_as_labels_are_named(
    tmp_path, caplog
):
    """A `datasets.Dataset` saved with integer labels (a ClassLabel's names lost) and a label scheme:
    every row skipped, and `load_corpus` crashed in pyarrow (`Column name [...] not in the dataset`,
    `cannot construct ChunkedArray from empty vector`, also for rows whose files are all missing).
    Now the load's own "no usable clips" error, with the map that names the numbers; without a scheme
    the numbers become the classes with a warning, not an INFO line."""
    from datasets import Dataset

    paths = [str(_tone(tmp_path / "clips" / f"{i}.wav")) for i in range(6)]
    data = {"audio": paths, "label": [i % 3 for i in range(6)], "speaker": ["a", "b"] * 3}
    Dataset.from_dict(data).save_to_disk(str(tmp_path / "ints"))
    with pytest.raises(SERError, match=r"no usable mine clips .* its labels are numbers \(class ids without "
                       r"their names\): name them with --label-map '0=NAME,\.\.\.'"):  # fmt: skip
        load_corpus("mine", tmp_path / "ints", label_scheme="harmonized7")
    Dataset.from_dict({**data, "audio": [p + ".gone" for p in paths]}).save_to_disk(str(tmp_path / "gone"))
    with pytest.raises(SERError, match="no usable gone clips"):
        load_corpus(str(tmp_path / "gone"))
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", tmp_path / "ints")
    assert ds.features["emotion"].names == ["0", "1", "2"]
    assert "its labels are numbers (0, 1, 2): class ids without their names" in caplog.text


def test_a_dataset_as_a_datasets_user_holds_it_loads_or_is_told_how(tmp_path):
    """A probe of a datasets user: `ds.to_parquet("mine.parquet")` given as `load_corpus("mine", FILE)`
    (`--corpus mine=FILE`) was "corpus folder not found; check the path" of the file that was there
    (only the name `parquet` read it, as corpus `mine_parquet`, which stays as it was); a Dataset in
    memory was read as a Hub id (its printout) or a TypeError; `--audiofolder` of a save_to_disk folder
    found "0 audio files". One file loads; the others say what to give."""
    from datasets import Dataset

    paths = [str(_tone(tmp_path / "clips" / f"{i}.wav")) for i in range(4)]
    Dataset.from_dict(
        {"audio": paths, "label": ["angry", "sad"] * 2, "speaker": ["a", "a", "b", "b"]}
    ).to_parquet(str(tmp_path / "mine.parquet"))
    assert set(load_corpus("calls", tmp_path / "mine.parquet")["speaker"]) == {"calls_a", "calls_b"}
    assert set(load_corpus(str(tmp_path / "mine.parquet"))["corpus"]) == {"mine"}
    assert set(load_corpus("parquet", tmp_path / "mine.parquet")["corpus"]) == {"mine_parquet"}
    ds = Dataset.from_parquet(str(tmp_path / "mine.parquet"))  # in memory: said what to do, not a Hub error
    ds.save_to_disk(str(tmp_path / "saved"))  # read as a folder of audio files: "found 0 audio files"
    with pytest.raises(SERError, match="a folder save_to_disk wrote, not a folder of audio files"):
        load_corpus("audiofolder", tmp_path / "saved")
    assert len(load_corpus("mine", tmp_path / "saved")) == 4
    for args in (("mine", ds), (ds,)):
        with pytest.raises(SERError, match=r"not a Dataset object: save it first \(ds.save_to_disk"):
            load_corpus(*args)


def test_labels_of_one_corpus_typed_two_ways_are_named_with_the_map_that_joins_them(tmp_path, caplog):
    """A probe's Polish corpus: one speaker typed ``zlosc`` for ``złość`` (an English keyboard),
    another ``neutralna`` for ``neutralny``, a third ``angry`` beside ``anger``: each became a class
    of its own without a word (only case and spaces were merged), and an evaluation of the default
    then scored one of anger/angry and left the other out. Each pair is named, with the map; a
    label-map key typed without the accents is pointed at the label it missed."""
    counts = {"złość": 3, "zlosc": 1, "neutralny": 3, "neutralna": 1, "anger": 2, "angry": 1, "smutek": 2}
    counts |= {"female_sad": 1, "male_sad": 1}  # gender-joint classes: two on purpose
    for label, n in counts.items():
        for i in range(n):
            _tone(tmp_path / "pl" / label / f"{i}.wav")
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("pl", tmp_path / "pl")
    assert len(ds.features["emotion"].names) == 9  # kept apart, as written
    assert "labels 'złość' (3 rows) and 'zlosc' (1 rows) differ only in accents" in caplog.text
    assert "--label-map 'zlosc=złość'" in caplog.text
    assert "labels 'neutralny' (3 rows) and 'neutralna' (1 rows) are one letter apart" in caplog.text
    assert "labels 'anger' (2 rows) and 'angry' (1 rows) are one emotion by ser_hf's names" in caplog.text
    assert "--label-map 'anger=angry'" in caplog.text  # onto the emotion's own name
    assert "smutek" not in caplog.text and "_sad" not in caplog.text
    caplog.clear()
    _tone(tmp_path / "en" / "angry" / "0.wav")
    with caplog.at_level(logging.WARNING):  # beside another corpus: named once, by the corpus that holds both
        load_corpora([("pl", tmp_path / "pl"), ("en", tmp_path / "en")])
    assert caplog.text.count("'anger'") == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_corpus("pl", tmp_path / "pl", label_map={"zlosc_": "angry", "smutk": "sad"})
    assert "keys 'zlosc_', 'smutk' match no label" in caplog.text
    assert "(a typo? 'zlosc_' for 'zlosc' or 'złość', 'smutk' for 'smutek'?)" in caplog.text


def test_a_label_map_from_a_config_file_a_folded_duplicate_and_a_key_matching_nothing(tmp_path, caplog):
    """Three gaps of --label-map: a train config's ``label_map: {wut: angry, calm: null}`` reached it as
    JSON and failed "'{"wut": "angry"' is not FROM=TO"; ``Angry=x,angry=y`` was accepted though FROM
    matches whatever its case; ``wutt=angry`` (a typo) renamed nothing and said nothing."""
    from ser_hf.data.labels import parse_label_map
    from ser_hf.training.arguments import parse_args
    from ser_hf.training.clips import load_rows

    for i, label in enumerate(["Wut", "Freude", "calm"]):
        _tone(tmp_path / "de" / label / f"{i}.wav")
    config = tmp_path / "train.yaml"
    config.write_text(
        f"audiofolder: {tmp_path / 'de'}\nlabel_map: {{wut: angry, Freude: happy, calm: null}}\n"
    )
    rows = load_rows(parse_args([str(config)])[0])
    assert rows.features["emotion"].names == ["angry", "happy"]
    assert parse_label_map('{"wut": "angry", "calm": ""}') == {"wut": "angry", "calm": None}
    with pytest.raises(SERError, match="'Angry' is mapped twice \\('x', and as 'angry' to 'y'\\)"):
        parse_label_map("Angry=x,angry=y")
    assert parse_label_map("Angry=x,angry=x") == {"Angry": "x"}  # the same class twice: no conflict
    with caplog.at_level(logging.WARNING):
        load_corpus("mine", tmp_path / "de", label_map={"wutt": "angry", "freude": "happy"})
    assert "the label map's key 'wutt' matches no label" in caplog.text
    assert "its labels are 'Freude', 'Wut', 'calm'" in caplog.text and "'freude'" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # several corpora: a key one of them has is no typo
        _tone(tmp_path / "en" / "angry" / "a.wav")
        load_corpora([("de", tmp_path / "de"), ("en", tmp_path / "en")], label_map={"WUT": "angry"})
    assert "matches no label" not in caplog.text


def test_label_map_keys_ignore_case_and_a_mistyped_value_is_an_error(tmp_path):
    folder = tmp_path / "codes"
    _tone(folder / "ang" / "a.wav")
    _tone(folder / "HAP" / "b.wav")
    ds = load_corpus("audiofolder", folder, "harmonized7", label_map={"ANG": "angry", "hap": "happy"})
    assert sorted(ds.features["emotion"].int2str(e) for e in ds["emotion"]) == ["angry", "happy"]
    # a typo in a value used to skip every clip it matched, one "unknown label" line each
    with pytest.raises(SERError, match="label_map sends 'ANG' to 'angyr'.*neutral, happy"):
        load_corpus("audiofolder", folder, "harmonized7", label_map={"ANG": "angyr", "hap": None})


def _hub_like_dataset(tmp_path: Path):
    from datasets import Audio, ClassLabel, Dataset, Features, Value

    paths = [str(_tone(tmp_path / "hub" / f"{i}.wav")) for i in range(4)]
    features = Features(
        {"file": Audio(), "label": ClassLabel(names=["ang", "hap", "neu", "bored"]), "spk": Value("string")}
    )
    return Dataset.from_dict(
        {"file": paths, "label": [0, 1, 2, 3], "spk": ["a", "a", "b", "b"]}, features=features
    )


def test_saved_dataset_and_parquet(tmp_path):
    hub = _hub_like_dataset(tmp_path)
    hub.save_to_disk(str(tmp_path / "saved"))
    ds, report = load_corpus(
        "disk",
        tmp_path / "saved",
        "harmonized7",
        speaker_column="spk",
        audio_column="file",
        return_report=True,
    )
    assert len(ds) == 3 and report.dropped_by_scheme == {"bored": 1}
    assert ds.column_names == load_corpus("ravdess", _ravdess_tree(tmp_path / "r")).column_names
    assert [ds.features["emotion"].int2str(e) for e in ds["emotion"]] == ["angry", "happy", "neutral"]
    assert ds["speaker"] == ["saved_a", "saved_a", "saved_b"]
    assert Path(ds["path"][0]).name == "0.wav"
    assert ds[0]["audio"]["sampling_rate"] == RATE

    hub.to_parquet(str(tmp_path / "pq" / "train.parquet"))
    ds = load_corpus(
        str(tmp_path / "pq"), label_column="label", speaker_column="spk"
    )  # auto-detected parquet
    # native scheme: the dataset's own ClassLabel order is kept
    assert ds.features["emotion"].names == ["ang", "hap", "neu", "bored"] and len(ds) == 4
    with pytest.raises(SERError, match="no speaker column 'nope'"):
        load_corpus("disk", tmp_path / "saved", speaker_column="nope")


def test_disk_and_parquet_rows_with_unreadable_audio_are_skipped_at_load(tmp_path):
    """A parquet or save_to_disk corpus gets the header check audio folders get: empty bytes, bytes
    that are no audio and a path to no file are skipped and counted at load (they used to load as
    rows and fail later), and the durations come from the headers."""
    from datasets import Audio, Dataset, Features, Value

    good = _tone(tmp_path / "good.wav", seconds=0.5).read_bytes()
    gone = _tone(tmp_path / "gone.wav")  # deleted after the dataset is written
    audio = [
        {"bytes": good, "path": "a.wav"},
        {"bytes": b"", "path": "empty.wav"},
        {"bytes": b"not audio at all" * 64, "path": "junk.wav"},
        {"bytes": None, "path": str(gone)},
        {"bytes": good, "path": "b.wav"},
    ]
    features = Features({"audio": Audio(decode=False), "label": Value("string")})
    table = Dataset.from_dict({"audio": audio, "label": ["angry", "sad", "sad", "angry", "sad"]}, features)
    import pyarrow.parquet as pq

    (tmp_path / "pq").mkdir()  # as written (to_parquet would embed the missing file, and fail)
    pq.write_table(table.data.table, str(tmp_path / "pq" / "data.parquet"))
    table.save_to_disk(str(tmp_path / "saved"))
    gone.unlink()
    ds, report = load_corpus("parquet", tmp_path / "pq", "harmonized7", return_report=True)
    assert len(ds) == 2 and report.n_skipped == 3 and report.files_found == 5
    reasons = sorted(s.reason for s in report.skipped)
    assert reasons[0].startswith("empty") and "no file at the path" in reasons[1], reasons
    assert "unreadable" in reasons[2] and "skipped 3 files" in report.format()
    assert ds["duration"] == pytest.approx([0.5, 0.5])
    # save_to_disk embedded the file it named before it was deleted: that row stays
    ds, report = load_corpus("disk", tmp_path / "saved", "harmonized7", return_report=True)
    assert len(ds) == 3 and sorted(s.path.split()[-1] for s in report.skipped) == ["empty.wav", "junk.wav"]
    assert ds["duration"] == pytest.approx([0.5, 0.2, 0.5])


def test_own_format_round_trips_through_save_to_disk(tmp_path):
    # what `ser-hf push-dataset` uploads comes back with its speakers, corpus and class order
    original = load_corpus("ravdess", _ravdess_tree(tmp_path / "ravdess"), "harmonized7")
    original.save_to_disk(str(tmp_path / "saved"))
    back = load_corpus("disk", tmp_path / "saved")
    assert back.features["emotion"].names == scheme_names("harmonized7")
    for column in ("speaker", "gender", "corpus", "emotion", "raw_emotion", "intensity", "statement"):
        assert back[column] == original[column], column
    relabelled = load_corpus("disk", tmp_path / "saved", "ravdess8")  # calm comes back from raw_emotion
    assert relabelled["emotion"].count(scheme_names("ravdess8").index("calm")) == 8
    assert set(relabelled["speaker"]) == {"ravdess_01", "ravdess_02", "ravdess_03", "ravdess_04"}


def test_load_corpora_concatenates_with_one_classlabel(tmp_path):
    ravdess = _ravdess_tree(tmp_path / "ravdess")
    savee = tmp_path / "savee"
    for name in ("DC_a01", "DC_sa01", "JE_su01"):
        _tone(savee / f"{name}.wav")
    ds, reports = load_corpora([("ravdess", ravdess), ("savee", savee)], "harmonized7", return_report=True)
    assert len(ds) == 22 + 3 and [r.corpus for r in reports] == ["ravdess", "savee"]
    assert ds.features["emotion"].names == scheme_names("harmonized7")
    summary = corpus_summary(ds)
    assert summary["rows"] == 25 and summary["speakers"] == 6
    assert summary["per_corpus"]["savee"] == {"rows": 3, "speakers": 2, "genders": {"male": 2}}
    assert summary["per_emotion"]["neutral"] == 4 + 8  # neutral + calm merged
    assert summary["label_scheme"] == "harmonized7"
    # native: each corpus's own labels, so known corpora of one scheme; ravdess8 and harmonized7 differ
    alone = load_corpora([("ravdess", ravdess)], "native")
    assert alone.features["emotion"].names == scheme_names("ravdess8")
    with pytest.raises(SERError, match=r"ravdess \(ravdess8\), savee \(harmonized7\) are known corpora"):
        load_corpora([("ravdess", ravdess), ("savee", savee)], label_scheme="native")


def test_errors_and_cli(tmp_path, capsys):
    with pytest.raises(SERError, match="not found"):
        load_corpus("ravdess", tmp_path / "nowhere")
    empty = tmp_path / "empty"
    _corrupt_files(empty)
    with pytest.raises(SERError, match="no usable"):
        load_corpus("ravdess", empty)
    with pytest.raises(SERError, match="unknown label scheme"):
        load_corpus("ravdess", _ravdess_tree(tmp_path / "r"), "klingon9")

    from ser_hf.cli.corpus import cli

    root = tmp_path / "r"
    _corrupt_files(root / "Actor_01")
    assert cli(["ravdess", str(root), "--scheme", "harmonized7"]) == 0
    out = capsys.readouterr().out
    assert "rows: 22" in out and "speakers: 4" in out and "skipped 3 files" in out and "noise.wav" in out


def test_a_label_with_a_handful_of_clips_among_large_classes_is_flagged_as_a_likely_typo(tmp_path, caplog):
    """One clip labelled 'angyr' became a ninth class of the model, learnt from nothing, without a word."""
    for label, n in (("angry", 12), ("sad", 12), ("neutral", 12), ("angyr", 1)):
        for k in range(n):
            _tone(tmp_path / "mine" / label / f"{label}_{k}.wav")
    with caplog.at_level("WARNING", logger="ser_hf.data.corpora"):
        ds = load_corpus("mine", tmp_path / "mine")
    assert "angyr" in ds.features["emotion"].names  # kept: the data are the user's
    assert (
        "the label(s) 'angyr' (1) have very few clips against a median of 12 a class: a typo" in caplog.text
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.data.corpora"):
        load_corpus("mine", tmp_path / "mine", label_map={"angyr": "angry"})
    assert "typo" not in caplog.text


def test_rows_that_symbolic_links_lead_outside_the_corpus_are_warned_of(tmp_path, caplog):
    """in/link.wav -> /elsewhere/x.wav loaded as a training row without a word, and with in/etcdir ->
    /etc a row etcdir/passwd opened /etc/passwd: the outside check compared paths as written."""
    secret = _tone(tmp_path / "elsewhere" / "secret.wav")
    folder = tmp_path / "in"
    for i in range(3):
        _tone(folder / f"{i}.wav")
    (folder / "link.wav").symlink_to(secret)
    (folder / "etcdir").symlink_to(secret.parent)
    rows = ["0.wav,happy,p1", "1.wav,sad,p2", "2.wav,happy,p3", "link.wav,sad,p1", "etcdir/secret.wav,sad,p2"]
    (folder / "metadata.csv").write_text(
        "file_name,emotion,speaker\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", folder)
    assert len(ds) == 5, "links into a shared audio store are a real layout: loaded, as ../x rows are"
    assert (
        "metadata.csv: 2 rows name files that symbolic links lead outside the corpus folder, e.g. "
        in caplog.text
    )
    assert f"link.wav -> {secret.resolve()}" in caplog.text
    # the same for a folder of <label>/ subfolders
    tree = tmp_path / "tree"
    _tone(tree / "happy" / "a.wav")
    (tree / "sad").mkdir()
    (tree / "sad" / "b.wav").symlink_to(secret)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(load_corpus("tree", tree)) == 2
    assert "1 rows name files that symbolic links lead outside the corpus folder" in caplog.text


def test_a_symlink_loop_in_a_corpus_is_a_skipped_row_not_the_end_of_the_load(tmp_path, caplog):
    """The outside-the-folder check resolved every row's path, and a link loop raised RuntimeError out
    of load_corpus: the corpus that loaded before (the loop a skipped file) failed whole."""
    folder = tmp_path / "loops"
    for i in range(3):
        _tone(folder / f"{i}.wav")
    (folder / "loop.wav").symlink_to("loop.wav")
    rows = ["0.wav,happy,p1", "1.wav,sad,p2", "2.wav,happy,p3", "loop.wav,sad,p1"]
    (folder / "metadata.csv").write_text(
        "file_name,emotion,speaker\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING):
        assert len(load_corpus("mine", folder)) == 3
    tree = tmp_path / "tree"
    _tone(tree / "happy" / "a.wav")
    (tree / "happy" / "loop.wav").symlink_to("loop.wav")
    assert len(load_corpus("tree", tree)) == 1


def test_a_named_corpus_of_links_elsewhere_is_warned_of_as_an_audiofolder_is(tmp_path, caplog):
    """A RAVDESS folder of links into another store loaded (and push-dataset uploaded it) without the
    word an audiofolder of the same links gets."""
    store = _ravdess_tree(tmp_path / "store")
    linked = tmp_path / "linked"
    for actor in store.glob("Actor_*"):
        (linked / actor.name).mkdir(parents=True)
        for clip in actor.glob("03-*"):
            (linked / actor.name / clip.name).symlink_to(clip)
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        assert len(load_corpus("ravdess", linked)) == len(load_corpus("ravdess", store))
    assert "rows name files that symbolic links lead outside the corpus folder" in caplog.text


def test_a_corpus_summary_prints_the_same_on_every_run():
    """`ser-hf corpus ravdess DIR` printed its speakers' genders as {'male': 12, 'female': 12} on some runs
    and {'female': 12, 'male': 12} on others (a set's order, which Python's string hashing changes from
    process to process): two runs' outputs did not diff cleanly."""
    import os
    import subprocess
    import sys

    code = (
        "from datasets import Dataset; from ser_hf.data.corpora import corpus_summary; "
        "ds = Dataset.from_dict({'speaker': [f's{i}' for i in range(12)], "
        "'gender': ['male', 'female'] * 6, 'corpus': ['c'] * 12}); "
        "print(corpus_summary(ds)['per_corpus'])"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in range(6)
    }  # fmt: skip
    assert len(outputs) == 1, outputs
    assert "{'female': 6, 'male': 6}" in outputs.pop()
