"""Speaker-independent splits on metadata only: disjointness, gender balance, determinism,
manifest round-trip, the exact RAVDESS protocol folds, the random split's warning."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from ser_hf.data.folds import (
    leave_one_corpus_out,
    leave_one_speaker_out,
    random_stratified_split,
    ravdess_protocol_folds,
    speaker_kfold,
    validation_speakers,
)
from ser_hf.data.splits import Split, SplitManifest, load_splits, save_splits
from ser_hf.errors import SERError

EMOTIONS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def _ravdess_columns(clips_per_emotion: int = 2) -> dict[str, list]:
    """RAVDESS-like metadata: 24 actors (odd male) x 8 emotions x ``clips_per_emotion``."""
    cols: dict[str, list] = {k: [] for k in ("speaker", "gender", "emotion", "corpus", "path")}
    for actor in range(1, 25):
        for e, emotion in enumerate(EMOTIONS):
            for rep in range(clips_per_emotion):
                cols["speaker"].append(f"ravdess_{actor:02d}")
                cols["gender"].append("male" if actor % 2 else "female")
                cols["emotion"].append(emotion)
                cols["corpus"].append("ravdess")
                cols["path"].append(
                    f"/data/Actor_{actor:02d}/03-01-{e + 1:02d}-01-01-{rep + 1:02d}-{actor:02d}.wav"
                )
    return cols


def _corpus(name: str, speakers: dict[str, str], clips: int = 6) -> dict[str, list]:
    cols: dict[str, list] = {k: [] for k in ("speaker", "gender", "emotion", "corpus", "path")}
    for spk, gender in speakers.items():
        for i in range(clips):
            cols["speaker"].append(f"{name}_{spk}")
            cols["gender"].append(gender)
            cols["emotion"].append(EMOTIONS[i % 4])
            cols["corpus"].append(name)
            cols["path"].append(f"/{name}/{spk}_{i}.wav")
    return cols


def _concat(*parts: dict[str, list]) -> dict[str, list]:
    return {k: sum((p[k] for p in parts), []) for k in parts[0]}


def _assert_disjoint(split: Split, cols: dict[str, list]) -> None:
    parts = {
        name: {cols["speaker"][i] for i in getattr(split, name)} for name in ("train", "validation", "test")
    }
    assert not (parts["train"] & parts["validation"]) and not (parts["train"] & parts["test"])
    assert not (parts["validation"] & parts["test"])
    assert parts["test"] == set(split.test_speakers) and parts["validation"] == set(split.validation_speakers)
    assert len(split.train) + len(split.validation) + len(split.test) == len(cols["speaker"])


def test_ravdess_protocol_folds_are_exact():
    cols = _ravdess_columns()
    folds = ravdess_protocol_folds(cols)
    assert len(folds) == 6
    gender = dict(zip(cols["speaker"], cols["gender"]))
    for k, split in enumerate(folds):
        assert split.test_speakers == [f"ravdess_{a:02d}" for a in range(4 * k + 1, 4 * k + 5)]
        assert len(split.validation_speakers) == 4 and len(split.train_speakers) == 16
        assert Counter(gender[s] for s in split.validation_speakers) == {"female": 2, "male": 2}
        assert not set(split.validation_speakers) & set(split.test_speakers)
        _assert_disjoint(split, cols)
        assert len(split.test) == 4 * 16
    # every actor is tested exactly once
    assert sorted(s for f in folds for s in f.test_speakers) == sorted(set(cols["speaker"]))
    assert ravdess_protocol_folds(cols, seed=0)[0].validation_speakers == folds[0].validation_speakers
    assert any(
        a.validation_speakers != b.validation_speakers
        for a, b in zip(folds, ravdess_protocol_folds(cols, seed=7))
    )
    missing = {k: [v for v, s in zip(vals, cols["speaker"]) if s != "ravdess_24"] for k, vals in cols.items()}
    with pytest.raises(SERError, match="missing \\[24\\]"):
        ravdess_protocol_folds(missing)


def test_ravdess_protocol_keeps_other_corpora_in_training_never_in_validation():
    """The default's recipe trains on RAVDESS + TESS: its 6-fold protocol adds TESS to every fold's
    training data, while validation (model choice) stays on RAVDESS actors and the test actors
    are those of the RAVDESS-only protocol."""
    ravdess = _ravdess_columns()
    cols = _concat(ravdess, _corpus("tess", {"oaf": "female", "yaf": "female"}))
    alone = ravdess_protocol_folds(ravdess, seed=5)
    for k, split in enumerate(ravdess_protocol_folds(cols, seed=5)):
        _assert_disjoint(split, cols)
        assert {"tess_oaf", "tess_yaf"} <= set(split.train_speakers)
        assert all(s.startswith("ravdess_") for s in split.validation_speakers)
        assert split.test_speakers == alone[k].test_speakers
        assert split.validation_speakers == alone[k].validation_speakers


def test_speaker_kfold_balances_gender_and_covers_every_speaker():
    speakers = {f"s{i:02d}": ("female" if i < 10 else "male") for i in range(20)}
    cols = _corpus("c", speakers)
    folds = speaker_kfold(cols, n_folds=5, seed=3)
    gender = dict(zip(cols["speaker"], cols["gender"]))
    assert sorted(s for f in folds for s in f.test_speakers) == sorted(set(cols["speaker"]))
    for split in folds:
        assert Counter(gender[s] for s in split.test_speakers) == {"female": 2, "male": 2}
        assert Counter(gender[s] for s in split.validation_speakers) == {"female": 2, "male": 2}
        _assert_disjoint(split, cols)
    again = speaker_kfold(cols, n_folds=5, seed=3)
    assert [f.to_dict() for f in folds] == [f.to_dict() for f in again]
    assert [f.test_speakers for f in folds] != [
        f.test_speakers for f in speaker_kfold(cols, n_folds=5, seed=4)
    ]
    # across corpora, each fold gets its share of each corpus too
    mixed = _concat(cols, _corpus("d", {f"t{i}": "male" for i in range(5)}))
    for split in speaker_kfold(mixed, n_folds=5, seed=0, n_validation=2):
        assert Counter(s.split("_")[0] for s in split.test_speakers) == {"c": 4, "d": 1}
    with pytest.raises(SERError):
        speaker_kfold(cols, n_folds=21)


def test_validation_speakers_come_from_training_only():
    gender = {f"m{i}": "male" for i in range(5)} | {f"f{i}": "female" for i in range(2)}
    picked = validation_speakers(list(gender), n=4, seed=0, speaker_gender=gender)
    assert set(picked) <= set(gender) and len(picked) == 4
    assert Counter(gender[s] for s in picked) == {"female": 2, "male": 2}
    picked = validation_speakers(list(gender), n=6, seed=0, speaker_gender=gender)
    assert Counter(gender[s] for s in picked) == {"female": 2, "male": 4}  # females run out
    assert validation_speakers(list(gender), n=3, seed=5, speaker_gender=gender) == validation_speakers(
        list(gender), n=3, seed=5, speaker_gender=gender
    )
    with pytest.raises(SERError, match="one must stay"):
        validation_speakers(list(gender), n=7)


def test_leave_one_speaker_and_corpus_out():
    cols = _concat(
        _corpus("savee", {"DC": "male", "JE": "male", "JK": "male", "KL": "male"}),
        _corpus("ravdess", {f"{a:02d}": ("male" if a % 2 else "female") for a in range(1, 7)}),
    )
    loso = leave_one_speaker_out(cols, n_validation=2)
    assert len(loso) == 10 and all(len(s.test_speakers) == 1 for s in loso)
    for split in loso:
        _assert_disjoint(split, cols)
    loco = leave_one_corpus_out(cols, "savee", n_validation=2)
    assert loco.test_speakers == ["savee_DC", "savee_JE", "savee_JK", "savee_KL"]
    assert all(s.startswith("ravdess_") for s in loco.train_speakers + loco.validation_speakers)
    _assert_disjoint(loco, cols)
    with pytest.raises(SERError, match="no rows of corpus"):
        leave_one_corpus_out(cols, "tess")


def test_leave_one_corpus_out_keeps_every_training_corpus_in_training():
    """TESS's two women beside a corpus of five men: gender-balanced validation would take both
    women and leave TESS out of training (found with the real Polish corpus, session 20)."""
    tess = _corpus("tess", {"OAF": "female", "YAF": "female"})
    polish = _corpus("polish", {f"m{i}": "male" for i in range(1, 6)})
    cols = _concat(_ravdess_columns(1), tess, polish)
    for seed in range(12):
        split = leave_one_corpus_out(cols, "ravdess", seed=seed)
        _assert_disjoint(split, cols)
        trained = {cols["corpus"][i] for i in split.train}
        assert trained == {"tess", "polish"}, (seed, split.validation_speakers)
        assert (
            len(split.validation_speakers) == 4
            and sum(s.startswith("tess") for s in split.validation_speakers) == 1
        )
    picked = validation_speakers(
        ["a_1", "b_1", "b_2"], 2, speaker_corpus={"a_1": "a", "b_1": "b", "b_2": "b"}
    )
    assert picked == ["b_1"] or picked == ["b_2"]  # a's only speaker and b's last one stay in training


def test_tess_two_speakers_warns(caplog):
    cols = _corpus("tess", {"OAF": "female", "YAF": "female"})
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        splits = leave_one_speaker_out(cols)
    assert "cannot support a speaker-independent split" in caplog.text
    assert [s.validation_speakers for s in splits] == [[], []]


def test_more_validation_than_training_speakers_is_named(caplog):
    """``ser-hf train`` on 6 speakers took the default 4 for validation and trained on 2, silently."""
    from ser_hf.data.folds import speaker_kfold

    cols = _corpus("own", {f"s{i}": ("female", "male")[i % 2] for i in range(8)})
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        speaker_kfold(cols, n_folds=4, n_validation=4)  # 6 training speakers a fold: 4 + 2
    assert "4 validation speakers leave 2 to train on; give fewer with --num-val-speakers" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        speaker_kfold(cols, n_folds=4, n_validation=2)
    assert "validation speakers leave" not in caplog.text


def test_random_split_warns_and_is_stratified(caplog):
    cols = _ravdess_columns(clips_per_emotion=5)
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        split = random_stratified_split(cols, seed=1)
    assert "SPEAKER-DEPENDENT" in caplog.text and "SPEAKER-DEPENDENT" in split.description
    assert not split.speaker_independent
    n = len(cols["speaker"])
    assert abs(len(split.train) - 0.7 * n) <= 2 and abs(len(split.test) - 0.15 * n) <= 2
    test_counts = Counter(cols["emotion"][i] for i in split.test)
    assert max(test_counts.values()) - min(test_counts.values()) <= 1  # stratified by emotion
    assert set(split.train_speakers) & set(split.test_speakers)  # it does leak speakers
    assert random_stratified_split(cols, seed=1).test == split.test


def test_split_refuses_overlapping_speakers():
    with pytest.raises(SERError, match="speaker independence"):
        Split("x", [0], [], [1], ["a"], [], ["a"], speaker_independent=True)
    with pytest.raises(SERError, match="two parts"):
        Split("x", [0, 1], [], [1], ["a"], [], ["b"], speaker_independent=False)


def test_manifest_round_trip_and_verify(tmp_path):
    cols = _ravdess_columns()
    folds = ravdess_protocol_folds(cols, seed=2)
    folds[0].to_json(tmp_path / "fold0.json")
    back = Split.from_json(tmp_path / "fold0.json")
    assert back == folds[0]
    back.verify(cols)
    save_splits(folds, tmp_path / "folds.json")
    loaded = load_splits(tmp_path / "folds.json")
    assert loaded == folds
    SplitManifest.from_json(tmp_path / "folds.json").verify(cols)
    # same corpus in another folder: same row ids (file names), still verifies
    moved = dict(cols, path=[p.replace("/data/", "/elsewhere/") for p in cols["path"]])
    loaded[0].verify(moved)
    shuffled = {k: v[::-1] for k, v in cols.items()}
    with pytest.raises(SERError, match="differs"):
        loaded[0].verify(shuffled)


def test_a_split_verified_on_its_corpus_under_another_name_says_so(caplog):
    """A probe scored the default on the speakers of its own split under another corpus name (`polish`
    for `polski`): the warning blamed "a speaker column read since ..., or ids edited"."""
    cols = _corpus("polski", {"m1": "male", "m2": "male", "m3": "male"})
    split = leave_one_speaker_out(cols, n_validation=1)[0]
    renamed = {**cols, "speaker": [x.replace("polski", "polish") for x in cols["speaker"]]}
    renamed["corpus"] = ["polish"] * len(cols["corpus"])
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        split.verify(renamed)
    assert (
        "the corpus is named 'polish' here and was 'polski' (speaker ids begin with its name)" in caplog.text
    )
    caplog.clear()
    edited = {**cols, "speaker": [x.replace("m1", "M01") for x in cols["speaker"]]}
    with caplog.at_level(logging.WARNING, logger="ser_hf.data"):
        split.verify(edited)
    assert "or ids edited" in caplog.text and "is named" not in caplog.text


def test_splits_read_metadata_without_decoding_audio(tmp_path):
    from datasets import Audio, ClassLabel, Dataset, Features, Value

    cols = _ravdess_columns(clips_per_emotion=1)
    features = Features(
        {
            "audio": Audio(sampling_rate=16000),
            "path": Value("string"),
            "emotion": ClassLabel(names=EMOTIONS),
            "speaker": Value("string"),
            "gender": Value("string"),
            "corpus": Value("string"),
        }
    )
    # the audio paths do not exist: any decoding attempt would raise
    ds = Dataset.from_dict(dict(cols, audio=cols["path"]), features=features)
    folds = ravdess_protocol_folds(ds)
    assert folds == ravdess_protocol_folds(cols)
    test = ds.select(folds[0].test)
    assert set(test["speaker"]) == {"ravdess_01", "ravdess_02", "ravdess_03", "ravdess_04"}
    split = random_stratified_split(ds)
    assert Counter(ds.features["emotion"].int2str(ds["emotion"][i]) for i in split.test)["calm"] >= 3


def test_split_none_records_its_rows_so_a_manifest_of_it_is_checked(tmp_path):
    """``--split none`` wrote a split.json without row ids (every other split has them), so
    ``--split manifest:split.json`` on other or reordered data trained without a word."""
    from datasets import Dataset

    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import make_split

    cols = _ravdess_columns(1)
    split = make_split(Dataset.from_dict(cols), DataArguments(split="none", num_val_speakers=2), seed=0)
    assert len(split.train) + len(split.validation) == len(cols["path"]) and not split.test
    split.to_json(tmp_path / "split.json")
    shuffled = Dataset.from_dict({k: v[::-1] for k, v in cols.items()})
    with pytest.raises(SERError, match="differs"):
        make_split(shuffled, DataArguments(split=f"manifest:{tmp_path / 'split.json'}"), seed=0)


@pytest.mark.parametrize(
    ("spec", "speakers", "sizes"),
    [("kfold:0/5", 5, (2, 2)), ("loso:own_s00", 6, (3, 2)), ("none", 5, (3, 2)), ("kfold:0/4", 24, (14, 4))],
)
def test_validation_speakers_not_asked_for_are_at_most_half_the_training_ones(caplog, spec, speakers, sizes):
    """A probe's 5-speaker corpus with README's command (`--split kfold:0/5`, validation not given):
    the fixed default 4 gave 3 validation speakers and ONE to train on, in every fold of `ser-hf cv`.
    Not asked for, the count is 4 at most half a fold's training speakers; asked for, it is kept."""
    from datasets import Dataset

    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import make_split

    ds = Dataset.from_dict(_corpus("own", {f"s{i:02d}": ("female", "male")[i % 2] for i in range(speakers)}))
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        split = make_split(ds, DataArguments(split=spec), seed=0)
    assert (len(split.train_speakers), len(split.validation_speakers)) == sizes
    assert "validation speakers leave" not in caplog.text
    if spec == "kfold:0/5":  # asked for: as given, and warned of
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            split = make_split(ds, DataArguments(split=spec, num_val_speakers=3), seed=0)
        assert (len(split.train_speakers), len(split.validation_speakers)) == (1, 3)
        assert "3 validation speakers leave 1 to train on" in caplog.text


