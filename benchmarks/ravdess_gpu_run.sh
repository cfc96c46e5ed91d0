#!/usr/bin/env bash
# The RAVDESS 6-fold speaker-independent protocol, as run on the GPU machine for benchmarks/RESULTS.md.
# Usage: bash benchmarks/ravdess_gpu_run.sh DATA_DIR OUT_DIR
# Three cross-validations (6 folds each, one process per fold) share one GPU at once, each training
# run capped at BUDGET_MIN minutes of wall time (it then stops at an epoch boundary and keeps its
# best-validation checkpoint).
set -u
DATA=${1:?ravdess folder}; RUNS=${2:?output folder}
mkdir -p "$RUNS"
export SER_HF_CUDA_MEMORY_FRACTION=${SER_HF_CUDA_MEMORY_FRACTION:-0.05} PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
COMMON="--disable_tqdm true --save_total_limit 1 --per_device_eval_batch_size 32 --max_train_minutes ${BUDGET_MIN:-7}"
# family A: the seed CNN-BiLSTM-attention (log-mel 128 x 300) with online batched augmentation on the GPU
A="--augment light --per_device_train_batch_size 32 --learning_rate 1e-3 --num_train_epochs 150 --early_stopping_patience 20"
# family B: CNN-Transformer, same data path, smaller learning rate for the Transformer
B="--augment light --per_device_train_batch_size 32 --learning_rate 5e-4 --optimizer_name adamw --weight_decay 0.01 --num_train_epochs 150 --early_stopping_patience 20"
# the seed design as described: Adam 1e-3, batch 16, 2 offline augmented copies, patience 10
SEED="--augment seed --per_device_train_batch_size 16 --learning_rate 1e-3 --num_train_epochs 60 --early_stopping_patience 10"
t0=$(date +%s)
python3 -m ser_hf.cli cv --corpus ravdess=$DATA --preset seed-logmel-bilstm --parallel 6 --out $RUNS/cv_seed -- $SEED $COMMON > $RUNS/cv_seed.log 2>&1 &
python3 -m ser_hf.cli cv --corpus ravdess=$DATA --preset seed-logmel-bilstm --parallel 6 --out $RUNS/cv_bilstm -- $A $COMMON > $RUNS/cv_bilstm.log 2>&1 &
python3 -m ser_hf.cli cv --corpus ravdess=$DATA --preset cnn-transformer --parallel 6 --out $RUNS/cv_transformer -- $B $COMMON > $RUNS/cv_transformer.log 2>&1 &
# the speaker-DEPENDENT contrast: random stratified 70/15/15 clip split (leaks speakers; labelled so)
python3 -m ser_hf.training --corpus ravdess=$DATA --split random --val_fraction 0.15 --preset seed-logmel-bilstm $A $COMMON --output_dir $RUNS/random_bilstm > $RUNS/random_bilstm.log 2>&1 &
wait
echo "all cv runs finished in $(( $(date +%s) - t0 )) s"
# pre-registered ensemble of the two families, per fold, on that fold's own test actors
python3 benchmarks/ensemble_cv.py --corpus ravdess=$DATA --runs $RUNS/cv_bilstm $RUNS/cv_transformer --out $RUNS/cv_ensemble > $RUNS/ensemble.log 2>&1
echo "total $(( $(date +%s) - t0 )) s"
