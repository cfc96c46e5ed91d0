"""``ser-hf train --hp-search N``: Optuna trials through ``Trainer.hyperparameter_search``, scored on
validation speakers only; the best values train the final model; the trials table is written."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
from test_training import TINY_FEATURES, TINY_MODEL, make_ravdess_tree

from ser_hf.cli import train as train_cli
from ser_hf.errors import SERError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_ravdess_tree(tmp_path_factory.mktemp("ravdess"), seconds=0.6)


def test_search_then_train_with_the_best_values(corpus, tmp_path):
    out = tmp_path / "run"
    argv = ["--corpus", f"ravdess={corpus}", "--split", "loso:06", "--num_val_speakers", "1"]
    argv += [
        "--preset",
        "seed-logmel-bilstm",
        "--config_overrides",
        TINY_MODEL,
        "--feature_overrides",
        TINY_FEATURES,
    ]
    argv += ["--num_train_epochs", "2", "--max_seconds", "0.5", "--output_dir", str(out), "--use_cpu", "true"]
    argv += ["--disable_tqdm", "true", "--hp-search", "3", "--seed", "3"]
    assert train_cli.cli(argv) == 0

    with open(out / "hp_search_trials.csv") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 3 and all(t["state"] == "COMPLETE" for t in trials)
    assert len({t["learning_rate"] for t in trials}) == 3  # the sampler proposed different values
    summary = json.loads((out / "hp_search.json").read_text())
    best = max(trials, key=lambda t: float(t["validation_ua"]))
    assert summary["best_validation_ua"] == pytest.approx(float(best["validation_ua"]))
    assert summary["best"]["learning_rate"] == pytest.approx(float(best["learning_rate"]))
    # the final run used the best trial's values, and its folder is a normal model folder
    final_args = json.loads((out / "train_args.json").read_text())["training"]
    assert final_args["learning_rate"] == pytest.approx(summary["best"]["learning_rate"])
    config = json.loads((out / "config.json").read_text())
    assert config["label_smoothing"] == pytest.approx(summary["best"]["label_smoothing"])
    # the final run starts as the best trial did (its batch size, not the last trial's) and
    # reaches the same best validation UA
    state = json.loads(sorted(out.glob("checkpoint-*/trainer_state.json"))[-1].read_text())
    assert state["train_batch_size"] == summary["best"]["per_device_train_batch_size"]
    val = json.loads((out / "val_metrics.json").read_text())
    assert val["ua"] == pytest.approx(summary["best_validation_ua"])
    # the test speaker never took part in the search: it is scored once, at the end
    assert json.loads((out / "test_metrics.json").read_text())["speakers"] == ["ravdess_06"]
    assert not list(out.glob("hp-trial-*")), "trial checkpoints are removed"
    # a --resume of another run (other data) is refused, and the finished run's checkpoints stay (the
    # refusal came after a fresh run's removal of them)
    kept = sorted(p.name for p in out.glob("checkpoint-*"))
    with pytest.raises(SERError, match="another run.*data"):
        train_cli.cli([*("0.4" if a == "0.5" else a for a in argv), "--resume", "true"])
    assert kept and sorted(p.name for p in out.glob("checkpoint-*")) == kept


def test_search_needs_a_trainer_preset(corpus, tmp_path):
    argv = ["--corpus", f"ravdess={corpus}", "--split", "loso:06", "--preset", "speech-stats"]
    with pytest.raises(SERError, match="hp-search"):
        train_cli.cli([*argv, "--output_dir", str(tmp_path / "x"), "--hp-search", "2"])
    # said before the corpus loads (a probe: after every clip had decoded): a folder that is not there
    # is not reached
    missing = ["--corpus", f"ravdess={tmp_path / 'nowhere'}", *argv[2:]]
    with pytest.raises(SERError, match="already choose their regularisation"):
        train_cli.cli([*missing, "--output_dir", str(tmp_path / "y"), "--hp-search", "2"])


def _trials(out: Path) -> list[dict[str, str]]:
    with open(out / "hp_search_trials.csv") as f:
        return list(csv.DictReader(f))


def _tiny_search(corpus: Path, out: Path, trials: int) -> list[str]:
    """`ser-hf train` of a tiny seed-logmel-bilstm into ``out`` with a search of ``trials`` trials."""
    argv = ["--corpus", f"ravdess={corpus}", "--split", "loso:06", "--num_val_speakers", "1"]
    argv += ["--preset", "seed-logmel-bilstm", "--config_overrides", TINY_MODEL]
    argv += ["--feature_overrides", TINY_FEATURES, "--num_train_epochs", "1", "--max_seconds", "0.5"]
    argv += ["--output_dir", str(out), "--use_cpu", "true", "--disable_tqdm", "true"]
    return [*argv, "--hp-search", str(trials), "--seed", "3"]


def test_an_interrupted_search_keeps_its_trials_and_resume_runs_the_rest(
    corpus, tmp_path, monkeypatch, caplog
):
    from ser_hf.training import hp_search

    out = tmp_path / "run"
    argv = _tiny_search(corpus, out, 3)
    space, trained = hp_search.hp_space, set()

    def ctrl_c_in_trial_2(trial):
        if trial.number == 2:
            raise KeyboardInterrupt
        trained.add(trial.number)
        return space(trial)

    monkeypatch.setattr(hp_search, "hp_space", ctrl_c_in_trial_2)
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # what optuna's own handler prints (it may not propagate to caplog)
    logging.getLogger("optuna").addHandler(handler)
    try:
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C during the third trial
            train_cli.cli(argv)
    finally:
        logging.getLogger("optuna").removeHandler(handler)
    # optuna names the stopped trial, without a 30-line traceback
    stopped = [r for r in seen if "Trial 2 failed with parameters" in r.getMessage()]
    assert stopped and "KeyboardInterrupt" in stopped[0].getMessage()
    assert all(r.exc_info is None and r.exc_text is None for r in stopped)
    before = _trials(out)
    assert [t["state"] for t in before] == ["COMPLETE", "COMPLETE", "FAIL"]
    assert not (out / "config.json").exists()  # no final model yet
    # a resume with other data is refused before any trial trains
    trained.clear()
    with pytest.raises(SERError, match="another run.*data"):
        train_cli.cli([*("0.4" if a == "0.5" else a for a in argv), "--resume", "true"])
    assert not trained
    # the same command with --resume trains only the missing trial, then the final model
    monkeypatch.setattr(hp_search, "hp_space", lambda trial: trained.add(trial.number) or space(trial))
    assert train_cli.cli([*argv, "--resume", "true"]) == 0
    assert trained == {3}
    after = _trials(out)
    assert after[:2] == before[:2]  # the finished trials were kept, not rerun
    assert [t["state"] for t in after] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    values = [
        {k: v for k, v in t.items() if k not in ("trial", "state", "validation_ua", "seconds")} for t in after
    ]
    assert values[3] and values[3] not in values[:3]  # new values (the reseeded sampler replayed trial 0's)
    summary = json.loads((out / "hp_search.json").read_text())
    best = max((t for t in after if t["state"] == "COMPLETE"), key=lambda t: float(t["validation_ua"]))
    assert summary["best_validation_ua"] == pytest.approx(float(best["validation_ua"]))
    assert (out / "config.json").exists()
    # a larger search resumed over a finished one: the final model was resumed from the old final run's
    # last checkpoint (trained no further) and saved under the new best values; now it trains afresh
    with caplog.at_level(logging.INFO, logger="ser_hf.training"):
        assert (
            train_cli.cli(
                [
                    *[
                        ("4" if a == "3" and i and argv[i - 1] == "--hp-search" else a)
                        for i, a in enumerate(argv)
                    ],
                    "--resume",
                    "true",
                ]
            )
            == 0
        )
    assert "resuming from" not in caplog.text and "the final model trains afresh" in caplog.text
    assert trained == {3, 4}


def test_a_pruned_trial_counts_among_the_n_and_resume_does_not_rerun_it(
    corpus, tmp_path, monkeypatch, caplog
):
    """Optuna's pruner stops a trial whose validation UA lags the others': a finished trial, as in
    Optuna. It once counted as missing: every search with a pruned trial warned that it had stopped
    part-way, and each --resume ran more trials (pruned in turn) without ever reaching N."""
    import optuna

    from ser_hf.training import hp_search

    out = tmp_path / "run"
    argv = _tiny_search(corpus, out, 2)
    space, trained = hp_search.hp_space, []

    def prune_trial_0(trial):  # as the pruner does, from inside the trial's training
        trained.append(trial.number)
        if trial.number == 0:
            raise optuna.TrialPruned()
        return space(trial)

    monkeypatch.setattr(hp_search, "hp_space", prune_trial_0)
    with caplog.at_level(logging.INFO, logger="ser_hf.training"):
        assert train_cli.cli(argv) == 0
    assert [t["state"] for t in _trials(out)] == ["PRUNED", "COMPLETE"]
    assert "stopped with" not in caplog.text  # nothing was interrupted
    assert "best of 2 trials (1 pruned)" in caplog.text
    summary = json.loads((out / "hp_search.json").read_text())
    assert summary["n_pruned"] == 1 and summary["best_trial"] == 1
    # the search is whole: --resume runs no trial again, only the final model
    trained.clear()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ser_hf.training"):
        assert train_cli.cli([*argv, "--resume", "true"]) == 0
    assert trained == [] and "stopped with" not in caplog.text
    assert "2 of the search's trials are finished (1 of them pruned)" in caplog.text
    assert [t["state"] for t in _trials(out)] == ["PRUNED", "COMPLETE"]
