"""``ser-hf fuse``: pack saved models into one fusion model (a fixed weighted average of their
class probabilities)."""

from __future__ import annotations

from pathlib import Path

from ..errors import SERError, output_dir
from .parser import ArgumentParser


def cli(argv: list[str]) -> int:
    p = ArgumentParser(
        prog="ser-hf fuse",
        description="Pack saved models into one pipeline-ready fusion model (weighted mean of probabilities). "
        "Members: CNN-BiLSTM-Attention / CNN-Transformer models sharing one feature-extractor configuration, "
        "and functionals models sharing one functionals set (not the compact or backbone families).",
    )
    # extend: "--member A --member B" is both members (the second replaced the first)
    p.add_argument(
        "--member",
        nargs="+",
        action="extend",
        required=True,
        metavar="DIR",
        help="saved member model folders",
    )
    p.add_argument(
        "--weights",
        nargs="+",
        action="extend",
        type=float,
        default=None,
        help="relative weight per member (default equal)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="where to save the fused model")
    args = p.parse_args(argv)
    from ..inference.fusion import build_fusion  # after parsing: --help answers at once

    output_dir(args.out, "--out")

    if len(args.member) < 2:
        raise SERError(
            "a fusion needs two or more members: --member DIR DIR (or --member DIR --member DIR)",
            source="--member",
        )
    if args.weights is not None and len(args.weights) != len(args.member):
        raise SERError(
            f"give {len(args.member)} numbers, one per member ({len(args.weights)} given)", source="--weights"
        )
    if args.weights is not None and (any(w < 0 for w in args.weights) or sum(args.weights) <= 0):
        raise SERError(
            "give weights of 0 or more, not all 0 (each member's relative share)", source="--weights"
        )
    from ..training.saving import remove_stale_run_files, save_model_folder

    model, extractor = build_fusion(args.member, args.weights)
    out = Path(args.out)
    # as a training run saves: never half a model, and nothing of the model it replaces (its
    # metrics, split, code, checkpoints) left beside the fusion; its split.json names the speakers
    # its members saw, so evaluate warns of them and --split unseen leaves them out
    save_model_folder(model, extractor, out, run_files={"split.json": _members_speakers(args.member)})
    remove_stale_run_files(out, searched=False, checkpoints=False)
    shares = ", ".join(f"{m} ({w:.3g})" for m, w in zip(args.member, model.config.member_weights))
    print(f"wrote {out}: fusion of {shares}")
    return 0


def _members_speakers(members: list[str]) -> dict:
    """A split record of the speakers the members trained and were chosen on (their split.json's)."""
    import logging

    from ..inference.bundled import resolve_model_name
    from ..training.evaluation import split_record

    seen: dict[str, set[str]] = {"train_speakers": set(), "validation_speakers": set()}
    folders: dict[str, str] = {}  # the members' training corpora's folders: evaluate recognises them
    unknown = []
    for member in members:
        try:
            record = split_record(resolve_model_name(member))
        except SERError:
            record = None
        if record is None:
            unknown.append(member)
            continue
        for key, speakers in seen.items():
            speakers.update(str(s) for s in record.get(key) or ())
        if isinstance(record.get("corpus_folders"), dict):
            folders.update({str(c): str(f) for c, f in record["corpus_folders"].items()})
    if unknown:
        logging.getLogger(__name__).warning(
            "%s record(s) no split.json: `ser-hf evaluate` cannot tell which speakers they saw", unknown
        )
    return {
        "format": "ser_hf.split/1",
        "protocol": "fusion",
        "description": "the speakers the fusion's members trained and were chosen on (no rows: use --split unseen)",
        **{key: sorted(speakers) for key, speakers in seen.items()},
        "members_without_split": unknown,
        **({"corpus_folders": folders} if folders else {}),
    }
