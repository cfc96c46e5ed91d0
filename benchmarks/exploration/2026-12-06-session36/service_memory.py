"""Session 36: RSS of one EmotionClassifier over N classify calls of random 0.5-7 s clips (a service fed
uploads of many lengths), then after glibc malloc_trim. python service_memory.py 1200; run with
MALLOC_MMAP_THRESHOLD_=131072 or MALLOC_TRIM_THRESHOLD_=0 in the environment to compare."""

import ctypes
import sys
import time

import numpy as np

from ser_hf import EmotionClassifier


def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024


c = EmotionClassifier()
rng = np.random.default_rng(0)
base = (rng.standard_normal(16000 * 7) * 0.1).astype(np.float32)
n = int(sys.argv[1])
c.classify(base[:16000], sampling_rate=16000)
r0 = rss()
t = time.time()
for i in range(n):
    L = int(rng.uniform(0.5, 7) * 16000)
    c.classify(base[:L], sampling_rate=16000)
    if (i + 1) % (n // 4) == 0:
        print(i + 1, round(rss()), flush=True)
print("start", round(r0), "end", round(rss()), "s", round(time.time() - t))
ctypes.CDLL("libc.so.6").malloc_trim(0)
print("after malloc_trim", round(rss()))
