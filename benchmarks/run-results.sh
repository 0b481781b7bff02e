#!/usr/bin/env bash
# Regenerates everything docs/benchmarks.md shows, in one sitting, from the repository root:
#
#   benchmarks/run-results.sh
#
# 1. builds the benchmarks project twice: as it is, and at the revision before issue 18's refactor ($MC_BEFORE_REV,
#    default ffe7ce0: a detached git worktree in the temp folder, removed at exit). Either build failing stops the run;
# 2. runs one BenchmarkDotNet invocation with exactly the benchmark methods the page uses but for the before/after classes
#    (each class keeps its own short job, written on the class); then, class by class, CacheHitBenchmarks,
#    PredictionBenchmarks and LookupByNameBenchmarks (the page's methods) at the before revision and now, one after the
#    other (which goes first alternates from class to class), with $MC_BEFORE_AFTER_LAUNCHES processes per row (default 3: one process is one draw of the JIT's and the
#    memory's layout, which moves identical code by more than the few percent a before/after verdict needs; the
#    report's mean and standard deviation are then over every process's iterations); then the reload-under-load harness (latency percentiles while the model is
#    reloaded every 100 ms, which BenchmarkDotNet's per-iteration means cannot give), then benchmarks/run-outside.sh
#    when it is there (the pooled predict seen from an outside project: OutsideBenchmarks.csv and OutsideLoop.csv);
# 3. checks that every report the page needs has a mean in every row (else it stops, leaving the results as they were),
#    and copies the CSV reports (the before revision's as CLASS.before.csv), the harness's output and a description of
#    the machine to docs/benchmarks/data/results/ (replacing the previous run's files);
# 4. runs benchmarks/ModelCaching.Charts, which draws the page's charts in docs/images and writes the tables into
#    docs/benchmarks.md between its generated markers.
#
# `benchmarks/run-results.sh --charts-only` skips steps 1-3 and redraws from the CSVs already in docs/benchmarks/data/results.
#
# `benchmarks/run-results.sh --before-after-only` runs only the before/after classes (now and before), ThreadAffinityBenchmarks
# and the outside script, replaces only their files and says so in machine.csv (a check of the script, not a page run).
# MC_BDN_ARGS adds BenchmarkDotNet arguments to every invocation (e.g. "--iterationCount 5"); machine.csv records them.
#
# About 80 minutes on a 2-vCPU machine: the before/after classes about 50 (three processes a row, both revisions), the
# page's other classes about 10, ThreadAffinityBenchmarks about 5, run-outside.sh about 12. Run it on a quiet machine (nothing else building or
# benchmarking) and say so:
#   MC_RUN_CONDITIONS="quiet machine: nothing else running" benchmarks/run-results.sh
# (the page shows that sentence beside the machine's description and its load average before and after).
# BenchmarkDotNet needs redis-server on the PATH for the fleet rows (FleetHitBenchmarks starts its own).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="docs/benchmarks/data/results"
work="$(mktemp -d "${TMPDIR:-/tmp}/mc-results.XXXXXX")"
started="$(date -u +%s)"
mode="${1:-}"
# main just before issue 18's refactor (the same benchmark methods; its own library API, so its own benchmarks project).
before_rev="${MC_BEFORE_REV:-ffe7ce0}"
ba_launches="${MC_BEFORE_AFTER_LAUNCHES:-3}"
read -r -a bdn_args <<< "${MC_BDN_ARGS:-}"
# BenchmarkDotNet builds a copy of the project per job; its default limit (120 s) is too short on a busy 2-vCPU machine.
bdn_common=(--exporters csv --buildTimeout 900)
cleanup() {
  if [[ -d "$work/before" ]]; then
    git worktree remove --force "$work/before" || echo "warning: could not remove the worktree $work/before" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "run-results.sh: error: $*" >&2
  exit 1
}
# A report with a row and a mean in every row (BenchmarkDotNet writes a report of NA cells when its build or a benchmark failed).
check_report() {
  local report rows measured
  report="$(ls "$1"/results/*."$2"-report.csv 2>/dev/null | head -1)"
  [[ -n "$report" ]] || fail "no $2 report in $1 (see the log above)"
  rows="$(( $(grep -c . "$report") - 1 ))"
  measured="$(grep -cE '[0-9] (ns|us|μs|µs|ms|s)"?,' "$report" || true)"
  [[ "$rows" -gt 0 && "$rows" -eq "$measured" ]] || fail "$report: $measured of $rows rows measured (see the log above)"
}

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
  # one per-thread primitive (issue 18): the three schemes on the hit count, the lease and a pool slot, 1 and 2 threads
  '*ThreadAffinityBenchmarks.*'
)
# The classes also run at the before revision, with the same filters.
before_classes=(CacheHitBenchmarks PredictionBenchmarks LookupByNameBenchmarks)
before_filters=()
for filter in "${filters[@]}"; do
  for class in "${before_classes[@]}"; do
    [[ "$filter" == "*$class."* ]] && before_filters+=("$filter")
  done
