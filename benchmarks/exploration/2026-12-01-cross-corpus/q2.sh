P=/work/main/.venv/bin/python
for pr in r2t t2r; do
for o in "--vad 0" "--vad 35" "--vad 35 --uttnorm 1" "--vad 35 --wavaug 1" "--vad 35 --spknorm 1" "--vad 35 --wavaug 1 --spknorm 1" "--vad 45" "--vad 30"; do
$P stats_baseline.py --protocol $pr $o 2>&1 | grep '^\['
done; done
