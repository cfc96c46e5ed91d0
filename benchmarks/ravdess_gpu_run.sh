#!/usr/bin/env bash
# The RAVDESS 6-fold speaker-independent runs behind benchmarks/RESULTS.md (third session), in order.
# Usage: bash benchmarks/ravdess_gpu_run.sh DATA_DIR OUT_DIR
# Steps 1-3 ran on one H100 (each fold its own process; several cross-validations at once share the
# GPU, so each process gets a CUDA memory cap and a wall-clock safety budget). Steps 4-5 need no GPU.
set -eu
DATA=${1:?ravdess folder}; RUNS=${2:?output folder}
mkdir -p "$RUNS"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
COMMON="--disable_tqdm true --save_total_limit 1 --per_device_eval_batch_size 32"
# family A: the seed CNN-BiLSTM-attention (log-mel 128 x 300) with online batched augmentation on the GPU
A="--augment light --per_device_train_batch_size 32 --learning_rate 1e-3 --num_train_epochs 150 --early_stopping_patience 20"
# family B: CNN-Transformer, same data path, smaller learning rate for the Transformer
B="--augment light --per_device_train_batch_size 32 --learning_rate 5e-4 --optimizer_name adamw --weight_decay 0.01 --num_train_epochs 150 --early_stopping_patience 20"
t0=$(date +%s)
# 1. families A and B (seed 42) at once: 12 processes, 7-minute budget (it stopped 5 of B's 6 folds)
SER_HF_CUDA_MEMORY_FRACTION=0.07 python3 -m ser_hf.cli cv --corpus ravdess=$DATA --preset seed-logmel-bilstm --parallel 6 \
  --out $RUNS/cv_bilstm -- $A $COMMON --max_train_minutes 7 > $RUNS/cv_bilstm.log 2>&1 &
SER_HF_CUDA_MEMORY_FRACTION=0.07 python3 -m ser_hf.cli cv --corpus ravdess=$DATA --preset cnn-transformer --parallel 6 \
  --out $RUNS/cv_transformer -- $B $COMMON --max_train_minutes 7 > $RUNS/cv_transformer.log 2>&1 &
wait
# 2-3. two more seeds of family B, 6 processes each (the 8-minute budget was not reached: early stopping ended every fold)
for seed in 2 3; do
  SER_HF_CUDA_MEMORY_FRACTION=0.12 python3 -m ser_hf.cli cv --corpus ravdess=$DATA --preset cnn-transformer --parallel 6 \
    --out $RUNS/cv_transformer_s$seed -- $B --seed $seed $COMMON --max_train_minutes 8 > $RUNS/cv_transformer_s$seed.log 2>&1
done
echo "deep cross-validations: $(( $(date +%s) - t0 )) s"
# 4. functionals + logistic regression, nested selection on validation actors, fold models saved (CPU, ~15-20 min)
python3 benchmarks/functionals_cv.py --corpus ravdess=$DATA --candidates compare+ours compare ours \
  --cache $RUNS/functionals.npz --save-models --out $RUNS/cv_functionals > $RUNS/cv_functionals.log 2>&1
# 5. the pre-registered fusion (benchmarks/results/cv_fusion/PREREGISTRATION.md): 1/2 functionals, 1/6 per CNN seed
python3 benchmarks/ensemble_cv.py --corpus ravdess=$DATA --runs $RUNS/cv_functionals $RUNS/cv_transformer \
  $RUNS/cv_transformer_s2 $RUNS/cv_transformer_s3 --weights 3 1 1 1 --out $RUNS/cv_fusion > $RUNS/cv_fusion.log 2>&1
# the bundled default model: the fold-5 members fused into one pipeline-ready folder
python3 -m ser_hf.fusion --member $RUNS/cv_functionals/fold_5/model $RUNS/cv_transformer/fold_5 \
  $RUNS/cv_transformer_s2/fold_5 $RUNS/cv_transformer_s3/fold_5 --weights 3 1 1 1 --out $RUNS/fusion_fold5
echo "total $(( $(date +%s) - t0 )) s"
