"""Polish, the default with all 7 classes in the argmax, plain and adapted per speaker (UA over the 3 true classes)."""
import csv, sys
from collections import defaultdict
import numpy as np
import ser_hf
root = sys.argv[1]
rows = list(csv.DictReader(open(f"{root}/metadata.csv")))
to = {"anger": "angry", "fear": "fearful", "neutral": "neutral"}
by = defaultdict(list)
for r in rows:
    by[r["speaker"]].append(r)
for adapt in (False, True):
    hits = defaultdict(list)
    for spk, rs in sorted(by.items()):
        clf = ser_hf.EmotionClassifier()
        paths = [f"{root}/{r['file_name']}" for r in rs]
        if adapt:
            clf.adapt(paths)
        out = clf.classify_batch(paths, top_k=1)
        for r, o in zip(rs, out):
            hits[to[r["emotion"]]].append(o[0]["label"] == to[r["emotion"]])
    print("adapted" if adapt else "plain", "UA 7-class argmax", round(float(np.mean([np.mean(v) for v in hits.values()])), 3))
