"""An audio folder's metadata table as a team made it in Excel on Windows: the file's name, encoding,
separator, blank rows, header spellings, speaker ids and Windows paths."""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.cli import main
from ser_hf.data.corpora import corpus_summary, load_corpus
from ser_hf.errors import SERError

SR = 16000
LABELS = ("calm", "angry", "tense")
SPEAKERS = ("001", "002", "003")


def clips(root: Path, sub: str = "audio") -> list[tuple[str, str, str, str]]:
    """Two 0.3-s clips of each label for each speaker under ``root/sub``: (file, label, speaker, gender)."""
    (root / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for s, spk in enumerate(SPEAKERS):
        for k, label in enumerate(LABELS):
            for i in range(2):
                name = f"clip_{s}_{k}_{i}.wav"
                sf.write(
                    root / sub / name, make_speechlike(0.3, f0=110 + 40 * k, seed=100 * s + 10 * k + i), SR
                )
                rows.append((f"{sub}/{name}", label, spk, "female" if s % 2 else "male"))
    return rows


def write(root: Path, lines: list[str], name: str = "metadata.csv", encoding: str = "utf-8") -> Path:
    (root / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return root


def table(rows, sep: str = ",", header: str = "file_name,label,speaker,gender") -> list[str]:
    return [header.replace(",", sep)] + [sep.join(r) for r in rows]


def speakers(ds) -> Counter:
    return Counter(ds["speaker"])


def test_a_workbook_is_refused_and_metadata_csv_is_found_whatever_its_case_or_as_tsv(tmp_path, caplog):
    """A metadata.xlsx next to speaker folders was ignored and the speakers became the labels
    (training scored UA 1.000 on the wrong task); Metadata.csv or metadata.tsv: one label 'audio'."""
    root = tmp_path / "xlsx"
    for spk in ("ana", "ben"):
        for k in range(2):
            (root / spk).mkdir(parents=True, exist_ok=True)
            sf.write(root / spk / f"{k}.wav", make_speechlike(0.3, seed=k), SR)
    (root / "metadata.xlsx").write_bytes(b"PK\x03\x04 not read")
    with pytest.raises(SERError, match=r"metadata.xlsx: .*save it as CSV UTF-8: metadata.csv"):
        load_corpus("mine", str(root))

    for name, sep in (("Metadata.csv", ","), ("metadata.tsv", "\t")):
        folder = tmp_path / name
        rows = clips(folder)
        write(folder, table(rows, sep), name=name)
        ds = load_corpus("mine", str(folder))
        assert ds.features["emotion"].names == sorted(LABELS)
        assert set(speakers(ds)) == {f"mine_{s}" for s in SPEAKERS}
    # two tables: the one read is said, with the other left out (one was read without a word)
    write(tmp_path / "Metadata.csv", table(rows[:4]), name="metadata.csv")
    with caplog.at_level(logging.WARNING):
        assert len(load_corpus("mine", str(tmp_path / "Metadata.csv"))) == 4
    assert "reading metadata.csv; left out the other metadata table(s) ['Metadata.csv']" in caplog.text


def test_speaker_ids_are_stripped_and_ids_written_two_ways_are_warned_of(tmp_path, caplog):
    """'001 ' and '001' were two speakers (one person in training and in test of a split called
    speaker-independent); Excel's 1 for 001 likewise, without a word."""
    rows = clips(tmp_path / "space")
    spaced = [(f, lab, spk + (" " if i % 3 == 0 else ""), g) for i, (f, lab, spk, g) in enumerate(rows)]
    ds = load_corpus("mine", str(write(tmp_path / "space", table(spaced))))
    assert set(speakers(ds)) == {"mine_001", "mine_002", "mine_003"}

    rows = clips(tmp_path / "zeros")
    excel = [(f, lab, spk.lstrip("0") if i % 2 else spk, g) for i, (f, lab, spk, g) in enumerate(rows)]
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", str(write(tmp_path / "zeros", table(excel))))
    assert "speakers '1' and '001'" in caplog.text and "look like one person written two ways" in caplog.text
    assert "kept apart" in caplog.text
    assert {"mine_1", "mine_001"} <= set(speakers(ds))  # ids as written: existing splits keep their ids

    # in another case, or with other punctuation: one person in training and in test, without a word
    rows = clips(tmp_path / "case")
    cased = [(f, lab, f"SPK{spk}" if i % 2 else f"spk_{spk}", g) for i, (f, lab, spk, g) in enumerate(rows)]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", str(write(tmp_path / "case", table(cased))))
    assert "speakers 'SPK001' and 'spk_001'" in caplog.text and "in another case" in caplog.text
    assert "'SPK002' and 'spk_002'" in caplog.text and "kept apart" in caplog.text


def test_rows_with_an_empty_speaker_cell_beside_named_speakers_are_said_and_not_split_by_speaker(
    tmp_path, caplog
):
    """Blank speaker cells formed one pseudo-speaker of clips from every speaker: cv tested on it while
    its people trained, and called the folds speaker-independent, without a word."""
    from ser_hf.data.folds import leave_one_speaker_out, random_stratified_split, speaker_kfold

    rows = clips(tmp_path)
    blanked = [(f, lab, "" if i % 4 == 0 else spk, g) for i, (f, lab, spk, g) in enumerate(rows)]
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", str(write(tmp_path, table(blanked))))
    n = sum(not spk for _, _, spk, _ in blanked)
    assert f"{n} of {len(rows)} row(s) have an empty 'speaker' cell" in caplog.text
    assert "mine_unknown" in set(speakers(ds))
    # its clips are of men and women: not one more woman (the last row's gender) in the summary
    assert corpus_summary(ds)["speakers_per_gender"] == {"female": 1, "male": 2, "mixed": 1}
    for split in (lambda: speaker_kfold(ds, 2), lambda: leave_one_speaker_out(ds)):
        with pytest.raises(
            SERError, match=rf"corpus mine: {n} row\(s\) have no speaker id .* beside 3 named"
        ):
            split()
    assert random_stratified_split(ds).speaker_independent is False  # by clip: still possible


def test_files_listed_without_their_folder_are_said_with_the_path_to_list(tmp_path, caplog):
    """metadata.csv listing clip.wav for audio/clip.wav: "found 0 audio files" after "N audio files in
    the folder are not in metadata.csv ... add a row for each", though each had one."""
    rows = clips(tmp_path)
    bare = [(f.split("/")[-1], lab, spk, g) for f, lab, spk, g in rows]
    with caplog.at_level(logging.WARNING), pytest.raises(SERError, match="found 0 audio files"):
        load_corpus("mine", str(write(tmp_path, table(bare))))
    first = bare[0][0]
    assert (
        f"{len(rows)} file(s) metadata.csv lists are not where it says but elsewhere in the folder, e.g. "
        f"{first!r} is at audio/{first}: its paths are relative to its own folder, so list that one as "
        f"audio/{first}" in caplog.text
    )
    assert "add a row for each" not in caplog.text


def test_blank_rows_excel_writes_at_the_end_are_not_files(tmp_path, caplog):
    """`,,,,` lines were counted as a file (the corpus folder, 'missing') and as a file listed again."""
    for sep in (",", ";"):
        folder = tmp_path / f"trail{sep == ';'}"
        rows = clips(folder)
        lines = [line + sep for line in table(rows, sep)] + [sep * 4] * 3
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            ds, report = load_corpus("mine", str(write(folder, lines)), return_report=True)
        assert len(ds) == len(rows) and report.files_found == len(rows) and not report.skipped
        assert "again" not in caplog.text and "skipped" not in caplog.text


def test_windows_paths_in_the_file_column(tmp_path, capsys):
    r"""audio\clip.wav, C:\data\audio\clip.wav and Clip.WAV were all 'listed but missing', with advice
    about the label scheme and a pointer to `ser-hf corpus`, which failed the same way."""
    rows = clips(tmp_path / "bs")
    ds = load_corpus(
        "mine", str(write(tmp_path / "bs", table([(f.replace("/", "\\"), *r) for f, *r in rows])))
    )
    assert len(ds) == len(rows)

    rows = clips(tmp_path / "abs")
    write(tmp_path / "abs", table([("C:\\data\\calls\\" + f.replace("/", "\\"), *r) for f, *r in rows]))
    with pytest.raises(SERError, match=r"as a Windows path.*relative to the metadata.csv folder") as err:
        load_corpus("mine", str(tmp_path / "abs"))
    assert "clip_0_0_0.wav" in str(err.value) and "label scheme" not in str(err.value)

    rows = clips(tmp_path / "case")  # as on the Windows disk that wrote the list: the files on disk
    write(
        tmp_path / "case",
        table([(f.replace("clip_", "Clip_").replace(".wav", ".WAV"), *r) for f, *r in rows]),
    )
    assert main(["corpus", "mine", str(tmp_path / "case")]) == 0
    assert f"{len(rows)} rows from {len(rows)} audio files" in capsys.readouterr().out


def test_header_names_match_whatever_their_case_spaces_or_underscores(tmp_path, caplog, capsys):
    """`Speaker`/`Gender` were not found (one speaker, a warning blind to the column); `File Name` and
    `Emotion ` failed with an error that did not list the columns found."""
    rows = clips(tmp_path / "hdr")
    write(tmp_path / "hdr", table(rows, header="File Name,Emotion ,Speaker,Gender"))
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("mine", str(tmp_path / "hdr"))
    assert set(speakers(ds)) == {f"mine_{s}" for s in SPEAKERS} and set(ds["gender"]) == {"female", "male"}
    assert "no speaker column" not in caplog.text

    write(tmp_path / "hdr", table(rows, header="File Name,Emotion,Speaker,Sex (m/f)"))
    assert main(["corpus", "mine", str(tmp_path / "hdr"), "--gender-column", "sex (M/F)", "--json"]) == 0
    assert '"female": 6' in capsys.readouterr().out

    write(tmp_path / "hdr", table(rows, header="clip,mood,Speaker,Gender"))
    with pytest.raises(SERError, match=r"columns are \['clip', 'mood', 'Speaker', 'Gender'\]"):
        load_corpus("mine", str(tmp_path / "hdr"))


def test_excels_other_csvs_utf16_sep_line_and_a_comma_in_a_semicolon_header(tmp_path):
    """UTF-16 "Unicode Text" was read as Windows-1252, a `sep=;` first line gave the column error, and a
    comma in a semicolon file's header split every line on commas."""
    rows = clips(tmp_path / "c")
    variants = {
        "utf16": (table(rows, "\t"), "utf-16"),
        "sep": (["sep=;"] + table(rows, ";"), "utf-8"),
        "comma": (["file_name;label;speaker;gender (m, f)"] + table(rows, ";")[1:], "utf-8"),
    }
    for name, (lines, encoding) in variants.items():
        write(tmp_path / "c", lines, encoding=encoding)
        ds = load_corpus(
            "mine", str(tmp_path / "c"), gender_column="gender (m, f)" if name == "comma" else None
        )
        assert len(ds) == len(rows), name
        assert set(speakers(ds)) == {f"mine_{s}" for s in SPEAKERS}, name


def test_a_model_trained_before_ids_were_stripped_keeps_its_split_and_new_speakers_raise_no_alarm(tmp_path):
    """Stripping ids broke split.json of models trained on padded ids ('mine_001 '): --split model
    failed ('row 0 is ... the split expects ...') and --split unseen kept the training speakers. The
    'ids do not match' warning also fired on plain new speakers of the same corpus."""
    from ser_hf.data.folds import speaker_kfold
    from ser_hf.data.splits import Split, unmatched_speaker_ids
    from ser_hf.training.evaluation import seen_speakers

    rows = clips(tmp_path / "c")
    ds = load_corpus("mine", str(write(tmp_path / "c", table(rows))))
    split = speaker_kfold(ds, 3, seed=0, n_validation=1)[0]
    old = split.to_dict()  # as the loader wrote it before: the ids with a trailing space
    old.pop("row_ids_sha256")
    old["row_ids"] = [r.replace("/", " /", 1) for r in old["row_ids"]]
    for key in ("train_speakers", "validation_speakers", "test_speakers"):
        old[key] = [s + " " for s in old[key]]
    (tmp_path / "m").mkdir()
    Split.from_dict(old).to_json(tmp_path / "m" / "split.json")
    Split.from_json(tmp_path / "m" / "split.json").verify(ds)  # raised "the dataset differs"
    assert sorted(seen_speakers(tmp_path / "m", ds["speaker"])) == sorted(
        split.train_speakers + split.validation_speakers
    )
    record = {"train_speakers": ["mine_001", "mine_002"], "test_speakers": ["mine_003"]}
    assert unmatched_speaker_ids(record, ["mine_004", "mine_005"], ["mine"]) is None  # new speakers
    assert "written another way" in unmatched_speaker_ids(record, ["mine_1", "mine_2"], ["mine"])


def test_a_metadata_csv_with_a_header_alone_says_it_lists_no_files(tmp_path):
    """It said "needs a 'file_name' and a 'label' column; its columns are []" of a file that has them."""
    clips(tmp_path / "c")
    with pytest.raises(SERError, match="lists no files"):
        load_corpus("mine", str(write(tmp_path / "c", ["file_name,label,speaker"])))


def test_names_written_in_another_unicode_form_than_on_disk_are_the_files(tmp_path, caplog):
    """macOS writes `Zoë` decomposed (NFD), Excel and Windows composed (NFC): every clip of the speakers
    whose folders a Mac wrote was 'listed in metadata.csv but missing' (48 of 96 skipped, all the
    women), and the corpus became all male without an error."""
    root = tmp_path / "korpus"
    rows = []
    speakers_ = (
        ("Jürgen", "m", "NFC", "NFC"),
        ("Zoë Ångström", "w", "NFD", "NFC"),
        ("Ana Conceição", "w", "NFC", "NFD"),
    )
    for s, (speaker, gender, on_disk, listed) in enumerate(speakers_):  # the last: listed NFD, written NFC
        folder = root / "Aufnahmen" / unicodedata.normalize(on_disk, speaker)
        folder.mkdir(parents=True)
        for k, label in enumerate(LABELS):
            name = f"{label}_ß_Ärger.wav"
            sf.write(folder / unicodedata.normalize(on_disk, name), make_speechlike(0.3, seed=10 * s + k), SR)
            rows.append(
                (unicodedata.normalize(listed, f"Aufnahmen\\{speaker}\\{name}"), label, speaker, gender)
            )
    write(root, table(rows, ";"), encoding="utf-8-sig")
    with caplog.at_level(logging.INFO):
        ds, report = load_corpus("mine", str(root), return_report=True)
    assert len(ds) == 9 and not report.skipped
    assert Counter(ds["gender"]) == {"male": 3, "female": 6}
    assert all(Path(p).is_file() for p in ds["path"])
    assert "6 listed file(s) matched to a name on disk written in another Unicode form" in caplog.text
    assert "not in metadata.csv" not in caplog.text  # the files it lists are those on disk


def test_names_listed_in_another_case_than_on_disk_are_the_files(tmp_path, caplog, monkeypatch):
    """A metadata.csv made on Windows or macOS (names ignore case there) listing `Audio/Clip_0_0_1.WAV`
    for `audio/clip_0_0_1.wav` had those rows "listed in metadata.csv but missing": half the clips
    dropped. The one file matching a name whatever its case is that file (one warning counts them);
    folders are listed only for rows not there as written, each once."""
    from ser_hf.data import unicode_names

    listed_folders = []
    listing = unicode_names._listing
    monkeypatch.setattr(
        unicode_names, "_listing", lambda folder: listed_folders.append(folder) or listing(folder)
    )
    root = tmp_path / "mixed"
    rows = clips(root)
    mixed = [
        (f.replace("audio/clip_", "Audio/Clip_").replace(".wav", ".WAV") if i % 2 else f, *r)
        for i, (f, *r) in enumerate(rows)
    ]
    write(root, table(mixed))
    with caplog.at_level(logging.WARNING):
        ds, report = load_corpus("mine", str(root), return_report=True)
    assert len(ds) == len(rows) and not report.skipped
    names = ds.features["emotion"].names
    loaded = {Path(p).relative_to(root).as_posix(): names[e] for p, e in zip(ds["path"], ds["emotion"])}
    assert loaded == {f: label for f, label, *_ in rows}
    assert "9 listed file(s) matched to the one file on disk named so in another case" in caplog.text
    assert "e.g. Audio/Clip_0_0_1.WAV -> audio/clip_0_0_1.wav" in caplog.text
    assert "not in metadata.csv" not in caplog.text
    assert sorted(listed_folders) == [root, root / "audio"]  # each folder once, for 9 rows
    listed_folders.clear()
    load_corpus("mine", str(write(root, table(rows))))  # all as on disk: no folder listed
    assert listed_folders == []


def test_two_files_that_differ_only_in_case_are_not_guessed_between(tmp_path, caplog):
    """`clip.wav` and `Clip.wav` can both be on a Linux disk: a row naming `CLIP.WAV` names neither,
    and says both; a row naming one of them exactly is that one."""
    root = tmp_path / "twins"
    rows = clips(root)
    for twin in ("Clip_0_0_0.wav", "CLIP_0_0_1.wav"):
        sf.write(root / "audio" / twin, make_speechlike(0.3, seed=7), SR)
    write(root, table([("audio/CLIP_0_0_0.WAV", *rows[0][1:])] + rows[1:]))
    with caplog.at_level(logging.WARNING):
        ds, report = load_corpus("mine", str(root), return_report=True)
    assert len(ds) == len(rows) - 1 and str(root / "audio" / "clip_0_0_1.wav") in ds["path"]
    [skipped] = report.skipped
    assert skipped.path.endswith("audio/CLIP_0_0_0.WAV")
    assert "2 names on disk match it whatever their case: audio/Clip_0_0_0.wav, audio/clip_0_0_0.wav" in (
        skipped.reason
    )
    assert "matched to the one file on disk" not in caplog.text  # the exact name won, no guess made


def test_audio_files_the_metadata_does_not_list_are_counted(tmp_path, caplog, capsys):
    """A metadata.csv listing 12 of a folder's 18 clips printed "12 rows from 12 audio files ...
    skipped 0 files": the 6 others were left out without a word."""
    rows = clips(tmp_path / "part")
    write(tmp_path / "part", table(rows[:12]))
    with caplog.at_level(logging.WARNING):
        ds, report = load_corpus("mine", str(tmp_path / "part"), return_report=True)
    assert len(ds) == 12
    assert "6 audio files in the folder are not in metadata.csv, e.g. audio/clip_2_0_0.wav" in caplog.text
    assert "add a row for each" in caplog.text
    assert main(["corpus", "mine", str(tmp_path / "part")]) == 0
    out = capsys.readouterr().out
    assert "excluded 6: audio files in the folder not in metadata.csv (add a row for each" in out


def test_listed_files_are_not_counted_unlisted_under_another_spelling_or_through_a_folder_link(
    tmp_path, caplog
):
    """On macOS (names Unicode-form-insensitive) and case-insensitive disks a listed ``Zoë.wav`` (NFC) or
    ``Clip.WAV`` is the file on disk named ``Zoë.wav`` (NFD) or ``clip.wav``, but the unlisted count
    compared the names: loaded files were said to be "not in metadata.csv, they are not loaded". Linux
    compares bytes, so the names as listed are links here, leading to the files on disk (as the file
    system would). And a folder link inside the corpus (followed by the scan) counted its files twice."""
    from ser_hf.data.rows import CorpusReport
    from ser_hf.data.sources import _count_unlisted

    root, alias = tmp_path / "disk", tmp_path / "as_listed"
    root.mkdir()
    alias.mkdir()
    for k, (on_disk, listed) in enumerate(
        [
            (unicodedata.normalize("NFD", "Zoë.wav"), unicodedata.normalize("NFC", "Zoë.wav")),
            ("clip.wav", "Clip.WAV"),
        ]
    ):
        sf.write(root / on_disk, make_speechlike(0.3, seed=k), SR)
        (alias / listed).symlink_to(root / on_disk)
    entries = [(alias / name, "angry", "s1", None, name) for name in sorted(p.name for p in alias.iterdir())]
    report = CorpusReport(corpus="mine", data_dir=str(root), label_scheme="native")
    with caplog.at_level(logging.WARNING):
        _count_unlisted(entries, root, "metadata.csv", report)
    assert not report.excluded and "not in metadata.csv" not in caplog.text
    # a folder link: its files are the listed ones, and an unlisted file reached twice counts once
    rows = clips(tmp_path / "linked")
    write(tmp_path / "linked", table(rows[:12]))
    (tmp_path / "linked" / "again").symlink_to(tmp_path / "linked" / "audio", target_is_directory=True)
    with caplog.at_level(logging.WARNING):
        ds, report = load_corpus("mine", str(tmp_path / "linked"), return_report=True)
    assert len(ds) == 12 and list(report.excluded.values()) == [6]
    assert "6 audio files in the folder are not in metadata.csv" in caplog.text


def test_a_metadata_table_lacking_its_file_column_is_told_that_one_only(tmp_path):
    """Polish headers (plik, emocja, mówca) with --label-column emocja: the error said the table "needs
    a 'file_name' and a 'label' (or 'emotion') column", though the label column was given and found."""
    corpus = tmp_path / "pl"
    corpus.mkdir()
    (corpus / "metadata.csv").write_text("plik,emocja,mówca\na.wav,złość,m1\n", encoding="utf-8")
    with pytest.raises(SERError) as err:
        load_corpus("pl", corpus, label_column="emocja")
    message = str(err.value)
    assert "needs a 'file_name' (or 'path', 'file', 'audio') column (--audio-column names another)" in message
    assert "label" not in message.split(";")[0]
    assert "its columns are ['plik', 'emocja', 'mówca']" in message
