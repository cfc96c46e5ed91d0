"""What a model card states of its inputs: a saved folder's JSON files (read strictly: each failure a
:class:`~ser_hf.errors.SERError` naming the file), the corpora (their facts, licences and Hub ids), the
number of trained parameters and a distilled student's teacher.

:func:`~ser_hf.hub.cards.make_model_card` and :mod:`ser_hf.hub.push` read them; the card's markdown is
written by :mod:`ser_hf.hub.card_body`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SERError

# its messages keep the logger name they had in ser_hf.hub.cards (the CLI prints it)
logger = logging.getLogger("ser_hf.hub.cards")

# What is known about each corpus, for cards and licences. Keys are normalised corpus names.
CORPORA: dict[str, dict[str, Any]] = {
    "ravdess": {
        "name": "RAVDESS",
        "license": "cc-by-nc-sa-4.0",
        "license_text": "CC BY-NC-SA 4.0",
        "language": "en",
        "speakers": "24 professional actors (12 female, 12 male), North American English",
        "material": "two neutral sentences spoken in 8 emotions (normal and strong intensity), studio recordings",
        "url": "https://doi.org/10.5281/zenodo.1188976",
        "citation": "Livingstone, S. R., & Russo, F. A. (2018). The Ryerson Audio-Visual Database of "
        "Emotional Speech and Song (RAVDESS). PLoS ONE, 13(5), e0196391. "
        "https://doi.org/10.1371/journal.pone.0196391",
    },
    "tess": {
        "name": "TESS",
        "license": "cc-by-nc-nd-4.0",
        "license_text": "CC BY-NC-ND 4.0",
        "language": "en",
        "speakers": "2 female actors (aged 26 and 64), Canadian English",
        "material": "200 target words in a carrier phrase, 7 emotions",
        "url": "https://doi.org/10.5683/SP2/E8H2MF",
        "citation": "Dupuis, K., & Pichora-Fuller, M. K. (2010). Toronto Emotional Speech Set (TESS). "
        "University of Toronto. https://doi.org/10.5683/SP2/E8H2MF",
    },
    "savee": {
        "name": "SAVEE",
        "license": "other",
        "license_text": "free for research use, see the corpus's terms",
        "language": "en",
        "speakers": "4 male speakers, British English",
        "material": "phonetically balanced TIMIT sentences, 7 emotions",
        "url": "http://kahlan.eps.surrey.ac.uk/savee/",
        "citation": "Jackson, P., & Haq, S. (2014). Surrey Audio-Visual Expressed Emotion (SAVEE) "
        "database. University of Surrey.",
    },
    "cremad": {
        "name": "CREMA-D",
        "license": "odbl",
        "license_text": "Open Database License (ODbL) with the Database Contents License",
        "language": "en",
        "speakers": "91 actors (48 male, 43 female, aged 20-74, several ethnicities), US English",
        "material": "12 sentences in 6 emotions at several intensities",
        "url": "https://github.com/CheyneyComputerScience/CREMA-D",
        "citation": "Cao, H., Cooper, D. G., Keutmann, M. K., Gur, R. C., Nenkova, A., & Verma, R. (2014). "
        "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Transactions on "
        "Affective Computing, 5(4), 377-390.",
    },
    "emodb": {
        "name": "EmoDB",
        "license": "other",
        "license_text": "see the corpus's terms of use",
        "language": "de",
        "speakers": "10 actors (5 female, 5 male), German",
        "material": "10 everyday sentences in 7 emotions",
        "url": "http://emodb.bilderbar.info/",
        "citation": "Burkhardt, F., Paeschke, A., Rolfes, M., Sendlmeier, W., & Weiss, B. (2005). "
        "A database of German emotional speech. Proc. Interspeech 2005, 1517-1520.",
    },
}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SERError("file is missing", source=str(path)) from err
    except (IsADirectoryError, NotADirectoryError) as err:  # a folder given for a file, or the reverse
        raise SERError(f"not a JSON file here ({err.strerror}); check the path", source=str(path)) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SERError(f"not valid JSON ({err})", source=str(path)) from err
    if not isinstance(value, dict):
        raise SERError(f"expected a JSON object, found a {type(value).__name__}", source=str(path))
    return value


def _load_json_arg(value: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return dict(value) if value is not None else None
    return _read_json(Path(value))


def _corpus_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def corpus_info(name: str) -> dict[str, Any]:
    """Card facts about a corpus (``name``, ``license``, ``speakers``, ...); unknown corpora get placeholders."""
    info = CORPORA.get(_corpus_key(name))
    if info is not None:
        return info
    hub_id = _card_dataset(name)
    return {
        "name": str(name),
        "license": "other",
        "license_text": "unknown: check the corpus's own terms",
        "language": None,
        "speakers": "unknown",
        "material": "a Hub dataset" if hub_id else "a local corpus, not on the Hub",
        "url": f"https://huggingface.co/datasets/{hub_id}" if hub_id else None,
        "citation": None,
    }


REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")  # owner/name, as the Hub spells a repository


def _card_dataset(name: str) -> str | None:
    """The card's YAML ``datasets:`` entry for a corpus: a known corpus's key, a Hub dataset id as given
    (``user/corpus``), None for a local corpus (its folder name links to no dataset on the Hub)."""
    if _corpus_key(name) in CORPORA:
        return _corpus_key(name)
    return str(name) if REPO_ID.fullmatch(str(name)) else None


def _distillation(folder: Path) -> str | None:
    """The card's line on a distilled student: its teacher (and the teacher's corpora when its folder is
    here), from the run's ``train_args.json``; None for a model trained on labels alone."""
    path = folder / "train_args.json"
    args = _read_json(path).get("model", {}) if path.is_file() else {}
    teacher = args.get("teacher")
    if not teacher or not args.get("distill_alpha", 1.0):  # alpha 0: the teacher's labels weigh nothing
        return None
    where = Path(teacher)
    config = _read_json(where / "config.json") if (where / "config.json").is_file() else {}
    name = where.name if config else str(teacher)  # a local folder by its name, not the trainer's disk
    corpora = ", ".join(corpus_info(c)["name"] for c in config.get("training_corpora") or [])
    return (
        f"- Trained by distillation: the loss mixes the labels with the class probabilities of the teacher "
        f"`{name}`"
        + (f" ({config.get('model_type')}, trained on {corpora})" if corpora else "")
        + f", weight {args.get('distill_alpha')} on the teacher, temperature {args.get('distill_temperature')}. "
        "The student learnt what the teacher learnt of its own training data as well; the teacher's "
        "licence terms may apply to it."
    )


