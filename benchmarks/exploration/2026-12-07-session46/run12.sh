#!/bin/bash
# session 46: the 12-run package check of turn-encoder-2-nopos-voices-crops (plan.md's amendment),
# as session 26's run12.sh (the r6t run one fold at a time: its first fold fills the feature cache); then the RAVDESS-only 6-fold (reported after the decision)
set -x
D=/work/shared/data
P=turn-encoder-2-nopos-voices-crops
O=runs/s46
ser-hf cv --corpus ravdess=$D/ravdess --corpus tess=$D/tess --folds ravdess --preset $P --parallel 1 --adapt --out $O/r6t_turn_encoder_2_nopos_voices_crops
for S in 42 1 2; do
  ser-hf cv --corpus ravdess=$D/ravdess --corpus tess=$D/tess --folds corpus --preset $P --parallel 2 --adapt --out $O/xc_turn_encoder_2_nopos_voices_crops_seed$S -- --seed $S
done
ser-hf cv --corpus ravdess=$D/ravdess --label-scheme harmonized7 --preset $P --parallel 2 --adapt --out $O/cv_turn_encoder_2_nopos_voices_crops
