#!/usr/bin/env bash
# Runs the benchmark suite of docs/benchmarks.md.
#   bench/run_bench.sh quick   # `make bench`: small N, short runs, under 5 minutes
#   bench/run_bench.sh full    # `make bench-full`: the figures of docs/benchmarks.md
# Builds what it needs in build/bench (Release), starts its own PostgreSQL clusters and
# `tandem serve` processes (`tandem esink` and Node's socket.io-client for socketio-fanout), and writes the whole output to build/bench/results/. Every step
# has a time limit (the load generator's own --time-limit, and `timeout` around it), so a
# run cannot hang. Exit status: non-zero if any step failed or produced an invalid run.
set -uo pipefail

mode="${1:-quick}"
case "$mode" in quick | full) ;; *) echo "usage: $0 quick|full" >&2; exit 2 ;; esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="build/bench"
jobs="${JOBS:-$(nproc)}"

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_TESTS=OFF \
    -DTANDEM_BUILD_BENCH=ON || exit 2
fi
cmake --build "$build" -j "$jobs" --target tandem tandem_loadgen tandem_micro_bench || exit 2

mkdir -p "$build/results"
log="$build/results/$(date -u +%Y%m%dT%H%M%SZ)-$mode.log"
loadgen="$build/bench/tandem_loadgen"
tandem="$build/src/cli/tandem"
failures=0

say() { echo "$@" | tee -a "$log"; }

machine() {
  say "== machine"
  say "date: $(date -u +%FT%TZ)"
  say "nproc: $(nproc)"
  say "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  say "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  say "kernel: $(uname -r)"
  say "postgresql: $(/usr/lib/postgresql/15/bin/postgres --version)"
  say "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  say "uptime: $(uptime)"
}

# step NAME LIMIT_SECONDS COMMAND...: runs COMMAND with a hard time limit, logs everything.
step() {
  local name="$1" limit="$2"
  shift 2
  say ""
  say "== $name (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
  say "\$ $*"
  timeout --signal=TERM --kill-after=20 "$limit" "$@" 2>&1 | tee -a "$log"
  local status="${PIPESTATUS[0]}"
  if [ "$status" -ne 0 ]; then
    say "!! $name failed with status $status"
    failures=$((failures + 1))
  fi
}

machine

if [ "$mode" = quick ]; then
  step micro 90 "$build/bench/tandem_micro_bench" --benchmark_min_time=0.05
  step fanout 90 "$loadgen" --tandem "$tandem" --time-limit 80 fanout \
    --subscribers 100,1000 --rate 10 --seconds 5
  step fanout-throughput 110 "$loadgen" --tandem "$tandem" --time-limit 100 fanout \
    --subscribers 1 --rate 30000 --seconds 2 --warmup 0.5 --drain 60 --round-trips 200
  step ingest 90 "$loadgen" --tandem "$tandem" --time-limit 80 ingest \
    --backends postgres,sqlite --clients 8 --batch 100 --seconds 5 --ceiling-seconds 5
  step capture 60 "$loadgen" --tandem "$tandem" --time-limit 50 capture \
    --clients 4 --seconds 5
  step initial-sync 60 "$loadgen" --tandem "$tandem" --time-limit 50 initial-sync \
    --rows 100000
  step connections 60 "$loadgen" --tandem "$tandem" --time-limit 50 connections \
    --connections 2000
  step shared-lists 200 "$loadgen" --tandem "$tandem" --time-limit 190 shared-lists \
    --subscribers 1000 --seconds 3 --warmup 0.5 --membership-changes 50 --drain 30
  step socketio-fanout 150 node bench/socketio/fanout.mjs --tandem "$tandem" --time-limit 140 \
    --sockets 100 --rows 1000 --batch 100
else
  step micro 300 "$build/bench/tandem_micro_bench" --benchmark_min_time=1 \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
  # Latency at a rate the write path sustains (10 commits/s), then at 100 commits/s, then
  # throughput to few subscribers at 30,000 rows/s.
  step fanout-10-per-s 900 "$loadgen" --tandem "$tandem" --time-limit 880 fanout \
    --subscribers 100,1000,10000 --rate 10 --seconds 20 --round-trips 5000
  step fanout-100-per-s 600 "$loadgen" --tandem "$tandem" --time-limit 580 fanout \
    --subscribers 100,1000 --rate 100 --seconds 20 --round-trips 200
  step fanout-throughput 900 "$loadgen" --tandem "$tandem" --time-limit 880 fanout \
    --subscribers 1,10 --rate 30000 --seconds 10 --drain 300 --round-trips 200
  step ingest 600 "$loadgen" --tandem "$tandem" --time-limit 580 ingest \
    --backends postgres,sqlite --clients 8 --batch 100 --seconds 20 --ceiling-seconds 20
  step capture-logical 600 "$loadgen" --tandem "$tandem" --time-limit 580 capture \
    --clients 4 --seconds 20 --rounds 3
  step capture-trigger 600 "$loadgen" --tandem "$tandem" --capture trigger --time-limit 580 \
    capture --clients 4 --seconds 20 --rounds 3
  step initial-sync 900 "$loadgen" --tandem "$tandem" --time-limit 880 initial-sync \
    --rows 1000000
  step connections 900 "$loadgen" --tandem "$tandem" --time-limit 880 connections \
    --connections 50000
  # Permissions fan-out: 10,000 users in 100 shared lists (3 each), the owner case (with and
  # without a rules file) and membership changes, in one run.
  step shared-lists 900 "$loadgen" --tandem "$tandem" --time-limit 880 shared-lists \
    --subscribers 10000 --owner-rate 1000 --shared-rate 100 --seconds 20 \
    --membership-changes 200
  # Socket.IO fan-out (Esink's clients): 100 socket.io-client sockets in one, then two Node
  # receiver processes; 5,000 rows in 100-row INSERTs.
  step socketio-fanout-1-process 400 node bench/socketio/fanout.mjs --tandem "$tandem" \
    --time-limit 380 --sockets 100 --rows 5000 --batch 100 --processes 1
  step socketio-fanout-2-processes 400 node bench/socketio/fanout.mjs --tandem "$tandem" \
    --time-limit 380 --sockets 100 --rows 5000 --batch 100 --processes 2
fi

say ""
say "== done: $failures failed step(s); log: $log"
[ "$failures" -eq 0 ]