def _license_for(corpora: Sequence[str]) -> str | None:
    """One Hub licence id for weights or data derived from ``corpora`` ("other" when they differ)."""
    licences = {corpus_info(c)["license"] for c in corpora}
    if not licences:
        return None
    return licences.pop() if len(licences) == 1 else "other"


def license_name_for(corpora: Sequence[str], license: str | None) -> str | None:
    """The card's ``license_name`` for ``license: other`` over corpora with different terms: their licence
    ids, sorted and joined by ``-and-`` (RAVDESS + TESS: ``cc-by-nc-nd-4.0-and-cc-by-nc-sa-4.0``), a corpus
    with its own terms as ``<corpus>-terms``; None otherwise. The bundled cards say the same."""
    if license != "other" or len(set(corpora)) < 2:
        return None
    ids = {i if (i := corpus_info(c)["license"]) != "other" else f"{_corpus_key(c)}-terms" for c in corpora}
    return "-and-".join(sorted(ids))


def _trained_parameters(folder: Path) -> int:
    """The model's own parameters (``num_parameters()``: no buffers, no frozen encoder shipped
    beside it); the safetensors headers of ``model*.safetensors`` when it does not load."""
    try:
        from ..training.loading import load_model  # never the folder's own code; safetensors only

        return int(load_model(folder).num_parameters())
    except Exception as err:  # a model of another package: count its weights file
        logger.info("counting the weights of %s from its file (%s)", folder, err)
        return _num_parameters(folder.glob("model*.safetensors"))


# the frozen pretrained encoder a functionals set reads: (set name part, how the card names it)
PRETRAINED_ENCODERS = (
    ("turn-encoder", "a frozen pretrained speech encoder (smart-turn v3.2's Whisper-tiny encoder, "
     "BSD-2-Clause / MIT; shipped beside the weights)"),
    ("voice-encoder", "a frozen pretrained speaker encoder (Resemblyzer's, Apache-2.0; shipped beside the weights)"),
)  # fmt: skip


def _num_parameters(safetensors_files: Iterable[Path]) -> int:
    """Trainable-sized tensor count from the safetensors headers (BatchNorm statistics excluded)."""
    total = 0
    for path in safetensors_files:
        with open(path, "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, meta in header.items():
            if name == "__metadata__" or name.endswith(
                ("running_mean", "running_var", "num_batches_tracked")
            ):
                continue
            count = 1
            for dim in meta["shape"]:
                count *= dim
            total += count
    return total