def test_a_split_error_starts_with_the_option_not_its_bare_value():
    """`ser-hf train --corpus ravdess=DIR` on 4 actors said "none: validation_speakers: cannot take 4
    validation speakers ...": the --split value and a function's name before the message."""
    from datasets import Dataset

    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import make_split

    ds = Dataset.from_dict(_corpus("own", {f"s{i:02d}": ("female", "male")[i % 2] for i in range(4)}))
    with pytest.raises(SERError) as err:
        make_split(ds, DataArguments(split="none", num_val_speakers=4), seed=0)
    assert str(err.value).startswith("--split none: cannot take 4 validation speakers from 4"), err.value
    assert "--num-val-speakers" in str(err.value)
    with pytest.raises(SERError, match=r"^--split nonsense: unknown split; use ravdess-fold:K"):
        make_split(ds, DataArguments(split="nonsense"), seed=0)


def test_speaker_kfold_description_numbers_folds_as_the_command_does():
    # kfold:0/4 was described as "speaker k-fold 1/4" while its command and "fold" said 0
    cols = _corpus("c", {f"s{i:02d}": ("female" if i < 4 else "male") for i in range(8)})
    folds = speaker_kfold(cols, n_folds=4, seed=0, n_validation=2)
    assert folds[0].fold == 0
    assert "speaker k-fold 0 of 4 (kfold:0/4" in folds[0].description
    assert "kfold:3/4" in folds[3].description and "1/4" not in folds[0].description


