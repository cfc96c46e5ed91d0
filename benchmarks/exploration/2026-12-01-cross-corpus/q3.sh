P=/work/main/.venv/bin/python
for pr in r2t t2r; do
$P train.py --protocol $pr --epochs 20 --vad_db 35 --tag vad35c
$P train.py --protocol $pr --epochs 20 --vad_db 35 --norm global --tag vad35c-global
$P train.py --protocol $pr --epochs 20 --vad_db 35 --norm global --wavaug 0.5 --tag vad35c-global-wavaug
done
