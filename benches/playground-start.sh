#!/usr/bin/env bash
# Time from starting `warroom playground` to its page answering, and the
# page's size. Usage: benches/playground-start.sh [path/to/warroom] [runs]
set -euo pipefail
bin="${1:-target/release/warroom}"
runs="${2:-5}"
port=$((20000 + RANDOM % 20000))
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" playground --listen "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.005; done
  echo "page answered after $(( ($(date +%s%N) - start) / 1000000 )) ms"
  kill "$pid"; wait "$pid" || true
done
total=0
"$bin" playground --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.005; done
for asset in / /app.css /app.js; do
  bytes=$(curl -fs "http://127.0.0.1:$port$asset" | wc -c)
  echo "$asset: $bytes bytes"
  total=$((total + bytes))
done
echo "page total (HTML+CSS+JS): $total bytes"
kill "$pid"; wait "$pid" || true