def test_loso_warns_about_the_validation_of_the_fold_it_uses_only(caplog):
    """`ser-hf evaluate --split loso:s03` on 6 speakers with 4 validation speakers logged "4 validation
    speakers leave 1 to train on" for every speaker's fold (6 warnings), not only for the one used."""
    from datasets import Dataset

    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import make_split

    cols = _corpus("own", {f"s{i:02d}": ("female", "male")[i % 2] for i in range(6)})
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        split = make_split(
            Dataset.from_dict(cols), DataArguments(split="loso:s03", num_val_speakers=4), seed=0
        )
    warned = [r.getMessage() for r in caplog.records if "validation speakers leave" in r.getMessage()]
    assert warned == ["leave one speaker out: test own_s03: 4 validation speakers leave 1 to train on; give "
                      "fewer with --num-val-speakers"]  # fmt: skip
    assert split.test_speakers == ["own_s03"]
    assert split == leave_one_speaker_out(cols, seed=0, n_validation=4)[3]  # the same fold as before


@pytest.mark.parametrize(
    ("spec", "n_val", "speakers", "full"),
    [
        ("kfold:1/3", 4, 6, lambda cols: speaker_kfold(cols, 3, seed=0, n_validation=4)[1]),
        ("ravdess-fold:2", 19, 24, lambda cols: ravdess_protocol_folds(cols, seed=0, n_validation=19)[2]),
    ],
)
def test_a_numbered_fold_warns_about_its_own_validation_only(caplog, spec, n_val, speakers, full):
    """`--split kfold:K/N` and `ravdess-fold:K` built every fold to pick one, logging each fold's
    "N validation speakers leave M to train on" (3 and 6 warnings), not only the used fold's."""
    from datasets import Dataset

    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import make_split

    name = "ravdess" if spec.startswith("ravdess") else "own"
    cols = _corpus(name, {f"{i:02d}": ("female", "male")[i % 2] for i in range(1, speakers + 1)})
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        split = make_split(Dataset.from_dict(cols), DataArguments(split=spec, num_val_speakers=n_val), seed=0)
    warned = [r.getMessage() for r in caplog.records if "validation speakers leave" in r.getMessage()]
    assert len(warned) == 1 and split.description in warned[0]
    caplog.clear()
    assert split == full(cols)  # the same fold as in the full list
    with pytest.raises(SERError, match="fold 3 does not exist"):
        make_split(Dataset.from_dict(cols), DataArguments(split="kfold:3/3"), seed=0)