done
# The page's other methods: every filter that names none of the before/after classes.
other_filters=()
for filter in "${filters[@]}"; do
  [[ " ${before_filters[*]} " == *" $filter "* ]] || other_filters+=("$filter")
done
if [[ "$mode" == "--before-after-only" ]]; then
  other_filters=('*ThreadAffinityBenchmarks.*')
fi

if [[ "$mode" != "--charts-only" ]]; then
# The before revision first, so that a revision that does not build stops the run before its half hour of measuring.
before_sha="$(git rev-parse --short "$before_rev^{commit}")" || fail "no revision '$before_rev' (MC_BEFORE_REV)"
git worktree add --detach "$work/before" "$before_sha" || fail "could not check out $before_sha into $work/before"
dotnet build -c Release "$work/before/benchmarks/ModelCaching.Benchmarks" > "$work/before-build.log" 2>&1 ||
  { tail -30 "$work/before-build.log" >&2; fail "the benchmarks project at $before_sha did not build (log above)"; }
dotnet build -c Release benchmarks/ModelCaching.Benchmarks > "$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; fail "the benchmarks project did not build (log above)"; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
dotnet run -c Release --no-build --project benchmarks/ModelCaching.Benchmarks -- \
  --filter "${other_filters[@]}" "${bdn_common[@]}" --artifacts "$work/bdn" "${bdn_args[@]}" | tee "$work/benchmarkdotnet.log"
# Before and now one class after the other, in turn first (before, now; now, before; before, now), so that a drift of
# the machine over the sitting does not always favour the same side.
run_before() {
  dotnet run -c Release --no-build --project "$work/before/benchmarks/ModelCaching.Benchmarks" -- \
    --filter "$@" --launchCount "$ba_launches" "${bdn_common[@]}" --artifacts "$work/bdn-before" "${bdn_args[@]}" |
    tee -a "$work/benchmarkdotnet-before.log"
}
run_now() {
  dotnet run -c Release --no-build --project benchmarks/ModelCaching.Benchmarks -- \
    --filter "$@" --launchCount "$ba_launches" "${bdn_common[@]}" --artifacts "$work/bdn" "${bdn_args[@]}" |
    tee -a "$work/benchmarkdotnet.log"
}
turn=0
for class in "${before_classes[@]}"; do
  class_filters=()
  for filter in "${before_filters[@]}"; do
    [[ "$filter" == "*$class."* ]] && class_filters+=("$filter")
  done
  if (( turn % 2 == 0 )); then
    run_before "${class_filters[@]}"
    run_now "${class_filters[@]}"
  else
    run_now "${class_filters[@]}"
    run_before "${class_filters[@]}"
  fi
  turn=$((turn + 1))
done
if [[ "$mode" != "--before-after-only" ]]; then
  dotnet run -c Release --no-build --project benchmarks/ModelCaching.Benchmarks -- \
    --harness reload-under-load --csv "$work/ReloadUnderLoadSeries.csv" | tee "$work/reload-under-load.log" || true
fi
if [[ -x benchmarks/run-outside.sh ]]; then
  benchmarks/run-outside.sh "$work/outside" || fail "benchmarks/run-outside.sh failed"
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
finished="$(date -u +%s)"

# Every report the page needs, or no page: a missing file would silently drop a table or a column.
for class in "${before_classes[@]}"; do
  check_report "$work/bdn-before" "$class"
  check_report "$work/bdn" "$class"
