#!/bin/bash
# session 25: the new bundled default on the Polish corpus (reported; nothing chosen on it)
set -x
M=ser_hf/bundled/turn_encoder_2_voices
P=polish=runs/data/polish
O=runs/s25/polish
ser-hf evaluate --model $M --corpus $P --out $O/plain
ser-hf evaluate --model $M --corpus $P --adapt --out $O/adapt
ser-hf evaluate --model $M --corpus $P --adapt corpus --out $O/adapt_corpus
ser-hf evaluate --model $M --corpus $P --adapt voices --out $O/adapt_voices
ser-hf evaluate --model $M --corpus $P --label-scheme harmonized7 --out $O/all7
ser-hf evaluate --model $M --corpus $P --label-scheme harmonized7 --adapt --out $O/all7_adapt
