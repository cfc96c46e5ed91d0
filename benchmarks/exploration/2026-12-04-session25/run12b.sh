#!/bin/bash
# session 25: the 12-run package check of turn-encoder-2-voices on int8 values (switch_rule.md check 1),
# then the RAVDESS-only 6-fold (reported)
set -x
D=/work/shared/data
P=turn-encoder-2-voices
O=runs/s25
ser-hf cv --corpus ravdess=$D/ravdess --corpus tess=$D/tess --folds ravdess --preset $P --parallel 2 --adapt --out $O/r6t_turn_encoder_2_voices_int8
for S in 42 1 2; do
  ser-hf cv --corpus ravdess=$D/ravdess --corpus tess=$D/tess --folds corpus --preset $P --parallel 2 --adapt --out $O/xc_turn_encoder_2_voices_int8_seed$S -- --seed $S
done
ser-hf cv --corpus ravdess=$D/ravdess --label-scheme harmonized7 --preset $P --parallel 2 --adapt --out $O/cv_turn_encoder_2_voices_int8