done
check_report "$work/bdn" ThreadAffinityBenchmarks
if [[ -x benchmarks/run-outside.sh ]]; then
  for file in OutsideBenchmarks.csv OutsideLoop.csv; do
    [[ -s "$work/outside/$file" ]] || fail "benchmarks/run-outside.sh wrote no $file"
  done
fi

previous_run=""
if [[ "$mode" == "--before-after-only" ]]; then
  # Only this run's files are replaced; the others stay from the run machine.csv described.
  previous_run="$(sed -nE 's/^Date \(UTC\),(.*)$/\1/p' "$results/machine.csv") at $(sed -nE 's/^Commit,(.*)$/\1/p' "$results/machine.csv")"
else
  # FleetPlacement.csv is written by benchmarks/ModelCaching.FleetHarness, not by this script: it stays.
  find "$results" -mindepth 1 -maxdepth 1 ! -name FleetPlacement.csv -exec rm -rf {} + 2>/dev/null || true
fi
mkdir -p "$results"
for report in "$work"/bdn/results/*-report.csv; do
  name="$(basename "$report" -report.csv)"
  cp "$report" "$results/${name##*.}.csv"
done
for report in "$work"/bdn-before/results/*-report.csv; do
  name="$(basename "$report" -report.csv)"
  cp "$report" "$results/${name##*.}.before.csv"
done
if [[ -x benchmarks/run-outside.sh ]]; then
  cp "$work/outside/OutsideBenchmarks.csv" "$work/outside/OutsideLoop.csv" "$results/"
fi
if [[ "$mode" != "--before-after-only" ]]; then
cp "$work/ReloadUnderLoadSeries.csv" "$results/"
# The harness prints its percentiles as a Markdown table; the same rows as CSV.
{
  echo 'Calls,Count,P50Us,P99Us,P999Us,MaxUs,Failed'
  grep -E '^\| (steady|reload phase)' "$work/reload-under-load.log" |
    sed -E 's/^\| //; s/ \|$//; s/,//g; s/ \| /,/g'
} > "$results/ReloadUnderLoad.csv"
grep -E '^(reload-under-load|Reloads|Failed calls):' "$work/reload-under-load.log" > "$results/ReloadUnderLoad.txt"
fi

# The machine and the run's conditions, for the page's "machine" table.
{
  echo 'Item,Value'
  echo "Date (UTC),$(date -u -d "@$started" '+%Y-%m-%d %H:%M')"
  echo "Duration (minutes),$(( (finished - started + 30) / 60 ))"
  echo "Commit,$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks/ModelCaching.Benchmarks || echo ' + uncommitted changes')"
  echo "Before issue 18 (the before columns),$before_sha"
  echo "CPU,\"$(nproc) vCPUs, $(lscpu | sed -nE 's/^Model name: +//p' | head -1)\""
  echo "Memory,$(free -g | awk '/^Mem:/ { print $2 }') GiB"
  echo "OS,\"$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)\""
  echo ".NET SDK,$(dotnet --version)"
  echo "BenchmarkDotNet,$(sed -nE 's/.*Include="BenchmarkDotNet" Version="([^"]+)".*/\1/p' Directory.Packages.props)"
  echo "Load average before,\"$load_before\""
  echo "Load average after,\"$load_after\""
  echo "Conditions,\"${MC_RUN_CONDITIONS:-not stated (set MC_RUN_CONDITIONS to say whether the machine was quiet)}\""
  echo "Processes per before/after row,$ba_launches"
  if [[ ${#bdn_args[@]} -gt 0 ]]; then
    echo "BenchmarkDotNet arguments added,\"${bdn_args[*]}\""
  fi
  if [[ -n "$previous_run" ]]; then
    echo "Part run (--before-after-only),\"only the before/after classes, ThreadAffinityBenchmarks and the outside project; the other tables are from the run of $previous_run\""
  fi
} > "$results/machine.csv"
fi

dotnet run -c Release --project benchmarks/ModelCaching.Charts -- "$results" docs/images docs/benchmarks.md
echo "Done; see docs/benchmarks.md and $results."
