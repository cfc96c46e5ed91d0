import sys, numpy as np
from causal import veto_causal
name = sys.argv[1]
cache = np.load(f"{name}_cache.npy", allow_pickle=True).item()
for c, clips in cache.items():
    for S in (0.5, 0.6, 0.7):
        sf = vet = mb = ma = 0
        for pr, dg, sh in clips:
            sp = pr >= 0.5; v = veto_causal(dg.astype(int), sh, S)
            sf += sp.sum(); vet += (sp & v).sum()
            mb += sp.sum() * 512 / 16000 < 0.25; ma += (sp & ~v).sum() * 512 / 16000 < 0.25
        print(name, c, S, "speech frames", sf, "vetoed", vet, f"{100*vet/sf:.3f}%", "misses", mb, "->", ma)