def test_split_files_keep_non_ascii_speakers_readable(tmp_path):
    """`Split.to_json` and `SplitManifest.to_json` (the functionals cv's fold files) escaped `Zoë` as
    `Zo\\u00eb`, as training's own files did before; a file name's undecodable bytes still read back."""
    from ser_hf.data.splits import Split, SplitManifest

    split = Split(
        protocol="loso", train=[0, 1], validation=[2], test=[3], train_speakers=["Zoë", "李"],
        validation_speakers=["x\udcff"], test_speakers=["Jürgen"], speaker_independent=True,
        row_ids=["a", "b", "c", "d"],
    )  # fmt: skip
    one, many = tmp_path / "split.json", tmp_path / "manifest.json"
    split.to_json(one)
    SplitManifest([split], protocol="loso").to_json(many)
    for path in (one, many):
        text = path.read_text(encoding="utf-8")
        assert "Zoë" in text and "李" in text and "\\u00eb" not in text
    back = Split.from_json(one)
    assert back.train_speakers == ["Zoë", "李"] and back.validation_speakers == ["x\udcff"]
    assert SplitManifest.from_json(many).splits[0].test_speakers == ["Jürgen"]


@pytest.mark.parametrize("write", ["split", "manifest"])
def test_a_split_file_write_that_fails_leaves_the_old_file_whole(tmp_path, monkeypatch, write):
    """A full disk while `Split.to_json` / `save_splits` (the functionals cv's fold files) rewrote a split
    file left half of it: the old manifest was lost and the half read as broken JSON. Now it is written
    through a temporary file beside it: the old file stays whole, and no temporary file is left."""
    import errno
    import os
    from pathlib import Path

    cols = _ravdess_columns()
    folds = ravdess_protocol_folds(cols, seed=2)
    path = tmp_path / "split.json"

    def save(splits: list[Split]) -> None:
        if write == "split":
            splits[0].to_json(path)
        else:
            save_splits(splits, path)

    save(folds[:1])
    before = path.read_bytes()
    real_write_bytes = Path.write_bytes

    def full_disk(self, data, *args, **kwargs):  # half the bytes reach the disk, then it is full
        real_write_bytes(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left") as caught:
        save(folds[1:2])
    assert caught.value.filename == str(path)  # the file the user asked for, not the temporary one
    monkeypatch.setattr(Path, "write_bytes", real_write_bytes)
    assert path.read_bytes() == before and load_splits(path) == folds[:1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split.json"]
