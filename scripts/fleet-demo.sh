#!/usr/bin/env bash
# A fleet on one machine: redis-server on a free port, three instances of the sample API joined to one fleet through it,
# then version 2 of the taxi-fare model published with the fleet's command-line tool (modelcaching-fleet); each
# instance's version is shown before and after. Everything it started is stopped when it ends (Ctrl+C included).
#
#   scripts/fleet-demo.sh                      # builds the sample and the tool (Release), then runs the demo
#   SAMPLE_DLL=… FLEET_CLI_DLL=… scripts/fleet-demo.sh   # uses builds you already have (the tests do)
#
# Needs redis-server on PATH (apt-get install redis-server), dotnet and curl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIGURATION="${CONFIGURATION:-Release}"
SAMPLE_DLL="${SAMPLE_DLL:-}"
FLEET_CLI_DLL="${FLEET_CLI_DLL:-}"
FLEET="demo"
MODEL="taxi-fare"
ADMIN_KEY="demo-admin-key"
BOUND_SECONDS="${BOUND_SECONDS:-90}"   # a bound for a loaded machine, not a wait
TRIP='{"vendorId":"VTS","rateCode":"1","passengerCount":1,"tripTime":1140,"tripDistance":3.75,"paymentType":"CRD"}'

for tool in redis-server dotnet curl; do
  command -v "$tool" >/dev/null || { echo "fleet-demo: $tool is not on PATH" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/modelcaching-fleet-demo.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $status -ne 0 ]]; then
    echo "fleet-demo failed (exit $status); the last lines of each log:" >&2
    for log in "$WORK"/*.log; do [[ -f "$log" ]] && { echo "== $log" >&2; tail -n 15 "$log" >&2; }; done
  fi
  rm -rf "$WORK"
  echo "stopped redis-server and the instances (pids ${PIDS[*]:-none})"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nothing listens on (bash's /dev/tcp: a refused connection means free).
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "fleet-demo: no free port found" >&2; exit 1
}

# Polls "$@" until it succeeds, for at most BOUND_SECONDS.
until_true() {
  local what="$1"; shift
  local deadline=$(( SECONDS + BOUND_SECONDS ))
  until "$@"; do
    (( SECONDS < deadline )) || { echo "fleet-demo: timed out after ${BOUND_SECONDS}s waiting for: $what" >&2; exit 1; }
    sleep 0.1
  done
}

if [[ -z "$SAMPLE_DLL" || -z "$FLEET_CLI_DLL" ]]; then
  echo "building the sample API and modelcaching-fleet ($CONFIGURATION)…"
  dotnet build "$ROOT/samples/ModelCaching.Samples.WebApi" -c "$CONFIGURATION" -v quiet -nologo >"$WORK/build-sample.log"
  dotnet build "$ROOT/tools/ModelCaching.FleetCli" -c "$CONFIGURATION" -v quiet -nologo >"$WORK/build-cli.log"
  SAMPLE_DLL="$ROOT/samples/ModelCaching.Samples.WebApi/bin/$CONFIGURATION/net10.0/ModelCaching.Samples.WebApi.dll"
  FLEET_CLI_DLL="$ROOT/tools/ModelCaching.FleetCli/bin/$CONFIGURATION/net10.0/modelcaching-fleet.dll"
fi
SAMPLE_DIR="$(dirname "$SAMPLE_DLL")"

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
redis_answers() { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 1 reply <&3 && [[ "$reply" == +PONG* ]]; } 2>/dev/null
until_true "redis-server on port $REDIS_PORT" redis_answers
REDIS="127.0.0.1:$REDIS_PORT"
echo "redis-server: $REDIS (pid ${PIDS[0]})"

URLS=()
for i in 0 1 2; do
  port="$(free_port)"
  URLS+=("http://127.0.0.1:$port")
  mkdir -p "$WORK/instance-$i"
  ASPNETCORE_ENVIRONMENT=Production \
  ModelCache__Fleet__Configuration="$REDIS" \
  ModelCache__Fleet__FleetName="$FLEET" \
  ModelCache__Fleet__InstanceId="demo-$i" \
  Sample__ModelDirectory="$WORK/instance-$i" \
  Admin__AdminKey="$ADMIN_KEY" \
    dotnet "$SAMPLE_DLL" --urls "http://127.0.0.1:$port" --contentRoot "$SAMPLE_DIR" >"$WORK/instance-$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do
  until_true "instance demo-$i ready at ${URLS[$i]}" curl -sf -o /dev/null "${URLS[$i]}/health/ready"
done
echo "instances: demo-0 ${URLS[0]}, demo-1 ${URLS[1]}, demo-2 ${URLS[2]} (pids ${PIDS[*]:1})"

# What an instance serves, from its own POST /predict: the version (SHA-256) and the fare of one known trip.
version_of() { curl -sf -H 'Content-Type: application/json' -d "$TRIP" "$1/predict" | grep -o '"modelVersion":"[^"]*"' | cut -d'"' -f4; }
fare_of() { curl -sf -H 'Content-Type: application/json' -d "$TRIP" "$1/predict" | grep -o '"fareAmount":[0-9.]*' | cut -d: -f2; }
show() {
  for i in 0 1 2; do
    printf '  demo-%s %s  version %s  fare %s\n' "$i" "${URLS[$i]}" "$(version_of "${URLS[$i]}" | cut -c1-12)" "$(fare_of "${URLS[$i]}")"
  done
}

echo "before:"
show

V2="$SAMPLE_DIR/Models/taxi-fare-v2.zip"
V2_SHA="$(sha256sum "$V2" | cut -d' ' -f1)"
dotnet "$FLEET_CLI_DLL" publish --redis "$REDIS" --fleet "$FLEET" --model "$MODEL" --file "$V2"
start=$SECONDS
all_serve_v2() { for url in "${URLS[@]}"; do [[ "$(version_of "$url")" == "$V2_SHA" ]] || return 1; done; }
until_true "all three instances serving ${V2_SHA:0:12}" all_serve_v2
echo "after (all three serve v2 within $(( SECONDS - start ))s of the publish; each waits its share of LoadJitter, 2 s):"
show

echo "the fleet as Redis holds it (modelcaching-fleet status; GET /fleet on any instance shows the same):"
dotnet "$FLEET_CLI_DLL" status --redis "$REDIS" --fleet "$FLEET"
