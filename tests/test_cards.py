"""Every card the project publishes parses the way the Hub reads it: the model cards (the top-level
one and each bundled model's) with ``huggingface_hub.ModelCard``, the demo's Space header with
``SpaceCard``, the metric card with ``RepoCard``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, RepoCard, SpaceCard

REPO = Path(__file__).resolve().parents[1]
MODEL_CARDS = [REPO / "model_card.md", *sorted((REPO / "ser_hf" / "bundled").glob("*/README.md"))]


@pytest.mark.parametrize("path", MODEL_CARDS, ids=lambda p: str(p.relative_to(REPO)))
def test_model_cards_parse(path):
    card = ModelCard.load(path)
    data = card.data.to_dict()
    assert data.get("pipeline_tag") == "audio-classification", path
    assert data.get("license"), path
    assert card.text.strip().startswith("#"), "a body under the YAML header"


def _recorded_corpora(folder: Path) -> list[str]:
    """A bundle's training corpora as its run recorded them: ``train_args.json``'s ``--corpus NAME=PATH``,
    else the corpus prefixes of ``split.json``'s training speakers (the bundles trained before
    train_args.json was written)."""
    import json

    if (folder / "train_args.json").is_file():
        data = json.loads((folder / "train_args.json").read_text())["data"]
        return sorted({str(c).split("=", 1)[0] for c in data["corpus"]})
    split = json.loads((folder / "split.json").read_text())
    return sorted({str(s).rsplit("_", 1)[0] for s in split["train_speakers"]})


@pytest.mark.parametrize("path", MODEL_CARDS, ids=lambda p: str(p.relative_to(REPO)))
def test_model_cards_licence_is_what_the_card_generator_gives_for_their_training_data(path):
    """Nine bundled cards trained on RAVDESS (CC BY-NC-SA 4.0) and TESS (CC BY-NC-ND 4.0) said
    `license: cc-by-nc-sa-4.0`, and the default's `license_name` differed from `push --card-only`'s."""
    from ser_hf.hub.cards import _license_for, corpus_info, license_name_for

    folder = (
        path.parent
        if path.name == "README.md"
        else REPO / "ser_hf" / "bundled" / "turn_encoder_2_voices_crops"
    )
    corpora = _recorded_corpora(folder)
    assert corpora, folder
    data = ModelCard.load(path).data.to_dict()
    licence = _license_for(corpora)
    assert (data.get("license"), data.get("license_name")) == (licence, license_name_for(corpora, licence))
    assert sorted(data.get("datasets") or []) == corpora
    licence_section = path.read_text(encoding="utf-8").split("## Licen", 1)[1]
    assert all(corpus_info(c)["license_text"] in licence_section for c in corpora), "the prose names each"


def test_push_card_only_writes_the_default_cards_licence():
    """`ser-hf push --card-only` wrote `license_name: mixed-corpus-licences` for the default, whose
    bundled card says `cc-by-nc-sa-4.0-and-cc-by-nc-nd-4.0`."""
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import default_model_path

    generated = make_model_card(default_model_path(), "someone/ser-default").data
    bundled = ModelCard.load(default_model_path() / "README.md").data
    assert (generated.license, generated.license_name) == (bundled.license, bundled.license_name)
    assert generated.license_name == "cc-by-nc-nd-4.0-and-cc-by-nc-sa-4.0"


def test_the_space_header_parses_as_the_hub_reads_it():
    card = SpaceCard.load(REPO / "demo" / "README.md")
    data = card.data
    assert data.sdk == "gradio" and (REPO / "demo" / data.app_file).is_file()
    assert isinstance(data.short_description, str) and 0 < len(data.short_description) <= 60
    assert data.title and data.license and "audio-classification" in data.tags


def test_the_metric_card_parses():
    card = RepoCard.load(REPO / "ser_hf" / "training" / "ser_metrics" / "README.md")
    assert "evaluate" in card.data.to_dict()["tags"]


def test_a_generated_card_says_what_the_default_models_features_are():
    """A pushed copy of the default gets a card that names its features, not openSMILE."""
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path, default_model_path

    card = str(make_model_card(default_model_path(), "someone/ser-default", datasets=["ravdess", "tess"]))
    assert "1536 utterance functionals (`turn-encoder-2`: the mean and standard deviation" in card
    assert "first two transformer layers of a pretrained speech encoder fine-tuned on intonation" in card
    assert "smart-turn v3.2's Whisper-tiny encoder: Daily, BSD-2-Clause; OpenAI, MIT" in card
    assert "opensmile" not in card.lower()
    previous = make_model_card(bundled_model_path("speech-stats-mfcc-speech-voices"), "someone/ser-prev")
    assert "1558 utterance functionals (`speech-stats-mfcc-speech`: 7 statistics of 64 log-mel bands" in str(
        previous
    )


def test_a_generated_card_counts_the_trained_parameters_and_reports_the_folders_own_results():
    """Cards once said "trained from scratch" of a head on a frozen pretrained encoder, counted the
    encoder's shipped weights and the model's buffers as parameters, and ignored the folder's own
    test_metrics.json and split.json (the bundled fusion's card named "an unrecorded corpus" and no
    licence, although its split names RAVDESS actors)."""
    import json

    from ser_hf.hub.cards import find_metric, make_model_card
    from ser_hf.inference import EmotionClassifier
    from ser_hf.inference.bundled import bundled_model_path, default_model_path

    folder = default_model_path()
    card = make_model_card(folder, "someone/ser-default")
    text = str(card)
    model = EmotionClassifier(folder, device="cpu").backend.model
    assert f"({model.num_parameters():,} parameters) on the pooled states of a frozen pretrained" in text
    assert "trained from scratch" not in text
    own = json.loads((folder / "test_metrics.json").read_text())
    ua = next(r.metric_value for r in card.data.eval_results if r.metric_type == "recall")
    assert ua == round(find_metric(own, "recall"), 4) and "RAVDESS protocol fold 5" in text
    fusion = make_model_card(bundled_model_path("fusion"), "someone/ser-fusion")
    assert fusion.data.datasets == ["ravdess"] and fusion.data.license == "cc-by-nc-sa-4.0"
    assert "an unrecorded corpus" not in str(fusion)


def test_a_card_refuses_results_it_cannot_publish(tmp_path):
    import json
    import shutil

    from ser_hf.errors import SERError
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    folder = bundled_model_path("speech-stats")
    bad = {"a list": [1, 2], "nan": {"ua": float("nan")}, "over one": {"wa": 1.5}}
    for name, value in bad.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(value))
        with pytest.raises(SERError, match="JSON object|not a score"):
            make_model_card(folder, "someone/x", eval_json=path)
    with pytest.raises(SERError, match="not a JSON file"):
        make_model_card(folder, "someone/x", eval_json=tmp_path)  # a folder
    with pytest.raises(SERError, match="not a JSON file"):
        make_model_card(folder / "config.json", "someone/x")  # the config file for the folder
    copy = shutil.copytree(folder, tmp_path / "copy")
    config = json.loads((copy / "config.json").read_text())
    config.pop("id2label")
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(SERError, match="id2label"):
        make_model_card(copy, "someone/x")
    # ser-hf evaluate's results of another model went on this card (its figures, this model's name)
    other = {"ua": 0.75, "wa": 0.775, "model": str(bundled_model_path("speech-stats-pitch"))}
    with pytest.raises(SERError, match="results are of another model"):
        make_model_card(folder, "someone/x", eval_json=other)
    twin = shutil.copytree(folder, tmp_path / "twin")  # the same weights in another folder: its results
    for scored in (str(twin), "speech-stats", str(folder)):
        assert "0.750" in str(make_model_card(folder, "someone/x", eval_json={**other, "model": scored}))


def test_a_card_says_what_its_results_were_measured_on(tmp_path):
    """Results that include the model's own speakers were published as a held-out test; a
    cross-validation mean was labelled with one fold's split; a random clip split was said to keep
    test speakers out of training."""
    import json
    import shutil

    from ser_hf.errors import SERError
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    folder = bundled_model_path("speech-stats")
    seen = {"ua": 1.0, "wa": 1.0, "seen_speakers": ["ravdess_05", "ravdess_06"]}
    with pytest.raises(SERError, match="2 speaker.*--split unseen"):
        make_model_card(folder, "someone/x", eval_json=seen)
    protocol = "RAVDESS 6-fold speaker-independent protocol: fold k tests on actors 4k+1..4k+4"
    cv = {"meta": {"protocol": protocol}, "n_folds": 6, "mean": {"ua": 0.6}, "std": {"ua": 0.05}}
    text = str(make_model_card(folder, "someone/x", cv_json=cv))
    assert f"| {protocol} (mean over folds) | UA" in text and f"Protocol: **{protocol}**" in text
    assert "| value | std (sample, ddof=1, over folds) |" in text  # as cv_results.md says
    copy = shutil.copytree(folder, tmp_path / "random")
    split = json.loads((copy / "split.json").read_text())
    (copy / "split.json").write_text(json.dumps({**split, "speaker_independent": False}))
    text = str(make_model_card(copy, "someone/x"))
    assert "never seen in training" not in text and "overstate accuracy on new speakers" in text


def test_push_takes_a_bundled_models_name_and_the_card_names_the_speaker_head(capsys):
    """`ser-hf push --model default` failed with "default/config.json: file is missing" (evaluate,
    export and predict take the name); the default's card described one linear layer although its
    parameter count holds the second, used after adapt."""
    from ser_hf.cli import push

    args = ["--model", "default", "--repo-id", "someone/ser-default", "--card-only", "--regenerate-card"]
    assert push.cli(args) == 0
    card = capsys.readouterr().out
    assert "then one linear layer" in card and "replaces it after `adapt`" in card


def _front_matter_and_body(text: str) -> tuple[dict, str]:
    import yaml

    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def test_push_card_only_prints_the_default_models_own_card_not_a_rosier_generated_one(capsys):
    """`ser-hf push --model default --card-only` printed (and a push uploaded as README.md) a card
    generated from test_metrics.json, in-domain fold-5 UA 0.763 up front, in place of the card the
    default ships, whose cross-corpus results (where it fails) come first."""
    import re

    from ser_hf.cli import push
    from ser_hf.inference.bundled import default_model_path

    assert push.cli(["--model", "default", "--repo-id", "me/x", "--card-only"]) == 0
    printed = capsys.readouterr().out
    own_data, own_body = _front_matter_and_body((default_model_path() / "README.md").read_text())
    data, body = _front_matter_and_body(printed)
    # the author's words, whole and in order; one section added that loads this repo from the Hub
    section = re.search(
        r"<!-- ser-hf push: .*?-->\n(.*?)<!-- end of ser-hf push's section -->\n\n", body, re.S
    )
    assert section and 'pipeline("audio-classification", model="me/x", trust_remote_code=True)' in section[1]
    assert body.replace(section[0], "") == own_body
    # its YAML: the same results, an unseen corpus first, under the repo's name
    assert data["model-index"][0]["results"] == own_data["model-index"][0]["results"]
    assert data["model-index"][0]["results"][0]["dataset"]["type"] == "polish-speech-emotions"
    assert data["model-index"][0]["name"] == "x" and "custom_code" in data["tags"]
    assert {k: v for k, v in data.items() if k not in ("model-index", "tags")} == {
        k: v for k, v in own_data.items() if k not in ("model-index", "tags")
    }
    assert "0.7634" not in printed  # the generated card's in-domain UA
    # the generated one on request
    assert push.cli(["--model", "default", "--repo-id", "me/x", "--card-only", "--regenerate-card"]) == 0
    generated = capsys.readouterr().out
    assert "0.7634" in generated and "loading this repository" not in generated


def test_results_options_with_a_folders_own_card_say_how_to_get_a_generated_one(tmp_path):
    """`--eval-json` (or --cv-json, --datasets, --license, --protocol) only fills a generated card: with the
    folder's own card it must not be dropped without a word."""
    from ser_hf.cli import push as push_cli
    from ser_hf.errors import SERError
    from ser_hf.hub.push import push_model
    from ser_hf.inference.bundled import default_model_path

    (tmp_path / "eval.json").write_text('{"ua": 0.5, "wa": 0.5}')
    args = [
        "--model",
        "default",
        "--repo-id",
        "me/x",
        "--card-only",
        "--eval-json",
        str(tmp_path / "eval.json"),
    ]
    with pytest.raises(
        SERError,
        match="--eval-json only goes into a generated card: pass --regenerate-card to upload a card generated with it",
    ):
        push_cli.cli(args)
    assert push_cli.cli([*args, "--regenerate-card"]) == 0
    with pytest.raises(SERError, match="README.md: the folder has its own model card.*--license"):
        push_model(default_model_path(), "me/x", license="mit", token="hf_never_used")
    # several: "go", "them"; and what a push changes in the folder's card, not "uploads as it is"
    with pytest.raises(SERError) as several:
        push_cli.cli([*args, "--license", "mit"])
    message = str(several.value)
    assert "--eval-json and --license only go into a generated card" in message and "with them" in message
    assert "as it is" not in message and "'Loading this repository' section" in message


