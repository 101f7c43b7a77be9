#!/usr/bin/env bash
# The MNIST rows of Table 2 (FP, DoReFa, TTQ, aTTQ t_min=-1 t_max=0.5), Table 1's epochs,
# 10 repetitions (the paper's count), niced and one torch thread per worker.
# Trained models and checkpoints go to runs/mnist_table2/ (not committed); the table is
# copied to results/mnist_table2.{json,md}.
# Usage: scripts/run_table2_mnist.sh [REPS] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-10}
WORKERS=${2:-2}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
nice -n 10 .venv/bin/attq-fpga experiment table2 --dataset mnist --reps "$REPS" \
    --workers "$WORKERS" --out runs/mnist_table2 --no-progress
mkdir -p results
cp runs/mnist_table2/table2_mnist.json results/mnist_table2.json
cp runs/mnist_table2/table2_mnist.md results/mnist_table2.md
echo "wrote results/mnist_table2.json and results/mnist_table2.md"
