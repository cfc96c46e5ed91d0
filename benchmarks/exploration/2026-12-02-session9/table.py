"""The README's table from the jsonl rows (one line per variant; the references from sessions 6-7).

python table.py
"""

import json
from pathlib import Path

here = Path(__file__).parent
ORDER = ["R->T", "T->R", 0, 1, 2, 3, 4, 5]


def rows(*files, variant=None):
    out = {}
    for f in files:
        for line in open(here / f):
            r = json.loads(line)
            if variant is None or r["variant"] == variant:
                out[r["fold"]] = r
    return out


def line(name, by_fold, reference=None):
    r6t = [by_fold[k] for k in range(6) if k in by_fold]
    done = [k for k in ORDER if k in by_fold]
    mean = sum(by_fold[k]["val_score"] for k in done) / len(done)
    ref = "" if reference is None else f"{sum(reference[k]['val_score'] for k in done) / len(done):.3f}"
    m = [r["test_by_gender"]["male"] for r in r6t]
    f = [r["test_by_gender"]["female"] for r in r6t]
    xc = {k: by_fold[k] for k in ("R->T", "T->R") if k in by_fold}
    tr = xc.get("T->R")
    return " | ".join([
        f"| {name}", " ".join(f"{r['val_score']:.3f}" for r in r6t),
        f"{sum(r['val_score'] for r in r6t) / len(r6t):.3f}" if r6t else "",
        " / ".join(f"{r['val_score']:.3f}" for r in xc.values()),
        f"**{mean:.3f}**" + ("" if len(done) == 8 else f" ({len(done)} fold{'s' * (len(done) > 1)})"), ref,
        " ".join(f"{r['test_ua']:.3f}" for r in r6t),
        f"{sum(r['test_ua'] for r in r6t) / len(r6t):.3f}" if r6t else "",
        f"{sum(m) / len(m):.3f} / {sum(f) / len(f):.3f}" if r6t else "",
        f"{xc['R->T']['test_ua']:.3f}" if "R->T" in xc else "",
        "" if tr is None else f"{tr['test_ua']:.3f} ({tr['test_by_gender']['male']:.3f} / {tr['test_by_gender']['female']:.3f}) |",
    ])  # fmt: skip


s6 = here.parent / "2026-12-02-session6"
rooms = rows(s6 / "combo.jsonl") | {
    k: r for k, r in rows(s6 / "rooms.jsonl", variant="rooms").items() if k in ("R->T", "T->R")
}
voices = rows(here.parent / "2026-12-02-session7" / "pitch2.jsonl")
print(line("rooms x1 (the default's recipe, session 6; reference)", rooms))
print(line("voices x2 (session 7, bundled by name; reference)", voices))
print(line("`ref`: rooms x1 through `fits.py`", rows("ref.jsonl"), rooms))
print(line("`easy`: shared weights only at test", rows("easy.jsonl"), rooms))
print(line("`gated`: shared + gated gender weights (corpus weights dropped)", rows("gated.jsonl"), rooms))
gender = rows("gated.jsonl") | rows("gender.jsonl", "gender4.jsonl", "gender5.jsonl")
print(line("`gender`: shared + gated gender weights, no corpus weights", gender, rooms))
gender_voices = {"T->R": voices["T->R"]} | rows("gv1.jsonl", "gv2.jsonl")  # T->R: the plain voices fit
print(line("`gender-voices`: `gender` on voices x2", gender_voices, voices))
