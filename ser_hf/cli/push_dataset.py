"""``ser-hf push-dataset``: upload a harmonised corpus with its dataset card to the Hub."""

from __future__ import annotations

import logging

from ..errors import require_extra
from ..hub.cards import DEFAULT_DATASET_COMMIT_MESSAGE
from ..hub.dataset_push import SPLIT_HELP, push_dataset
from .parser import ArgumentParser
from .push import _quiet_http_logs

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- CLIs


def cli(argv: list[str]) -> int:
    """``ser-hf push-dataset --corpus ravdess=/path [--corpus ...] [--label-scheme S] [--split speaker]
    --repo-id NAME``."""
    parser = ArgumentParser(
        prog="ser-hf push-dataset",
        description="Load corpora and upload them as one Hub dataset (audio embedded in parquet) with a "
        "dataset card. Uses HF_TOKEN (or --token) and HF_ENDPOINT. With --split speaker the dataset gets "
        "speaker-independent train, validation and test splits, which load_dataset(NAME, split='test') and "
        "ser-hf evaluate --corpus NAME (its test split by default) read.",
    )
    parser.add_argument("--corpus", action="append", required=True, metavar="NAME=PATH", help="repeatable")
    parser.add_argument(
        "--label-scheme",
        default=None,
        help="e.g. ravdess8, harmonized7, common6 (default: one corpus keeps its own scheme, e.g. ravdess8 "
        "with calm apart from neutral; several corpora are harmonised, harmonized7, unless all are of your "
        "own: native, the union of their labels)",
    )
    parser.add_argument("--repo-id", required=True, help="Hub dataset id, e.g. user/ravdess-ser")
    parser.add_argument("--split", metavar="SPEC", default=None, help=SPLIT_HELP)
    parser.add_argument(
        "--seed", type=int, default=0, help="the draw of --split speaker's (or kfold's) speakers (default 0)"
    )
    parser.add_argument(
        "--hub-split",
        dest="hub_split",
        metavar="SPLIT",
        default=None,
        help="the split(s) to read of data with splits of their own (a Hub dataset, a save_to_disk DatasetDict, "
        "parquet files named train-*/validation-*/test-*, an audio folder of train/ validation/ test/ folders): "
        "test, or several joined by '+'; default train, validation and test, where they have them (pushed "
        "under those names unless --split splits them again)",
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="create the repo as private (an existing public one is made private)",
    )
    parser.add_argument(
        "--token", default=None, help="Hub write token (default: HF_TOKEN or the saved login)"
    )
    parser.add_argument("--message", default=DEFAULT_DATASET_COMMIT_MESSAGE, help="commit message")
    parser.add_argument(
        "--license",
        default=None,
        help="your own corpus's Hub licence id for the card, e.g. cc-by-4.0 (the corpora the package knows, "
        "RAVDESS, TESS, ..., keep their own; without it your corpus's licence reads 'unknown')",
    )
    args = parser.parse_args(argv)
    require_extra("train", "ser-hf push-dataset", ("datasets",))
    _quiet_http_logs()
    url = push_dataset(
        args.corpus,
        args.repo_id,
        private=args.private,
        token=args.token,
        label_scheme=args.label_scheme,
        commit_message=args.message,
        license=args.license,
        split=args.split,
        hub_split=args.hub_split,
        seed=args.seed,
    )
    print(f"pushed {', '.join(args.corpus)} to {url}")
    return 0
