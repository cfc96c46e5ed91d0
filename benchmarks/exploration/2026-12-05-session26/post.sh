#!/bin/bash
# session 26, after the decision: the bundle's reproduction by ser-hf train (one thread), the new
# default on Polish, and both defaults on short stretches (crop:1.3) of the test corpora (reported)
set -x
D=/work/shared/data
OMP_NUM_THREADS=1 ser-hf train --corpus ravdess=$D/ravdess --corpus tess=$D/tess --label_scheme harmonized7 --split ravdess-fold:5 --preset turn-encoder-2-voices-crops --seed 42 --output_dir runs/s26/bundle > runs/s26/bundle.log 2>&1
cmp runs/s26/bundle/model.safetensors runs/s26/r6t_turn_encoder_2_voices_crops/fold_5/model.safetensors && echo BUNDLE_REPRODUCED
M=ser_hf/bundled/turn_encoder_2_voices_crops
P=polish=runs/data/polish
O=runs/s26/polish
ser-hf evaluate --model $M --corpus $P --out $O/plain
ser-hf evaluate --model $M --corpus $P --adapt --out $O/adapt
ser-hf evaluate --model $M --corpus $P --adapt corpus --out $O/adapt_corpus
ser-hf evaluate --model $M --corpus $P --adapt voices --out $O/adapt_voices
ser-hf evaluate --model $M --corpus $P --label-scheme harmonized7 --out $O/all7
for pair in "s25/xc_turn_encoder_2_voices_int8_seed42 te2" "s26/xc_turn_encoder_2_voices_crops_seed42 te2c"; do
  set -- $pair
  ser-hf evaluate --model runs/$1/fold_1 --corpus tess=$D/tess --label-scheme harmonized7 --channel crop:1.3 --out runs/s26/short/$2_r2t
  ser-hf evaluate --model runs/$1/fold_0 --corpus ravdess=$D/ravdess --label-scheme harmonized7 --channel crop:1.3 --out runs/s26/short/$2_t2r
done
