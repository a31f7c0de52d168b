#!/bin/bash
# Issue 6's check, as a new user would run it: fresh simulated images through
# `astro-i2i reconstruct` (K = 10, shipped model), scored by `astro-i2i evaluate`,
# and every product file checked with fitsverify (if installed).
# Usage: bash benchmarks/cli_evaluate.sh [OUTDIR] [N] [SEED]   (defaults: cli_evaluate 200 4000000)
set -e
D=${1:-cli_evaluate}
N=${2:-200}
SEED=${3:-4000000}
rm -rf "$D"
astro-i2i simulate "$D" --n "$N" --seed "$SEED" > /dev/null
start=$(date +%s)
ls "$D"/dirty_?????.fits | xargs -P 2 -I{} sh -c 'f={}; OMP_NUM_THREADS=1 astro-i2i --log-level warning reconstruct "$f" -o "${f%.fits}_i2i.fits" --no-progress > /dev/null'
echo "reconstructed $N images in $(( $(date +%s) - start )) s (2 processes)"
astro-i2i evaluate --truth "$D"/truth.ecsv "$D"/dirty_?????_i2i.fits
if command -v fitsverify > /dev/null; then
    bad=0
    for f in "$D"/dirty_?????_i2i.fits; do
        fitsverify -q "$f" | grep -q "verification OK" || { bad=$((bad + 1)); fitsverify "$f" | tail -3; }
    done
    echo "fitsverify: $bad of $N product files with errors"
fi
