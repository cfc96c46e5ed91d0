#!/bin/bash
# session 25, switch_rule.md checks 2 and 3 of the amendment on the r6t fold-5 model of turn-encoder-2-voices (int8 values); run on an idle CPU
set -x
M=runs/s25/r6t_turn_encoder_2_voices_int8/fold_5
python benchmarks/timeline_check.py $M
python benchmarks/bench_default.py --batch-clips 0 --model $M --json runs/s25/bench2_a.json
SER_HF_ENCODER_DTYPE=float32 python benchmarks/bench_default.py --batch-clips 0 --model $M --json runs/s25/bench2_b.json
SER_HF_ENCODER_DTYPE=float32 FBGEMM_ENABLE_INSTRUCTIONS=AVX2 python benchmarks/bench_default.py --batch-clips 0 --model $M --json runs/s25/bench2_c.json
