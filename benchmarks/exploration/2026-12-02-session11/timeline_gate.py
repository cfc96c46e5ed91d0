import sys, numpy as np, torch
sys.path[:0]=["/work/main","/work/main/tests"]
from pathlib import Path
from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.inference.bundled import resolve_model_name
from ser_hf.data.audio import load_audio
SR=16000
EX=Path("/work/main/demo/examples")
for name in sys.argv[1:]:
    c=EmotionClassifier(str(resolve_model_name(name)),device="cpu")
    m=c.backend.model
    gates=[]
    if getattr(m,"gender_gate",None) is not None:
        m.gender_gate.register_forward_hook(lambda mod,i,o: gates.append(torch.softmax(o,-1)[:,0].detach().numpy().copy()))
    clips=[load_audio(p) for p in sorted(EX.glob("*.flac"))]
    parts,bounds,t=[],[],0.0
    share=60/len(clips)
    for p,clip in zip(sorted(EX.glob("*.flac")),clips):
        gates.clear()
        r=c.classify(clip,top_k=None); lab=r[0]["label"]
        g=float(gates[-1][0]) if gates else None
        part=np.tile(clip,int(np.ceil(share*SR/len(clip))))[:int(share*SR)]
        parts.append(part); bounds.append((t,t+len(part)/SR,lab,g,p.name[-8:-5])); t+=len(part)/SR
    audio=np.concatenate(parts)
    gates.clear()
    tl=c.timeline(audio,window_s=4.0,hop_s=1.0) if True else None
    ws=tl.windows if hasattr(tl,"windows") else tl
    print(name, type(tl))
    allg=np.concatenate(gates) if gates else None
    agree=chk=0
    for i,w in enumerate(ws):
        st,en=w["start"],w["end"]
        seg=[b for b in bounds if b[0]<=st and en<=b[1]]
        if not seg or w.get("silent"): continue
        chk+=1; ok=w["label"]==seg[0][2]; agree+=ok
        gates.clear(); r2=c.classify(audio[int(round(st*SR)):int(round(en*SR))],top_k=None); wg=float(gates[-1][0]) if gates else None
        top2=[(d["label"][:4],round(d["score"],2)) for d in r2[:2]]
        print(f"wg={wg} {top2} "+f"  {st:5.1f} clip {seg[0][4]} alone={seg[0][2]:9s} g={seg[0][3]} win={w['label']:9s} {'ok' if ok else 'XX'}")
    print(name, agree, chk)
    if allg is not None: print("gates per window forward", np.round(allg,2))
