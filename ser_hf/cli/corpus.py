"""``ser-hf corpus``: load a corpus and print its summary."""

from __future__ import annotations

import json
import logging

from ..data.corpora import corpus_summary, format_summary, load_corpus
from ..data.labels import LABEL_MAP_HELP, parse_label_map
from ..data.rows import KNOWN_CORPORA
from ..errors import require_extra
from .parser import ArgumentParser

logger = logging.getLogger(__name__)


def cli(argv: list[str]) -> int:
    """``ser-hf corpus NAME DIR [--scheme S]``: load a corpus, print its summary and skipped files."""
    parser = ArgumentParser(prog="ser-hf corpus", description=cli.__doc__)
    parser.add_argument(
        "name", help=f"corpus: {', '.join(KNOWN_CORPORA)}, disk, parquet, or a Hub dataset id"
    )
    parser.add_argument("data_dir", nargs="?", default=None, help="the corpus folder")
    parser.add_argument("--scheme", default=None, help="label scheme (default: the corpus's native one)")
    parser.add_argument("--include-song", action="store_true", help="RAVDESS: keep song clips")
    parser.add_argument(
        "--no-check", action="store_true", help="do not read file headers (faster, no skip check)"
    )
    parser.add_argument(
        "--check-audio",
        action="store_true",
        help="also decode every clip and list those whose samples do not decode (a file cut short "
        "whose header still reads); slow: the whole corpus is decoded once",
    )
    for what in ("label", "speaker", "gender", "audio"):
        parser.add_argument(
            f"--{what}-column",
            default=None,
            help=f"{what} column of a metadata.csv, Hub, disk or parquet corpus (default: guessed; names match "
            "whatever their case, spaces or underscores)",
        )
    parser.add_argument("--label-map", metavar="FROM=TO,...", help=LABEL_MAP_HELP)
    parser.add_argument(
        "--hub-split",
        "--split",
        dest="split",
        metavar="SPLIT",
        default=None,
        help="the split(s) to read of data with splits of their own (a Hub dataset, a save_to_disk DatasetDict, "
        "parquet files named train-*/validation-*/test-*, an audio folder of train/ validation/ test/ "
        "folders): test, or several joined by '+' (train+validation); default train, the others left out "
        "(said)",
    )
    parser.add_argument("--max-paths", type=int, default=50, help="skipped files to list (default 50)")
    parser.add_argument("--json", action="store_true", help="print the summary and report as JSON")
    args = parser.parse_args(argv)
    require_extra("train", "ser-hf corpus", ("datasets",))
    ds, report = load_corpus(
        args.name,
        args.data_dir,
        args.scheme,
        include_song=args.include_song,
        check_files=not args.no_check,
        check_audio=args.check_audio,
        label_map=parse_label_map(args.label_map),
        label_column=args.label_column,
        speaker_column=args.speaker_column,
        gender_column=args.gender_column,
        audio_column=args.audio_column,
        split=args.split,
        return_report=True,
    )
    summary = corpus_summary(ds)
    if args.json:
        print(json.dumps({"summary": summary, "report": report.to_dict()}, indent=2))
    else:
        print(format_summary(summary))
        print(report.format(max_paths=args.max_paths))
    return 0
