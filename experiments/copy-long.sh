#!/bin/sh
# Issue 14's experiment: the committed copy NTMs (trained on lengths 1..20 with 128 slots)
# evaluated at lengths up to 1,000, with their trained 128 slots and with 2 x length slots.
# Writes experiments/results/copy-long/<model>-<128|2x>/ (config.toml with the model renamed,
# eval.json; the weights stay in experiments/results/copy/) and three figures in plots/.
# Run from the repository root: sh experiments/copy-long.sh   (NTM=path/to/ntm to pick a binary)
set -e
B=${NTM:-target/release/ntm}
export RAYON_NUM_THREADS=1
R=experiments/results/copy-long
LENGTHS=20,50,120,250,500,1000
rm -rf $R && mkdir -p $R
for m in ntm ntm-ff; do
  for v in 128 2x; do
    d=$R/$m-$v; mkdir -p $d
    cp experiments/results/copy/$m/config.toml experiments/results/copy/$m/checkpoint.safetensors experiments/results/copy/$m/checkpoint.json $d/
    sed -i "s/^\[models\.$m\]/[models.$m-$v]/; s/^\[models\.$m\./[models.$m-$v./; s/^\[train\.models\.$m\]/[train.models.$m-$v]/" $d/config.toml
  done
  $B eval $R/$m-128 --lengths $LENGTHS --save
  $B eval $R/$m-2x --lengths $LENGTHS --slots 2x --save
done
$B plot generalisation $R -o plots/copy-long.png
$B plot heads $R/ntm-2x --length 500 --slots 1000 -o plots/copy-long-heads-500.png
$B plot heads $R/ntm-ff-2x --length 500 --slots 1000 -o plots/copy-long-ff-heads-500.png
# The traces (50 MB each) and the copied weights are not kept (checkpoint.json came along so
# that the heads figures say how long the models trained).
rm -f plots/copy-long-heads-500.json plots/copy-long-ff-heads-500.json $R/*/checkpoint.safetensors $R/*/checkpoint.json