def test_which_card_a_folder_gets_and_how_its_own_card_is_kept(tmp_path):
    """A trained folder (no README.md) or transformers' Trainer stub gets the generated card; a
    hand-written README.md is published with its words kept, front matter added or checked."""
    import shutil

    from ser_hf.errors import SERError
    from ser_hf.hub.folder_card import TRAINER_STUB, card_for_push
    from ser_hf.inference.bundled import default_model_path

    folder = tmp_path / "model"
    shutil.copytree(default_model_path(), folder)
    readme = folder / "README.md"
    readme.unlink()  # what ser-hf train writes: no card
    assert "## Intended use" in card_for_push(folder, "me/x")
    readme.write_text(f"---\nlicense: mit\n---\n<!-- {TRAINER_STUB} had access to. -->\n# x\n")
    assert "## Intended use" in card_for_push(folder, "me/x")

    readme.write_text("# My model\n\nWritten by hand.\n\n## Results\n\nModest.\n")  # no front matter
    data, body = _front_matter_and_body(card_for_push(folder, "me/mine"))
    assert data == {
        "pipeline_tag": "audio-classification",
        "library_name": "transformers",
        "tags": ["custom_code"],
    }
    assert body.startswith("# My model\n\nWritten by hand.\n\n<!-- ser-hf push:") and body.endswith(
        "## Results\n\nModest.\n"
    )
    # pushed again to another repo (a downloaded copy): one section, naming the new repo
    readme.write_text(f"---\nlicense: mit\n# the author's comment\n---\n{body}")
    text = card_for_push(folder, "me/other")
    assert (
        text.count("## Loading this repository") == 1 and 'model="me/other"' in text and "me/mine" not in text
    )
    assert "# the author's comment" in text  # the front matter edited line by line, not rewritten

    readme.write_text("---\nlicense: [mit\n---\n# x\n")
    with pytest.raises(
        SERError, match="README.md: the model card's YAML front matter does not parse.*--regenerate-card"
    ):
        card_for_push(folder, "me/x")
    readme.write_text("---\nmodel-index:\n- name: x\n  results: 3\n---\n# x\n")
    with pytest.raises(SERError, match="metadata is not valid for the Hub"):
        card_for_push(folder, "me/x")


