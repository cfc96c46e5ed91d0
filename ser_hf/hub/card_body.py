"""The markdown body of a model card: usage, labels, model, intended use, training data,
evaluation, limitations, licence and citations, from what :func:`~ser_hf.hub.cards.make_model_card`
gathered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .card_facts import PRETRAINED_ENCODERS, _distillation, _trained_parameters
from .descriptions import FUNCTIONALS_DESCRIPTIONS
from .results import _METRIC_ALIASES, find_metric


def _model_card_body(
    repo_id: str,
    config: dict[str, Any],
    preprocessor: dict[str, Any],
    folder: Path,
    infos: list[dict[str, Any]],
    labels: list[str],
    label_scheme: str | None,
    protocol: str | None,
    result_rows: list[tuple[str, str, str, str]],
    license: str | None,
    cv: dict[str, Any] | None,
    independent: bool | None = True,
    changed: Sequence[str] = (),
    eval_notes: Sequence[str] = (),
) -> str:
    """The card's markdown; ``changed``: the heads trained or re-initialised since ser_hf saved them;
    ``eval_notes``: what the evaluation's data were (cross-corpus or in-domain, labels merged, chance);
    ``independent`` None: the evaluation published scored a corpus the model trained on without holding
    its speakers out."""
    families = {
        "ser_cnn_bilstm_attention": "CNN-BiLSTM-Attention",
        "ser_cnn_transformer": "CNN-Transformer",
        "ser_functionals_linear": "utterance functionals + linear (logistic regression)",
    }
    family = families.get(config.get("model_type", ""), config.get("model_type", "custom"))
    if config.get("gender_labels"):
        family = (
            "utterance functionals + gender-dependent linear (shared weights plus one set per gender "
            f"({', '.join(config['gender_labels'])}), mixed per clip by a gender gate on the same features)"
        )
    fusion = config.get("model_type") == "ser_fusion"
    fusion_desc = ""
    if fusion:
        parts = [families.get(m.get("model_type"), m.get("model_type")) for m in config.get("members", [])]
        weights = config.get("member_weights", [])
        family = f"fusion ({len(parts)} members)"
        fusion_desc = "; ".join(f"{part} (weight {w:.3g})" for part, w in zip(parts, weights))
        preprocessor = {**(preprocessor.get("frame") or {}), "functionals": preprocessor.get("functionals")}
    params = _trained_parameters(folder)
    encoder = next(
        (desc for key, desc in PRETRAINED_ENCODERS if key in str(preprocessor.get("functionals"))), None
    )
    features = preprocessor.get("feature_set", "logmel")
    feature_desc = (
        f"{preprocessor.get('n_mels', 128)}-band log-mel"
        if features == "logmel"
        else f"{preprocessor.get('n_mfcc')} MFCC"
    )
    extras = [k for k in ("deltas", "delta_deltas", "rms", "zcr") if preprocessor.get(k)]
    if extras:
        feature_desc += " + " + ", ".join(extras)
    rate = preprocessor.get("sampling_rate", 16000)
    max_frames = preprocessor.get("max_frames")
    length = f"padded/truncated to {max_frames} frames" if max_frames else "variable length (masked pooling)"
    functionals = preprocessor.get("functionals")
    what = f"`{functionals}`: {FUNCTIONALS_DESCRIPTIONS.get(functionals, 'see preprocessor_config.json')}"
    if fusion:
        feature_desc = (
            f"{feature_desc} frames (25 ms windows, 10 ms hop, variable length) for the frame models, and "
            f"utterance functionals ({what}) of the silence-trimmed clip for the functionals model"
        )
    elif functionals:
        feature_desc = f"{preprocessor.get('feature_size')} utterance functionals ({what})"
        length = "the whole utterance after trimming leading/trailing silence"
    corpus_names = " + ".join(i["name"] for i in infos) or "an unrecorded corpus"
    lines = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"Speech emotion recognition from the voice: a{'n' * (family[:1] in 'aeiou')} {family} model ({params:,} parameters) "
        + (f"on the pooled states of {encoder}, its head trained" if encoder else "trained from scratch")
        + f" on {corpus_names} with the ser_hf package on transformers. It "
        "classifies a clip of speech into "
        f"{len(labels)} emotions: {', '.join(labels)}.",
        "",
        *(
            [
                f"> **Changed since ser_hf fitted it.** Its {' and '.join(changed)} {'are' if len(changed) > 1 else 'is'} not what ser_hf fitted and "
                "saved (trained or re-initialised since, e.g. a stock fine-tune): the training data, calibration "
                "and results this card gives describe the model before that change, not this one.",
                "",
            ]
            if changed
            else []
        ),
        "## How to use",
        "",
        "The model ships its own code (`auto_map`), so the stock pipeline loads it with "
        "`trust_remote_code=True`; `ser_hf` does not need to be installed.",
        "",
        "```python",
        "from transformers import pipeline",
        "",
        f'classifier = pipeline("audio-classification", model="{repo_id}", trust_remote_code=True)',
        'classifier("speech.wav", top_k=3)  # a path, bytes, a 1-D float array at '
        f"{rate} Hz, or {{'array': x, 'sampling_rate': sr}}",
        "```",
        "",
        "Audio is decoded with FFmpeg and resampled to "
        f"{rate} Hz mono. Long recordings should be split into windows of a few seconds "
        "(`ser-hf predict` does this and returns a timeline).",
        "",
        "## Labels",
        "",
        f"Label scheme: `{label_scheme}`." if label_scheme else "",
        "",
        "| id | label |",
        "| --- | --- |",
        *[f"| {i} | {name} |" for i, name in enumerate(labels)],
        "",
        "## Model",
        "",
        f"- Family: {family} (`{config.get('model_type')}`), {params:,} parameters.",
        *(
            [
                f"- Input features at {rate} Hz: {feature_desc}.",
                f"- Architecture: the class probabilities of its members are averaged with fixed weights: "
                f"{fusion_desc}. See `config.json` (`members`).",
            ]
            if fusion
            else [
                f"- Input features: {feature_desc} at {rate} Hz, {length}.",
                "- Architecture: standardisation (stored training mean/std) then one linear layer, the "
                "weights of a multinomial logistic regression"
                + (
                    "; a second linear layer, fitted on values standardised per training speaker, replaces it "
                    "after `adapt` (which standardises on the user's own clips)"
                    if config.get("speaker_head")
                    else ""
                )
                + "; see `config.json`.",
            ]
            if preprocessor.get("functionals")
            else [
                f"- Input features: {feature_desc} at {rate} Hz, 25 ms windows, 10 ms hop, {length}.",
                f"- Architecture details: see `config.json` (conv channels {config.get('conv_channels')}).",
            ]
        ),
        *([line] if (line := _distillation(folder)) else []),
        "",
        "## Intended use",
        "",
        "Research and prototyping of speech emotion recognition: comparing models, demos, analysing "
        "expressed (acted) emotion in short clips of clean speech. Scores describe how the voice "
        "sounds, not what a person feels.",
        "",
        "Out of scope: decisions about people (hiring, education, health, insurance, law enforcement, "
        "surveillance), clinical or mental-health assessment, and any use on people who have not "
        "agreed to it.",
        "",
        "## Training data",
        "",
    ]
    if infos:
        for info in infos:
            source = f" ([source]({info['url']}))" if info.get("url") else ""
            lines.append(
                f"- **{info['name']}**{source}: {info['speakers']}; {info['material']}. "
                f"Licence: {info['license_text']}."
            )
    else:
        lines.append("- Not recorded with the model.")
    lines += ["", "## Evaluation", ""]
    if protocol:
        lines += [
            f"Protocol: **{protocol}**. "
            + (
                "Test speakers are never seen in training; validation speakers for early stopping come from the "
                "training speakers only"
                if independent
                else "This evaluation scored a corpus the model trained on without holding out the speakers it "
                "trained on: these figures are not shown to be speaker-independent"
                if independent is None
                else "The same speakers are in training and test (a "
                "random clip split): these figures overstate accuracy on new speakers"
            )
            + "; augmentation is applied to training clips only, after the split.",
            "",
        ]
    if result_rows:
        lines += [
            "| evaluation | metric | value | std (sample, ddof=1, over folds) |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {where} | {metric} | {value} | {std} |" for where, metric, value, std in result_rows]
        lines += [
            "",
            "WA = accuracy over clips; UA = mean per-class recall (balanced accuracy), the headline "
            "metric for imbalanced emotion classes; F1 = macro F1.",
        ]
        if eval_notes:
            lines += ["", *(f"- {note}" for note in eval_notes)]
    else:
        lines.append("No evaluation results were supplied with this upload.")
    folds = (cv or {}).get("folds")
    if isinstance(folds, list) and folds and all(isinstance(f, Mapping) for f in folds):
        lines += ["", "Per fold:", "", "| fold | WA | UA | F1 |", "| --- | --- | --- | --- |"]
        for i, fold in enumerate(folds):
            cells = [find_metric(fold, m) for m in _METRIC_ALIASES]
            lines.append(
                f"| {fold.get('fold', i)} | "
                + " | ".join("" if c is None else f"{c:.3f}" for c in cells)
                + " |"
            )
    lines += ["", "## Limitations", ""]
    limits = [
        "Trained on ACTED emotional speech read in a studio; spontaneous, conversational or noisy "
        "speech sounds different and accuracy drops there (cross-corpus accuracy is typically far "
        "below within-corpus accuracy).",
    ]
    names = {i["name"] for i in infos}
    if "RAVDESS" in names:
        limits.append(
            "RAVDESS has only 24 actors (12 female, 12 male), all speaking North American English, "
            "and two fixed sentences: other languages, accents, ages and voices are not represented."
        )
    if names and all(i.get("language") == "en" for i in infos):
        limits.append("English speech only.")
    limits += [
        "Emotion categories are a simplification: real expressions are mixed, culture-dependent and "
        "often ambiguous even to human listeners.",
        "Clips were a few seconds long; classify long audio in windows.",
    ]
    lines += [f"- {item}" for item in limits]
    lines += ["", "## Licence", ""]
    if license and license != "other":
        lines.append(
            f"The weights derive from the training data and are released under `{license}` "
            f"(the corpus licence{'s' if len(infos) > 1 else ''}: "
            + "; ".join(f"{i['name']}: {i['license_text']}" for i in infos)
            + ")."
        )
    else:
        lines.append(
            "The weights derive from corpora with different or custom terms: "
            + ("; ".join(f"{i['name']}: {i['license_text']}" for i in infos) or "unknown")
            + ". Respect the most restrictive of them."
        )
    citations = [i["citation"] for i in infos if i.get("citation")]
    if citations:
        lines += ["", "## Citation of the training data", ""] + [f"- {c}" for c in citations]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
