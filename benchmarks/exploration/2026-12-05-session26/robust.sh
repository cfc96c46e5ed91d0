#!/bin/bash
# session 26: the new default's recipe (seed-42 cross-corpus fold models) through the channel conditions (reported)
set -x
CH="clean noise:30 noise:20 pink:20 telephone mp3:32 reverb:0.6 noise:10 pink:10 eq:10 clip:0.3 opus:12 telephone+pink:20"
X=runs/s26/xc_turn_encoder_2_voices_crops_seed42
python benchmarks/bench_robustness.py --model $X/fold_1 --corpus tess=/work/shared/data/tess --sample 700 --channels $CH --out runs/s26/robustness/te2c_r2t &
python benchmarks/bench_robustness.py --model $X/fold_0 --corpus ravdess=/work/shared/data/ravdess --sample 700 --channels $CH --out runs/s26/robustness/te2c_t2r
wait
