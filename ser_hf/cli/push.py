"""``ser-hf push``: upload a trained model folder with its model card to the Hub."""

from __future__ import annotations

import logging

from ..hub.cards import DEFAULT_COMMIT_MESSAGE
from ..hub.folder_card import card_for_push
from ..hub.push import push_model
from ..inference.bundled import resolve_model_name
from .parser import ArgumentParser

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- CLIs
def _quiet_http_logs() -> None:
    # the CLI logs at INFO; one line per HTTP request would drown the useful lines
    for name in ("httpx2", "httpx", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cli(argv: list[str]) -> int:
    """``ser-hf push --model DIR --repo-id NAME [--private] [--eval-json F] [--cv-json F]``."""
    parser = ArgumentParser(
        prog="ser-hf push",
        description="Upload a saved model folder (safetensors, feature extractor, remote code) with its model "
        "card: the folder's own README.md when it has one (the bundled models do; its YAML kept, the model-index "
        "name and a section on loading this repo brought up to date), else one generated from the folder's "
        "results (test_metrics.json, split.json) and --eval-json / --cv-json. Uses HF_TOKEN (or --token) and "
        "HF_ENDPOINT.",
        epilog="On an existing repo, one commit replaces README.md, config.json, preprocessor_config.json and "
        "the weights, and deletes the top-level files of an earlier model that this upload lacks: weights "
        "(model*.safetensors, pytorch_model*.bin, their index), this package's model code (modeling_ser.py, "
        "configuration_ser.py, ...) and run records (split.json, eval_results.json, cv_results.json, "
        "train_args.json, val_metrics.json, test_metrics.json, ...). Files in sub-folders and any other file "
        "(a handler.py of your own) are left alone.",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="folder written by save_pretrained / ser-hf train, or a bundled model's name",
    )
    parser.add_argument("--repo-id", required=True, help="Hub model id, e.g. user/ser-ravdess")
    parser.add_argument(
        "--private",
        action="store_true",
        help="create the repo as private (an existing public one is made private)",
    )
    parser.add_argument(
        "--token", default=None, help="Hub write token (default: HF_TOKEN or the saved login)"
    )
    parser.add_argument(
        "--regenerate-card",
        action="store_true",
        help="upload a card generated from the folder's results in place of the folder's own README.md",
    )
    parser.add_argument("--eval-json", default=None, help="results of ser-hf evaluate, for a generated card")
    parser.add_argument(
        "--cv-json", default=None, help="cv_results.json of ser-hf cv, for a generated card's model-index"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        action="extend",
        default=None,
        help="training corpora, for a generated card, e.g. ravdess",
    )
    parser.add_argument(
        "--license",
        default=None,
        help="Hub licence id of a generated card (default: from the training corpora)",
    )
    parser.add_argument(
        "--protocol", default=None, help="name of the evaluation protocol for a generated card"
    )
    parser.add_argument("--message", default=DEFAULT_COMMIT_MESSAGE, help="commit message")
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="print the model card a push would upload, and upload nothing",
    )
    args = parser.parse_args(argv)
    args.model = str(resolve_model_name(args.model))  # "default", "fusion" ... as evaluate and export take
    _quiet_http_logs()
    if args.card_only:
        card = card_for_push(
            args.model, args.repo_id, args.eval_json, args.cv_json,
            datasets=args.datasets, license=args.license, protocol=args.protocol,
            regenerate=args.regenerate_card,
        )  # fmt: skip
        print(card, end="" if card.endswith("\n") else "\n")
        return 0
    info = push_model(
        args.model,
        args.repo_id,
        private=args.private,
        token=args.token,
        eval_json=args.eval_json,
        cv_json=args.cv_json,
        datasets=args.datasets,
        license=args.license,
        protocol=args.protocol,
        commit_message=args.message,
        regenerate_card=args.regenerate_card,
    )
    print(f"pushed {args.model} to {args.repo_id}: {info.commit_url}")
    return 0
