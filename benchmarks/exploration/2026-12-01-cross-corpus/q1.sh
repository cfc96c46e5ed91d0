P=/work/main/.venv/bin/python
for pr in r2t t2r; do
$P train.py --protocol $pr --epochs 20 --tag base
$P train.py --protocol $pr --epochs 20 --wavaug 0.7 --tag wavaug
$P train.py --protocol $pr --epochs 20 --vad_db 35 --tag vad35
$P train.py --protocol $pr --epochs 20 --wavaug 0.7 --vad_db 35 --tag wavaug+vad35
$P train.py --protocol $pr --epochs 20 --floor_db 60 --tag floor60
done
