#!/usr/bin/env bash
# Regenerates everything docs/benchmarks.md shows, in one sitting, from the repository root:
#
#   benchmarks/run-results.sh
#
# 1. one BenchmarkDotNet invocation that runs exactly the benchmark methods the page uses (each class keeps its own
#    short job, written on the class);
# 2. the reload-under-load harness (latency percentiles while the model is reloaded every 100 ms, which
#    BenchmarkDotNet's per-iteration means cannot give);
# 3. copies the CSV reports, the harness's output and a description of the machine to docs/benchmarks/data/results/
#    (replacing the previous run's files);
# 4. runs benchmarks/ModelCaching.Charts, which draws the page's charts in docs/images and writes the tables into
#    docs/benchmarks.md between its generated markers.
#
# `benchmarks/run-results.sh --charts-only` skips steps 1-3 and redraws from the CSVs already in docs/benchmarks/data/results.
#
# About 20 minutes on a 2-vCPU machine. Run it on a quiet machine (nothing else building or benchmarking) and say so:
#   MC_RUN_CONDITIONS="quiet machine: nothing else running" benchmarks/run-results.sh
# (the page shows that sentence beside the machine's description and its load average before and after).
# BenchmarkDotNet needs redis-server on the PATH for the fleet rows (FleetHitBenchmarks starts its own).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="docs/benchmarks/data/results"
work="$(mktemp -d "${TMPDIR:-/tmp}/mc-results.XXXXXX")"
started="$(date -u +%s)"

# The methods the page uses, by question. BenchmarkDotNet's filter is a glob over Namespace.Class.Method.
filters=(
  # which policy: host start and first request per policy, and loading the file with no cache
  '*PolicyComparisonBenchmarks.StartLazy' '*PolicyComparisonBenchmarks.StartEager' '*PolicyComparisonBenchmarks.StartExpiring'
  '*PolicyComparisonBenchmarks.LoadDirectly' '*PolicyComparisonBenchmarks.FirstLazy' '*PolicyComparisonBenchmarks.FirstEager'
  '*PolicyComparisonBenchmarks.FirstExpiring' '*PolicyComparisonBenchmarks.FirstAfterIdleUnload'
  # what a hit costs
  '*CacheHitBenchmarks.StaticField' '*CacheHitBenchmarks.LazyValue' '*CacheHitBenchmarks.MemoryCacheGet'
  '*CacheHitBenchmarks.GetModelLazy' '*CacheHitBenchmarks.GetModelEager' '*CacheHitBenchmarks.GetModelExpiring'
  '*CacheHitBenchmarks.AcquireAndDispose'
  # what pooling costs (1 and 2 threads)
  '*PredictionBenchmarks.RawEngine' '*PredictionBenchmarks.PooledPredict' '*PredictionBenchmarks.CompatibilityPredict'
  '*PredictionBenchmarks.ObjectPoolWithConditionalWeakTable' '*PredictionBenchmarks.LockAroundOneEngine'
  # reload under load: the hit while refresh-ahead reloads run back to back
  '*PolicyComparisonBenchmarks.HitExpiringQuiet' '*PolicyComparisonBenchmarks.HitExpiringRefreshing'
  # many models: a lookup by name among one or 1,000 names
  '*LookupByNameBenchmarks.DictionaryTryGetValue' '*LookupByNameBenchmarks.RegisteredGetCacheGetModel'
  '*LookupByNameBenchmarks.TemplateGetCacheGetModel'
  # ONNX (1 and 2 threads)
  '*OnnxBenchmarks.RawSessionRun' '*OnnxBenchmarks.SessionRunUnderLease' '*OnnxBenchmarks.TypedApi'
  # the fleet: the same hit and pooled prediction with and without a Redis fleet
  '*FleetHitBenchmarks.GetModelWithoutFleet' '*FleetHitBenchmarks.GetModelInFleet'
  '*FleetHitBenchmarks.PredictWithoutFleet' '*FleetHitBenchmarks.PredictInFleet'
)

if [[ "${1:-}" != "--charts-only" ]]; then
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
dotnet run -c Release --project benchmarks/ModelCaching.Benchmarks -- \
  --filter "${filters[@]}" --exporters csv --artifacts "$work/bdn" | tee "$work/benchmarkdotnet.log"
dotnet run -c Release --no-build --project benchmarks/ModelCaching.Benchmarks -- \
  --harness reload-under-load --csv "$work/ReloadUnderLoadSeries.csv" | tee "$work/reload-under-load.log" || true
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
finished="$(date -u +%s)"

rm -rf "$results"
mkdir -p "$results"
for report in "$work"/bdn/results/*-report.csv; do
  name="$(basename "$report" -report.csv)"
  cp "$report" "$results/${name##*.}.csv"
done
cp "$work/ReloadUnderLoadSeries.csv" "$results/"
# The harness prints its percentiles as a Markdown table; the same rows as CSV.
{
  echo 'Calls,Count,P50Us,P99Us,P999Us,MaxUs,Failed'
  grep -E '^\| (steady|reload phase)' "$work/reload-under-load.log" |
    sed -E 's/^\| //; s/ \|$//; s/,//g; s/ \| /,/g'
} > "$results/ReloadUnderLoad.csv"
grep -E '^(reload-under-load|Reloads|Failed calls):' "$work/reload-under-load.log" > "$results/ReloadUnderLoad.txt"

# The machine and the run's conditions, for the page's "machine" table.
{
  echo 'Item,Value'
  echo "Date (UTC),$(date -u -d "@$started" '+%Y-%m-%d %H:%M')"
  echo "Duration (minutes),$(( (finished - started + 30) / 60 ))"
  echo "Commit,$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks/ModelCaching.Benchmarks || echo ' + uncommitted changes')"
  echo "CPU,\"$(nproc) vCPUs, $(lscpu | sed -nE 's/^Model name: +//p' | head -1)\""
  echo "Memory,$(free -g | awk '/^Mem:/ { print $2 }') GiB"
  echo "OS,\"$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)\""
  echo ".NET SDK,$(dotnet --version)"
  echo "BenchmarkDotNet,$(sed -nE 's/.*Include="BenchmarkDotNet" Version="([^"]+)".*/\1/p' Directory.Packages.props)"
  echo "Load average before,\"$load_before\""
  echo "Load average after,\"$load_after\""
  echo "Conditions,\"${MC_RUN_CONDITIONS:-not stated (set MC_RUN_CONDITIONS to say whether the machine was quiet)}\""
} > "$results/machine.csv"
fi

dotnet run -c Release --project benchmarks/ModelCaching.Charts -- "$results" docs/images docs/benchmarks.md
rm -rf "$work"
echo "Done; see docs/benchmarks.md and $results."
