#!/usr/bin/env bash
# The pooled predict measured from outside (issue 18), both views, from the repository root:
#
#   benchmarks/run-outside.sh OUTDIR
#
# benchmarks/ModelCaching.OutsideBenchmarks is a program of its own that references ModelCaching.ML as a user's app
# references the package. It runs:
# 1. the throughput loop (1 and 2 threads: one raw PredictionEngine per thread against the compatible
#    PredictionEnginePool.Predict(name, input) and the native PredictionPool.Predict(input); each way in a loop compiled
#    for it alone, warmed up, in a rotating order over the rounds), in $OUTSIDE_LOOP_LAUNCHES processes (default 15),
#    written to OUTDIR/OutsideLoop.csv:
#      Threads,Way,Launches,Rounds,MedianRatio,MinRatio,MaxRatio
#    (a round's ratio = the pool's predictions per second per thread ÷ one raw engine per thread's, in the same round,
#    by CPU time; a process's ratio is the median of its rounds; MedianRatio is the median of the processes', Min/Max
#    the lowest and highest process's; >= 0.952 at 1 thread means <= 1.05x the raw engine's time);
# 2. BenchmarkDotNet's PoolVsRawBenchmarks (raw engine as the baseline, the raw engine again as a control, both pools;
#    three launches per case, timed by the benchmark thread's CPU time), its CSV report copied to
#    OUTDIR/OutsideBenchmarks.csv.
# Logs go to OUTDIR/outside-loop.log and OUTDIR/outside-benchmarks.log, the load average before and after to
# OUTDIR/outside-conditions.txt. About 20 minutes on a 2-vCPU machine; run it on a quiet machine.
#
# Knobs (environment): OUTSIDE_LOOP_ARGS (default "--seconds 0.5 --rounds 9 --warmup 1"), OUTSIDE_LOOP_LAUNCHES (default 15), OUTSIDE_BDN_ARGS (extra
# BenchmarkDotNet arguments, e.g. "--launchCount 1 --iterationCount 5" for a quick check), OUTSIDE_CLOCK=wall (time
# BenchmarkDotNet's iterations by the wall clock instead).
# Exits non-zero when the build, either run, or a CSV is missing.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
project="$root/benchmarks/ModelCaching.OutsideBenchmarks"
dll="$project/bin/Release/net10.0/ModelCaching.OutsideBenchmarks.dll"
work="$(mktemp -d "${TMPDIR:-/tmp}/mc-outside.XXXXXX")"
trap 'rm -rf "$work"' EXIT

load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
started="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"

dotnet build -c Release "$project" -nologo -v quiet

# The program reads TestModels/ relative to its own directory; run it from the project like a user would.
cd "$project"

# One process is one draw: tiered PGO compiles ML.NET's engine code (the raw engine's copy, and the one the pool's Predict
# inlines) into a fast or a slower mode per process (docs/pooling.md). So the loop runs in several processes, and each
# way's row is the median of the processes' medians, with the lowest and highest process median beside it.
launches="${OUTSIDE_LOOP_LAUNCHES:-15}"
: > "$out/outside-loop.log"
for ((launch = 1; launch <= launches; launch++)); do
  echo "== loop, process $launch of $launches" | tee -a "$out/outside-loop.log"
  # shellcheck disable=SC2086 # the knobs are word lists
  dotnet "$dll" loop ${OUTSIDE_LOOP_ARGS:---seconds 0.5 --rounds 9 --warmup 1} --csv "$work/loop-$launch.csv" \
    | tee -a "$out/outside-loop.log"
  if [[ ! -s "$work/loop-$launch.csv" ]]; then
    echo "run-outside.sh: the loop's process $launch wrote no CSV" >&2
    exit 1
  fi
done

# Threads,Way,Launches,Rounds,MedianRatio,MinRatio,MaxRatio: Rounds is each process's; Min/Max are process medians.
{
  echo "Threads,Way,Launches,Rounds,MedianRatio,MinRatio,MaxRatio"
  for f in "$work"/loop-*.csv; do tail -n +2 "$f"; done \
    | sort -t, -k1,1n -k2,2 -k4,4g \
    | awk -F, '
        function flush() {
          if (n == 0) return
          median = (n % 2 == 1) ? m[(n + 1) / 2] : (m[n / 2] + m[n / 2 + 1]) / 2
          printf "%s,%s,%d,%s,%.3f,%.3f,%.3f\n", threads, way, n, rounds, median, m[1], m[n]
          n = 0
        }
        $1 != threads || $2 != way { flush(); threads = $1; way = $2; rounds = $3 }
        { m[++n] = $4 }
        END { flush() }'
} > "$work/OutsideLoop.csv"

# shellcheck disable=SC2086
dotnet "$dll" --filter '*PoolVsRawBenchmarks*' --exporters csv --artifacts "$work/bdn" ${OUTSIDE_BDN_ARGS:-} \
  | tee "$out/outside-benchmarks.log"

report="$work/bdn/results/ModelCaching.OutsideBenchmarks.PoolVsRawBenchmarks-report.csv"
for f in "$work/OutsideLoop.csv" "$report"; do
  if [[ ! -s "$f" ]]; then
    echo "run-outside.sh: $f is missing or empty: a run failed" >&2
    exit 1
  fi
done

# BenchmarkDotNet writes a row per case that ran; a case that failed is missing or has no mean.
if [[ "$(tail -n +2 "$report" | wc -l)" -lt 4 ]] || grep -q ',NA,' "$report"; then
  echo "run-outside.sh: the BenchmarkDotNet report lacks a case (see $out/outside-benchmarks.log)" >&2
  exit 1
fi

cp "$work/OutsideLoop.csv" "$out/OutsideLoop.csv"
cp "$report" "$out/OutsideBenchmarks.csv"
load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
printf 'started %s, finished %s\nload average before: %s\nload average after: %s\n' \
  "$started" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$load_before" "$load_after" > "$out/outside-conditions.txt"
cat "$out/outside-conditions.txt"
echo "wrote $out/OutsideLoop.csv and $out/OutsideBenchmarks.csv"