def test_a_folder_card_with_a_byte_order_mark_or_an_unclosed_front_matter(tmp_path):
    """A README.md saved "UTF-8 with BOM" lost its front matter: a new YAML block went on top and the
    author's `license: mit` block into the body, where the Hub does not read it. A card whose front
    matter has no closing `---` got a new block on top without a word."""
    import shutil

    from ser_hf.errors import SERError
    from ser_hf.hub.folder_card import card_for_push
    from ser_hf.inference.bundled import default_model_path

    folder = tmp_path / "model"
    shutil.copytree(default_model_path(), folder)
    readme = folder / "README.md"
    readme.write_bytes(b"\xef\xbb\xbf---\nlicense: mit\n---\n# M\n")
    text = card_for_push(folder, "me/m")
    data, body = _front_matter_and_body(text)
    assert data["license"] == "mit" and data["pipeline_tag"] == "audio-classification"
    assert text.count("---\n") == 2 and "\ufeff" not in text and body.startswith("# M\n")
    readme.write_text("---\nlicense: mit\n# M\n\nNo closing line.\n")
    with pytest.raises(SERError, match="README.md: the model card's YAML front matter has an opening --- "
                       "line but no closing one.*--regenerate-card"):  # fmt: skip
        card_for_push(folder, "me/m")


