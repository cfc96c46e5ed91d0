"""Session 27: the checks of shift_checks.py beside the corpus figures of RESULTS.md (read before the
plan), and their Spearman rank correlations over the ten recipes.

    python shift_table.py runs/s27/shift_*.jsonl
"""

import json
import sys
from collections import defaultdict

import numpy as np
from scipy.stats import spearmanr

# RAVDESS -> TESS (3 seeds), TESS -> RAVDESS (3 seeds), Polish (bundle; * r6t fold models): RESULTS.md
CORPUS = {
    "speech-stats-mfcc-channel": (0.583, np.mean([0.255, 0.264, 0.259]), 0.420),
    "speech-stats-mfcc-rooms": (0.558, np.mean([0.243, 0.236, 0.230]), 0.409),
    "speech-stats-mfcc-voices": (0.562, 0.297, 0.418),
    "speech-stats-mfcc-speech-voices": (0.522, 0.312, 0.418),
    "voice-encoder-2-voices": (0.373, 0.323, 0.484),
    "voice-encoder-voices": (0.442, 0.323, 0.451),  # Polish: r6t fold models
    "voice-encoder-2-range-voices": (0.347, 0.315, 0.470),  # Polish: r6t fold models
    "turn-encoder-voices": (0.343, 0.354, 0.478),
    "turn-encoder-2-voices": (0.307, 0.348, 0.422),
    "turn-encoder-2-voices-crops": (0.272, 0.359, 0.438),
}
ua = defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        ua[r["preset"], r["check"]].append(r["ua"])
names = list(CORPUS)
checks = {c: np.array([np.mean(ua[p, c]) for p in names]) for c in ("in-domain", "gender", "words")}
checks["gender cost"] = checks["gender"] - checks["in-domain"]
checks["words cost"] = checks["words"] - checks["in-domain"]
targets = {
    "R->T": np.array([CORPUS[p][0] for p in names]),
    "T->R": np.array([CORPUS[p][1] for p in names]),
    "Polish": np.array([CORPUS[p][2] for p in names]),
}
targets["corpus mean"] = np.mean([targets[t] for t in ("R->T", "T->R", "Polish")], 0)
print(
    "| recipe | in-domain | gender | words | gender cost | words cost | R->T | T->R | Polish | corpus mean |"
)
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for i, p in enumerate(names):
    cells = [f"{checks[c][i]:+.3f}" if "cost" in c else f"{checks[c][i]:.3f}" for c in checks]
    cells += [f"{targets[t][i]:.3f}" for t in targets]
    print(f"| `{p}` | " + " | ".join(cells) + " |")
print("\nSpearman rank correlation over the ten recipes (check vs corpus figure):\n")
print("| check | " + " | ".join(targets) + " |")
print("| --- |" + " ---: |" * len(targets))
for c, v in checks.items():
    print(f"| {c} | " + " | ".join(f"{spearmanr(v, t).statistic:+.2f}" for t in targets.values()) + " |")
