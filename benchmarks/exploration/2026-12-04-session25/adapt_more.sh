#!/bin/bash
# session 25: the new default's recipe scored again with --adapt corpus and --adapt voices (reported only)
set -x
D=/work/shared/data
P=turn-encoder-2-voices
for A in corpus voices; do
  for S in 42 1 2; do
    ser-hf cv --corpus ravdess=$D/ravdess --corpus tess=$D/tess --folds corpus --preset $P --parallel 1 --adapt $A --out runs/s25/xc_turn_encoder_2_voices_int8_seed$S -- --seed $S
  done
  ser-hf cv --corpus ravdess=$D/ravdess --corpus tess=$D/tess --folds ravdess --preset $P --parallel 1 --adapt $A --out runs/s25/r6t_turn_encoder_2_voices_int8
done