def test_the_loading_section_speaks_of_other_snippets_only_on_a_card_with_code(tmp_path):
    """The section a push adds said "the snippets above and below may load the local folder" on a card
    without a line of code."""
    import shutil

    from ser_hf.hub.folder_card import card_for_push
    from ser_hf.inference.bundled import default_model_path

    folder = tmp_path / "model"
    shutil.copytree(default_model_path(), folder)
    readme = folder / "README.md"
    readme.write_text("# M\n\nWords only.\n\n## Results\n\nModest.\n")
    assert "snippets" not in card_for_push(folder, "me/m")
    readme.write_text("# M\n\n```python\nEmotionClassifier('./m')\n```\n\n## Results\n")
    assert "the snippets above and below may load the local folder" in card_for_push(folder, "me/m")


def test_a_card_lists_hub_datasets_and_known_corpora_in_its_metadata_but_not_local_folder_names():
    """``datasets=["ravdess", "me/my-calls", "calls_2024"]`` went into the card's YAML as
    ``ravdess, memycalls, calls2024``: the Hub id mangled (a dead link) and a local folder's name
    published as if it were a Hub dataset."""
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import default_model_path

    card = make_model_card(default_model_path(), "me/x", datasets=["ravdess", "me/my-calls", "calls_2024"])
    assert card.data.datasets == ["ravdess", "me/my-calls"]
    assert card.data.eval_results[0].dataset_type == "ravdess"
    text = str(card)
    assert "[source](https://huggingface.co/datasets/me/my-calls)" in text
    assert "**calls_2024**: unknown; a local corpus, not on the Hub" in text
    local = make_model_card(default_model_path(), "me/x", datasets=["calls_2024"])
    assert local.data.datasets is None and local.data.eval_results[0].dataset_type == "unknown"


