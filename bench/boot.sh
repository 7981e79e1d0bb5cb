#!/usr/bin/env bash
# Boot figures of the built server on the embedded defaults (README "Performance"): time from start to the
# first 200 of /health/ready on a fresh and on a reopened DATA_DIR, and the RSS at idle after boot.
# Usage: bash bench/boot.sh [runs]   (after `node scripts/build.js`; run with the pinned Node: npx bash ... or npm exec)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
port=${BOOT_PORT:-3977}
node_bin=$(command -v node)
# The flags `npm start` / `npm run start:prod` / the Dockerfile use (package.json).
node_flags=${BOOT_NODE_FLAGS---max-semi-space-size=4}
export GLIBC_TUNABLES=${BOOT_GLIBC_TUNABLES-glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072}
# As `npm start`: V8's compile cache, empty at the first (fresh) boot of run 1 and warm after it. BOOT_COMPILE_CACHE= (empty) turns it off.
compile_cache=${BOOT_COMPILE_CACHE-$(mktemp -d)/node-compile-cache}
if [ -n "$compile_cache" ]; then export NODE_COMPILE_CACHE=$compile_cache; else unset NODE_COMPILE_CACHE; fi
ms() { date +%s%3N; }
boot() { # $1 data dir; sets $elapsed (ms to ready) and leaves the server running as $pid
  local t0
  t0=$(ms)
  DATA_DIR="$1" PORT=$port HOST=127.0.0.1 LOG_LEVEL=warn "$node_bin" $node_flags dist/src/main.js >>"$1.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "server died:"; tail -20 "$1.log"; exit 1; }
    sleep 0.02
  done
  elapsed=$(( $(ms) - t0 ))
  # CPU the service used until ready (user+sys, with reaped children such as initdb), in ms: on a machine
  # shared with other work this is closer to what an idle machine would show than the wall time.
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print int(($14+$15+$16+$17)*1000/hz)}' "/proc/$pid/stat")
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo "node: $("$node_bin" -v) $node_flags GLIBC_TUNABLES=$GLIBC_TUNABLES NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE:-}"
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d)/data
  boot "$dir"; fresh=$elapsed; fresh_cpu=$cpu
  sleep 5
  node_rss=$(rss_kb "$pid")
  pg_rss=0
  postmaster=$(head -1 "$dir/postgres/postmaster.pid")
  for p in "$postmaster" $(pgrep -P "$postmaster" || true); do
    r=$(rss_kb "$p" 2>/dev/null || echo 0); pg_rss=$((pg_rss + r))
  done
  kill -TERM "$pid"; wait "$pid" || true
  boot "$dir"; reopened=$elapsed; reopened_cpu=$cpu
  kill -TERM "$pid"; wait "$pid" || true
  echo "run $i: fresh ${fresh} ms (service CPU ${fresh_cpu} ms), reopened ${reopened} ms (CPU ${reopened_cpu} ms), load $(cut -d' ' -f1 /proc/loadavg), idle RSS node $((node_rss / 1024)) MB, postgres processes (sum of RSS, shared memory counted in each) $((pg_rss / 1024)) MB"
  rm -rf "$(dirname "$dir")"
done
