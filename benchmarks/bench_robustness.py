"""How a model holds up when the audio has been through a noisy room, a phone line or a codec.

Usage:
    python benchmarks/bench_robustness.py --model DIR --corpus NAME=PATH [--split all]
        [--label-scheme harmonized7] [--channels clean noise:20 ...] [--sample N] [--adapt] [--out DIR]

Every clip of the split goes through each channel condition (:mod:`ser_hf.data.channel`: the
same conditions as ``ser-hf evaluate --channel``; noise seeded by the clip's row, so reruns give
the same audio) and is scored with the package's own ``evaluate_model``. Printed and written to
``--out`` (``robustness.json``, ``robustness.md``): UA per condition, its ratio to the clean UA
and male / female UA. ``--sample N`` scores N rows drawn at random (seed 0) instead of all. Use a model that never saw the corpus (a cross-corpus fold of ``ser-hf cv
--folds corpus``, or the default on RAVDESS actors 21-24 with ``--split ravdess-fold:5``), so the
clean row is an honest figure too.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from ser_hf.inference.bundled import resolve_model_name  # noqa: E402
from ser_hf.training.evaluation import (  # noqa: E402
    default_label_scheme,
    evaluate_model,
    load_eval_data,
    load_model,
    select_rows,
)

CHANNELS = [
    "clean",
    "gain:-20",
    "noise:30",
    "noise:20",
    "noise:10",
    "pink:20",
    "pink:10",
    "telephone",
    "mp3:32",
    "opus:12",
    "clip:0.3",
    "reverb:0.6",
    "telephone+pink:20",
]


def run(
    model_dir: str,
    corpora: list[str],
    split: str,
    label_scheme: str | None,
    channels: list[str],
    adapt: bool,
    sample: int | None = None,
):
    model, extractor = load_model(model_dir, "cpu")
    names = [c.split("=", 1)[0].strip().lower() for c in corpora]
    scheme = label_scheme or default_label_scheme(names, model.config)
    ds = load_eval_data(corpora, scheme)
    rows = select_rows(ds, split, "test", model_dir=model_dir)
    if sample is not None and sample < len(rows):
        rows = sorted(random.Random(0).sample(rows, sample))
    part = ds.select(rows)
    rows = []
    for channel in channels:
        started = time.perf_counter()
        m = evaluate_model(
            model, part, feature_extractor=extractor, device="cpu", adapt=adapt, channel=channel
        )
        gender = m.get("per_gender", {})
        rows.append(
            {
                "channel": channel,
                "ua": m["ua"],
                "wa": m["wa"],
                "male_ua": gender.get("male", {}).get("ua"),
                "female_ua": gender.get("female", {}).get("ua"),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        clean = rows[0]["ua"] if rows[0]["channel"] == "clean" else None
        r = rows[-1]
        print(
            f"{channel:>20}  UA {r['ua']:.3f}"
            + (f"  ({r['ua'] / clean:.2f}x clean)" if clean else "")
            + (f"  m {r['male_ua']:.3f} / f {r['female_ua']:.3f}" if r["male_ua"] is not None else "")
            + f"  {r['seconds']:.0f} s",
            flush=True,
        )
    return {
        "model": model_dir,
        "corpora": corpora,
        "split": split,
        "sample": sample,
        "n": len(part),
        "adapt": adapt,
        "rows": rows,
    }


def markdown(result: dict) -> str:
    clean = next((r["ua"] for r in result["rows"] if r["channel"] == "clean"), None)
    lines = [
        f"Model `{result['model']}` on {', '.join(result['corpora'])} (split {result['split']}, "
        f"{result['n']} clips{', adapted per speaker' if result['adapt'] else ''}).",
        "",
        "| channel | UA | / clean | male UA | female UA |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rows"]:
        ratio = f"{r['ua'] / clean:.2f}" if clean else ""
        m = f"{r['male_ua']:.3f}" if r["male_ua"] is not None else ""
        f = f"{r['female_ua']:.3f}" if r["female_ua"] is not None else ""
        lines.append(f"| {r['channel']} | {r['ua']:.3f} | {ratio} | {m} | {f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="saved model folder or a bundled model's name")
    p.add_argument("--corpus", action="append", required=True, metavar="NAME=PATH")
    p.add_argument("--split", default="all", help="all, model (the folder's split.json), ravdess-fold:K, ...")
    p.add_argument("--label-scheme", dest="label_scheme")
    p.add_argument("--channels", nargs="+", default=CHANNELS)
    p.add_argument("--sample", type=int, help="score this many rows drawn at random (seed 0), not all")
    p.add_argument("--adapt", action="store_true", help="also adapt per test speaker (unlabelled)")
    p.add_argument("--out", help="folder for robustness.json and robustness.md")
    args = p.parse_args()
    result = run(
        str(resolve_model_name(args.model)),
        args.corpus,
        args.split,
        args.label_scheme,
        args.channels,
        args.adapt,
        args.sample,
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "robustness.json").write_text(json.dumps(result, indent=2))
        (out / "robustness.md").write_text(markdown(result))
        print(f"wrote {out}/robustness.json, robustness.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