def test_a_model_trained_on_a_hub_dataset_links_it_on_its_card(tmp_path):
    """``ser-hf train --hub_dataset me/my-calls``: its rows carry the corpus name ``my-calls``, so the card
    said "my-calls: unknown; a local corpus, not on the Hub" and listed no dataset."""
    import json
    import shutil

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import default_model_path

    folder = tmp_path / "model"
    shutil.copytree(default_model_path(), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "training_corpora": ["my-calls"]}))
    args = json.loads((folder / "train_args.json").read_text())
    args["data"] = {**args["data"], "corpus": [], "hub_dataset": "me/my-calls"}
    (folder / "train_args.json").write_text(json.dumps(args))
    for name in ("test_metrics.json", "split.json"):
        (folder / name).unlink(missing_ok=True)
    card = make_model_card(folder, "me/x")
    assert card.data.datasets == ["me/my-calls"]
    assert "[source](https://huggingface.co/datasets/me/my-calls)" in str(card)
    # a Hub copy of a known corpus keeps that corpus's terms (me/ravdess lost RAVDESS's NC licence)
    (folder / "config.json").write_text(json.dumps({**config, "training_corpora": ["ravdess"]}))
    (folder / "train_args.json").write_text(
        json.dumps({**args, "data": {**args["data"], "hub_dataset": "me/ravdess"}})
    )
    known = make_model_card(folder, "me/x")
    assert known.data.datasets == ["ravdess"] and known.data.license == "cc-by-nc-sa-4.0"


def test_a_card_says_its_results_were_scored_through_a_channel():
    """`ser-hf evaluate --channel noise:0 --out ev` then `push --card-only --eval-json ev/metrics.json`
    published the degraded scores as the model's held-out results (metrics.json says "channel")."""
    import yaml

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    evaluation = {"ua": 0.31, "wa": 0.33, "split": "test", "channel": "noise:0"}
    text = str(make_model_card(bundled_model_path("speech-stats"), "someone/x", eval_json=evaluation))
    assert (
        "| held-out split: test, after the channel noise:0 | UA (unweighted average recall) | 0.310 |" in text
    )
    header = yaml.safe_load(text.split("---")[1])
    names = [m["name"] for r in header["model-index"][0]["results"] for m in r["metrics"]]
    assert names and all(name.endswith("after the channel noise:0") for name in names)
    clean = str(make_model_card(bundled_model_path("speech-stats"), "someone/x", eval_json={"ua": 0.6}))
    assert "channel" not in clean


def test_a_card_lists_the_model_classes_an_evaluation_scored(tmp_path):
    """Scored on a corpus whose neutral stands for two of the model's classes, the card said "scored on
    6 of the model's 8 classes" beside a list of 5 names (the data's); it lists the model's scored classes."""
    import json

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    folder = bundled_model_path("cnn")  # eight RAVDESS classes, calm among them
    labels = json.loads((folder / "config.json").read_text())["id2label"].values()
    mapping = {
        name: ("neutral" if name == "calm" else name)
        for name in labels
        if name not in ("disgust", "surprised")
    }
    scored = {"ua": 0.5, "wa": 0.5, "model": str(folder), "corpora": ["other"], "label_mapping": mapping}
    scored["labels"] = sorted(set(mapping.values()))
    text = str(make_model_card(folder, "someone/x", eval_json=scored))
    listed = ", ".join(sorted(mapping))
    assert f"scored on {len(mapping)} of the model's {len(labels)} classes ({listed})" in text


def test_a_card_says_an_evaluation_was_adapted_and_what_it_scored():
    """An `evaluate --adapt` result went on the card as the plain held-out figure ("held-out split:
    ravdess-fold:5 of RAVDESS | UA 0.808", plain 0.763); a subset folder read as "all of TESS" with no
    clip count; a corpus with classes masked did not say it was scored on fewer of the model's classes."""
    import yaml

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    folder = bundled_model_path("cnn")  # eight RAVDESS classes, trained on RAVDESS
    labels = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    adapted = {"ua": 0.808, "wa": 0.8, "n": 240, "split": "ravdess-fold:5", "labels": labels}
    adapted["adapted"] = "per speaker, on the test clips' unlabelled audio"
    text = str(make_model_card(folder, "someone/x", eval_json=adapted))
    row = next(line for line in text.splitlines() if line.startswith("| held-out split") and "UA" in line)
    assert "adapted per speaker" in row and "not the model's plain result" in row and "240 clips" in row
    assert "Protocol: **ravdess-fold:5, 240 clips, all 8 classes, adapted per speaker" in text
    header = yaml.safe_load(text.split("---")[1])
    names = [m["name"] for r in header["model-index"][0]["results"] for m in r["metrics"]]
    assert names and all("adapted per speaker" in name for name in names)

    mapping = {name: ("neutral" if name == "calm" else name) for name in labels}
    tess = {"ua": 0.3, "wa": 0.3, "n": 9, "split": "all", "corpora": ["tess=sub"], "label_mapping": mapping}
    tess |= {
        "labels": sorted(set(mapping.values())),
        "masked_classes": {"tess": ["fearful", "disgust", "surprised"]},
    }
    text = str(make_model_card(folder, "someone/x", eval_json=tess))
    scope = "9 clips, scored on 5 of the model's 8 classes (angry, calm, happy, neutral, sad), calm counted as neutral"
    assert f"| held-out split: all of TESS, {scope} | UA" in text
    assert "adapted" not in text.split("## Evaluation")[1]
    # the whole of TESS: every class of the model counts, but TESS has no calm (it said "all 8 classes")
    whole = {**tess, "n": 2798, "masked_classes": None}
    text = str(make_model_card(folder, "someone/x", eval_json=whole))
    assert "| held-out split: all of TESS, 2798 clips, all 8 classes, calm counted as neutral | UA" in text


