"""Fetch a third, small test corpus: "Emotions in Polish speech recordings" as an ``audiofolder``.

Usage:
    python benchmarks/get_polish.py OUT_DIR

Mięsikowska & Świsulski (2020), Gdańsk University of Technology, DOI 10.34808/h46c-hb44; licence
CC BY (the readme inside the archive, copied to ``OUT_DIR/README.md``; cite it when you report
figures). 450 clips at 16 kHz: 5 male speakers aged 21-23, 6 isolated Polish words x 5 repetitions
x 3 emotions (anger, fear, neutral). The recordings ship inside the source archive of nkululeko
1.14.1 (PyPI, MIT), the only place a package registry carries them; pip downloads that archive
(nothing is installed) and this script unpacks the clips and writes ``metadata.csv``
(file_name, emotion, speaker, gender, word), which ``ser-hf evaluate --corpus polish=OUT_DIR``
reads. Used as a test-only corpus (``benchmarks/RESULTS.md``, session 20).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "nkululeko==1.14.1"
SDIST_SHA256 = "a1eb6d5c"  # prefix of the archive's sha256 (checked, so another upload is noticed)
MEMBER = "data/polish/polish_speech_emotions.zip"
NAME = re.compile(r"^(m\d)\.([ans])_([a-z]+)_(\d)\.wav$")
EMOTIONS = {"a": "anger", "n": "neutral", "s": "fear"}  # the readme: a aggression, s fear, n neutral


def fetch(out: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, "-d", tmp, PACKAGE], check=True, stdout=subprocess.DEVNULL)
        (sdist,) = Path(tmp).glob("nkululeko-*.tar.gz")
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if not digest.startswith(SDIST_SHA256):
            raise SystemExit(f"{sdist.name}: sha256 {digest} is not the archive this script was written for")
        with tarfile.open(sdist) as tar:
            (member,) = [m for m in tar.getmembers() if m.name.endswith(MEMBER)]
            data = tar.extractfile(member).read()
    rows = []
    (out / "audio").mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            name = Path(info.filename).name
            if name.lower() == "readme.md":
                (out / "README.md").write_bytes(z.read(info))
            m = NAME.match(name)
            if not m:
                continue
            (out / "audio" / name).write_bytes(z.read(info))
            speaker, emotion, word, _ = m.groups()
            rows.append({"file_name": f"audio/{name}", "emotion": EMOTIONS[emotion], "speaker": speaker,
                         "gender": "male", "word": word})  # fmt: skip
    rows.sort(key=lambda r: r["file_name"])
    with open(out / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    n = fetch(args.out)
    print(f"{n} clips and metadata.csv in {args.out} (licence and citation: {args.out / 'README.md'})")


if __name__ == "__main__":
    main()
