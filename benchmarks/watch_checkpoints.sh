#!/usr/bin/env bash
# Quick FID of every new checkpoint of a running `ganzoo train` run (for runs started without
# --eval-every): each time RUN/checkpoint.keras changes, a copy is evaluated with
#   ganzoo evaluate COPY --data DATA --metrics METRICS --num-samples 1000
# (METRICS: fid,pr unless given, e.g. fid,pr,accuracy for a conditional run) and one JSON line
# (the run's epoch count, then the summary) is appended to OUT.
#   benchmarks/watch_checkpoints.sh runs/sngan_twemoji twemoji runs/sngan_twemoji_quick_fid.jsonl &
set -u
run=$1 data=$2 out=$3 metrics=${4:-fid,pr} last=""
copy=$(mktemp --suffix=.keras)
while true; do
  if [ -f "$run/checkpoint.keras" ]; then
    mtime=$(stat -c %Y "$run/checkpoint.keras")
    if [ "$mtime" != "$last" ]; then
      last=$mtime
      cp "$run/checkpoint.keras" "$copy"
      epochs=$(wc -l < "$run/metrics.jsonl")
      if ganzoo evaluate "$copy" --data "$data" --metrics "$metrics" --num-samples 1000 --no-progress \
          --out "$copy.json" > /dev/null 2>&1; then
        python -c "import json, sys; r = json.load(open(sys.argv[1])); print(json.dumps({'epochs': int(sys.argv[2]), **r['summary']}))" \
          "$copy.json" "$epochs" >> "$out"
      fi
    fi
  fi
  sleep 60
done