def test_a_card_refuses_cross_validation_of_another_recipe(caplog):
    """`push --cv-json benchmarks/results/cv_speech_stats/cv_results.json` (preset speech-stats, RAVDESS)
    on the default (turn-encoder-2-voices-crops, RAVDESS + TESS) printed them as the default's cv."""
    import json

    from ser_hf.cli import push as push_cli
    from ser_hf.errors import SERError
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    other = results / "cv_speech_stats" / "cv_results.json"
    with pytest.raises(SERError, match="another recipe") as err:
        push_cli.cli(
            [
                "--model",
                "default",
                "--repo-id",
                "someone/x",
                "--card-only",
                "--regenerate-card",
                "--cv-json",
                str(other),
            ]
        )
    assert "'speech-stats' there, 'turn-encoder-2-voices-crops' for this model" in str(err.value)
    assert "corpora ravdess there, ravdess+tess for this model" in str(err.value)
    # the default's own recipe (cross-corpus, both corpora) goes on; a record without meta is warned of
    own = json.loads((results / "xc_turn_encoder_2_voices_crops" / "cv_results.json").read_text())
    assert "mean over folds" in str(make_model_card(bundled_model_path("default"), "someone/x", cv_json=own))
    bare = {k: v for k, v in own.items() if k != "meta"}
    with caplog.at_level("WARNING"):
        make_model_card(bundled_model_path("default"), "someone/x", cv_json=bare)
    assert "cannot check that these cross-validation results are of this model's recipe" in caplog.text
    # a single corpus read with its own labels: cv records "the corpus's own", train the scheme's name
    cnn = json.loads((results / "cv3_transformer_seed42" / "cv_results.json").read_text())
    cnn["meta"]["label_scheme"] = "the corpus's own"
    assert "mean over folds" in str(make_model_card(bundled_model_path("cnn"), "someone/x", cv_json=cnn))


def test_the_default_cards_results_are_the_shipped_models_own_and_model_card_md_is_its_copy():
    """The default's model-index listed the recipe's one-corpus runs (RAVDESS -> TESS 0.284) as results
    of the shipped model, which trained on TESS (and scores 1.000 there); Hub widgets read model-index as
    the model's own scores. And `model_card.md`, README's link to the default's card, had drifted from it."""
    import yaml

    from ser_hf.inference.bundled import default_model_path

    card = (default_model_path() / "README.md").read_text()
    assert (REPO / "model_card.md").read_text() == card
    results = yaml.safe_load(card.split("---")[1])["model-index"][0]["results"]
    assert results and all("this model" in r["task"]["name"] for r in results)
    assert "tess" not in {r["dataset"]["type"] for r in results}  # TESS is in its training


@pytest.mark.parametrize(
    "folder", sorted(p.parent.name for p in (REPO / "ser_hf" / "bundled").glob("*/README.md")), ids=str
)
def test_every_bundled_cards_results_are_the_shipped_models_own_on_data_it_never_trained_on(folder):
    """Eight bundled cards' model-index listed the recipe's one-corpus runs (`speech-stats`: RAVDESS ->
    TESS 0.492, TESS -> RAVDESS 0.267) and 6-fold means of the recipe retrained per fold (`functionals`,
    `fusion`, `cnn` too) as the shipped model's scores; each model trained on RAVDESS actors 1-20 (and
    TESS). Every result must be this model's, on a corpus it never trained on or on the test speakers of
    its split.json, which it never saw."""
    import json
    import re

    import yaml

    path = REPO / "ser_hf" / "bundled" / folder
    split = json.loads((path / "split.json").read_text())
    # its training corpora: those of its rows (ravdess_01/x.flac -> ravdess) and of train_args.json
    trained = {row.split("/")[0].rsplit("_", 1)[0] for row in split["row_ids"]}
    args = path / "train_args.json"
    if args.exists():
        trained |= {c.split("=")[0] for c in json.loads(args.read_text())["data"]["corpus"]}
    seen = set(split["train_speakers"]) | set(split["validation_speakers"])
    results = yaml.safe_load((path / "README.md").read_text().split("---")[1])["model-index"][0]["results"]
    assert results
    for result in results:
        task, dataset = result["task"]["name"], result["dataset"]
        assert "this model, trained on" in task, (folder, task)
        assert dataset["type"] != "unknown", (folder, dataset)
        if dataset["type"] in trained:  # only its split's unseen test speakers, named in the result
            named = re.search(r"actors (\d+)-(\d+)", dataset["name"])
            assert named, (folder, dataset)  # a training corpus's clips, not its unseen speakers
            first, last = map(int, named.groups())
            speakers = {f"{dataset['type']}_{k:02d}" for k in range(first, last + 1)}
            assert speakers == set(split["test_speakers"]) and not speakers & seen, (folder, dataset)
    assert results[0]["dataset"]["type"] not in trained, folder  # an unseen corpus first


def test_a_generated_cards_cross_validation_result_says_it_is_the_recipes_not_the_models(tmp_path):
    """A card generated with `--cv-json` listed the folds' mean in model-index under the plain task
    name "Speech emotion recognition", beside the model's own held-out score: a leaderboard reads both
    as this model's. The folds' mean is the recipe's, retrained per fold, and now says so."""
    import yaml

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    cv = {"ua_mean": 0.6, "ua_std": 0.05, "wa_mean": 0.61, "folds": [{"ua": 0.55}, {"ua": 0.65}]}
    text = str(
        make_model_card(bundled_model_path("speech-stats"), "someone/x", cv_json=cv, eval_json={"ua": 0.7})
    )
    results = yaml.safe_load(text.split("---")[1])["model-index"][0]["results"]
    names = {r["task"]["name"] for r in results}
    assert any("retrained per fold" in n and "not this model's own score" in n for n in names), names
    assert "Speech emotion recognition, this model" in names


def _ravdess_actors(names: list[str]) -> list[int]:
    return sorted(int(s.rsplit("_", 1)[1]) for s in names if s.startswith("ravdess_"))


def _actor_list(text: str) -> list[int]:
    return sorted(int(n) for n in re.findall(r"\d+", text))


BUNDLED = sorted(p.parent for p in (REPO / "ser_hf" / "bundled").glob("*/README.md"))


@pytest.mark.parametrize("folder", BUNDLED, ids=lambda p: p.name)
def test_the_validation_actors_a_bundled_card_names_are_its_split_json(folder):
    """The fusion's card said all four members held out actors 3, 13, 16 and 18 for validation; its
    split.json (the functionals member's, the same file as functionals') lists 13, 14, 16 and 19, and
    each CNN member drew its own by its seed. Every validation-actor list a bundled card gives as its
    own (``validation actors (3, 13, 16, 18)``, ``3, 13, 16 and 18 for validation``) is now its
    split.json's, and the fusion's table of members gives what each member's seed draws."""
    import json

    from ser_hf.data import folds
    from ser_hf.data.labels import scheme_names

    text = " ".join((folder / "README.md").read_text(encoding="utf-8").split())
    recorded = _ravdess_actors(json.loads((folder / "split.json").read_text())["validation_speakers"])
    stated = re.findall(r"validation actors \((\d+(?:, \d+)+)[;)]", text)
    stated += re.findall(r"(\d+(?:, \d+)* and \d+) (?:were held out )?for validation", text)
    for actors in stated:
        assert _actor_list(actors) == recorded, (folder.name, actors)
    if folder.name in ("fusion", "functionals"):
        assert stated, folder.name  # their cards name them
    if folder.name != "fusion":
        return
    # each member's validation actors, as ravdess-fold:5 draws them with its run's seed (actor ids and
    # genders as in RAVDESS: odd actors male), checked against the two draws recorded in split.json files
    columns: dict[str, list[str]] = {"speaker": [], "gender": [], "emotion": [], "corpus": []}
    for actor in range(1, 25):
        for emotion in ["neutral"] * 4 + scheme_names("ravdess8")[1:] * 8:  # 4 neutral, 8 of each other
            columns["speaker"].append(f"ravdess_{actor:02d}")
            columns["gender"].append("male" if actor % 2 else "female")
            columns["emotion"].append(emotion)
            columns["corpus"].append("ravdess")

    def drawn(seed: int) -> list[int]:
        split = folds.ravdess_protocol_folds(columns, seed=seed, only=[5])[0]
        return _ravdess_actors(split.validation_speakers)

    cnn = json.loads((REPO / "ser_hf" / "bundled" / "model" / "split.json").read_text())
    assert drawn(0) == recorded and drawn(42) == _ravdess_actors(cnn["validation_speakers"])
    rows = re.findall(r"\| (functionals[^|]*|CNN-Transformer, seed \d+) \| (\d+) \| ([\d, ]+) \|", text)
    assert len(rows) == 4, rows
    for member, seed, actors in rows:
        assert _actor_list(actors) == drawn(int(seed)), (member, seed, actors)


def _evaluation_section(text: str) -> str:
    return text.split("## Evaluation")[1].split("## Limitations")[0]


def test_a_card_says_whether_its_test_corpus_was_unseen_which_labels_were_merged_and_chance():
    """`ser-hf evaluate` records test_corpora, training_corpora, cross_corpus, harmonised_from and
    chance_ua (session 45), but a card made from that metrics.json said none of it: a cross-corpus
    result read like any held-out split, TESS's pleasant_surprise counted as surprised unsaid, no chance
    level; an in-domain one on every speaker (--split all) was not said to be anything but independent."""
    import yaml

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    folder = bundled_model_path("speech-stats")  # trained on RAVDESS
    cross = {
        "ua": 0.41, "wa": 0.45, "n": 2800, "split": "all", "subset": "test", "model": str(folder),
        "corpora": ["tess=/data/tess"], "label_scheme": "harmonized7", "test_corpora": ["tess"],
        "training_corpora": ["ravdess"], "cross_corpus": True, "label_sets_differ": True,
        "harmonised_from": {"tess": {"surprised": {"pleasant_surprise": 400}}}, "chance_ua": 1 / 7,
    }  # fmt: skip
    text = str(make_model_card(folder, "someone/x", eval_json=cross))
    row = next(line for line in text.splitlines() if line.startswith("| held-out split") and "UA" in line)
    for said in ("cross-corpus (the model never trained on TESS)", "pleasant_surprise (400) -> surprised"):
        assert said in row and said in text.split("Protocol: **")[1].split("**")[0]
    assert "chance UA 0.143" in row
    section = _evaluation_section(text)
    assert "- TESS: a corpus the model never trained on (it trained on RAVDESS)" in section
    assert "(label scheme harmonized7): tess: pleasant_surprise (400) -> surprised" in section
    header = yaml.safe_load(text.split("---")[1])
    names = {m["type"]: m["name"] for r in header["model-index"][0]["results"] for m in r["metrics"]}
    assert names["recall"].endswith(", cross-corpus, chance 0.143") and names["accuracy"].endswith(
        ", cross-corpus"
    )

    # the corpus it trained on, every speaker scored: not corpus-independent, not shown speaker-independent
    ravdess = {
        **cross,
        "corpora": ["ravdess=/data/ravdess"],
        "test_corpora": ["ravdess"],
        "cross_corpus": False,
    }
    ravdess["harmonised_from"] = {"ravdess": {"neutral": {"calm": 192}}}
    section = _evaluation_section(str(make_model_card(folder, "someone/x", eval_json=ravdess)))
    assert (
        "in-domain (RAVDESS: a corpus the model trained on)" in section and "calm (192) -> neutral" in section
    )
    assert "not corpus-independent" in section and "not shown to be speaker-independent" in section
    assert "Test speakers are never seen in training" not in section
    # ... with the model's speakers held out (--split unseen): speaker- but not corpus-independent
    section = _evaluation_section(
        str(make_model_card(folder, "someone/x", eval_json={**ravdess, "split": "unseen"}))
    )
    assert "not corpus-independent; the split (unseen) held out the speakers" in section
    assert "not shown to be speaker-independent" not in section
    # a model that records no training corpora: not said to be cross-corpus
    unknown = {**cross, "training_corpora": None, "cross_corpus": None}
    section = _evaluation_section(str(make_model_card(folder, "someone/x", eval_json=unknown)))
    assert "records no training corpora" in section and "never trained on" not in section


def test_an_older_metrics_json_gives_the_card_it_gave():
    """A metrics.json from before session 45 (no test_corpora; its cross_corpus meant the model's classes
    differ from the data's) gives the card it gave: nothing of cross-corpus, merges or chance, its
    cross_corpus read as nothing."""
    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.bundled import bundled_model_path

    folder = bundled_model_path("speech-stats")
    old = {"ua": 0.41, "wa": 0.45, "n": 2800, "split": "all", "subset": "test", "model": str(folder)}
    old |= {"corpora": ["tess=/data/tess"], "label_scheme": "harmonized7"}
    plain = str(make_model_card(folder, "someone/x", eval_json=old))
    assert str(make_model_card(folder, "someone/x", eval_json={**old, "cross_corpus": True})) == plain
    section = _evaluation_section(plain)
    assert "| held-out split: all of TESS, 2800 clips | UA (unweighted average recall) | 0.410 |" in section
    for word in ("cross-corpus", "in-domain", "chance", "merged", "corpus-independent"):
        assert word not in section
    assert "Test speakers are never seen in training" in section
