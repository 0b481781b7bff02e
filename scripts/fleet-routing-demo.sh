#!/usr/bin/env bash
# Tenants spread over a fleet behind a router, on one machine: redis-server on a free port, three instances of the sample
# API joined to one fleet through it with the tenants template placed (ModelCache:Fleet:Placement:Templates:0=tenants,
# each tenant owned by 2 of the 3), and the router (samples/ModelCaching.Samples.Router: YARP with ModelCaching.Routing)
# in front of them. Requests for a dozen tenants go through the router; each answer names the instance that gave it (the
# X-ModelCaching-Instance header): the router keeps each tenant on an owner that has it loaded. Each instance's loaded
# tenants are listed: no tenant is on more than two. Everything it started is stopped when it ends (Ctrl+C included).
#
#   scripts/fleet-routing-demo.sh                          # builds the sample and the router (Release), then runs the demo
#   SAMPLE_DLL=… ROUTER_DLL=… scripts/fleet-routing-demo.sh   # uses builds you already have (the tests do)
#
# Needs redis-server on PATH (apt-get install redis-server), dotnet and curl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIGURATION="${CONFIGURATION:-Release}"
SAMPLE_DLL="${SAMPLE_DLL:-}"
ROUTER_DLL="${ROUTER_DLL:-}"
FLEET="routing-demo"
ADMIN_KEY="demo-admin-key"
TENANTS=(t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12)
REQUESTS_PER_TENANT="${REQUESTS_PER_TENANT:-4}"
BOUND_SECONDS="${BOUND_SECONDS:-90}"   # a bound for a loaded machine, not a wait
TRIP='{"vendorId":"VTS","rateCode":"1","passengerCount":1,"tripTime":1140,"tripDistance":3.75,"paymentType":"CRD"}'

for tool in redis-server dotnet curl; do
  command -v "$tool" >/dev/null || { echo "fleet-routing-demo: $tool is not on PATH" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/modelcaching-fleet-routing-demo.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $status -ne 0 ]]; then
    echo "fleet-routing-demo failed (exit $status); the last lines of each log:" >&2
    for log in "$WORK"/*.log; do [[ -f "$log" ]] && { echo "== $log" >&2; tail -n 15 "$log" >&2; }; done
  fi
  rm -rf "$WORK"
  echo "stopped redis-server, the instances and the router (pids ${PIDS[*]:-none})"
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
  echo "fleet-routing-demo: no free port found" >&2; exit 1
}

# Polls "$@" until it succeeds, for at most BOUND_SECONDS.
until_true() {
  local what="$1"; shift
  local deadline=$(( SECONDS + BOUND_SECONDS ))
  until "$@"; do
    (( SECONDS < deadline )) || { echo "fleet-routing-demo: timed out after ${BOUND_SECONDS}s waiting for: $what" >&2; exit 1; }
    sleep 0.1
  done
}

if [[ -z "$SAMPLE_DLL" || -z "$ROUTER_DLL" ]]; then
  echo "building the sample API and the router ($CONFIGURATION)…"
  dotnet build "$ROOT/samples/ModelCaching.Samples.WebApi" -c "$CONFIGURATION" -v quiet -nologo >"$WORK/build-sample.log"
  dotnet build "$ROOT/samples/ModelCaching.Samples.Router" -c "$CONFIGURATION" -v quiet -nologo >"$WORK/build-router.log"
  SAMPLE_DLL="$ROOT/samples/ModelCaching.Samples.WebApi/bin/$CONFIGURATION/net10.0/ModelCaching.Samples.WebApi.dll"
  ROUTER_DLL="$ROOT/samples/ModelCaching.Samples.Router/bin/$CONFIGURATION/net10.0/ModelCaching.Samples.Router.dll"
fi
SAMPLE_DIR="$(dirname "$SAMPLE_DLL")"

# The tenants' models: copies of the bundled taxi-fare model (v1, and v2 for every third tenant), one file per tenant.
mkdir -p "$WORK/tenants"
for i in "${!TENANTS[@]}"; do
  model="taxi-fare.zip"; (( i % 3 == 2 )) && model="taxi-fare-v2.zip"
  cp "$SAMPLE_DIR/Models/$model" "$WORK/tenants/tenant-${TENANTS[$i]}.zip"
done

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
    dotnet "$SAMPLE_DLL" --urls "http://127.0.0.1:$port" --contentRoot "$SAMPLE_DIR" \
      "--ModelCache:Fleet:Configuration=$REDIS" "--ModelCache:Fleet:FleetName=$FLEET" "--ModelCache:Fleet:InstanceId=demo-$i" \
      "--ModelCache:Fleet:Address=http://127.0.0.1:$port" "--ModelCache:Fleet:Placement:Templates:0=tenants" \
      "--ModelCache:Fleet:HeartbeatInterval=00:00:01" "--ModelCache:Fleet:MemberTimeToLive=00:00:03" \
      "--ModelCache:Templates:tenants:MemoryBudgetBytes=1048576" "--Sample:TenantModelDirectory=$WORK/tenants" \
      "--Sample:ModelDirectory=$WORK/instance-$i" "--Admin:AdminKey=$ADMIN_KEY" \
      >"$WORK/instance-$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do
  until_true "instance demo-$i ready at ${URLS[$i]}" curl -sf -o /dev/null "${URLS[$i]}/health/ready"
done
echo "instances: demo-0 ${URLS[0]}, demo-1 ${URLS[1]}, demo-2 ${URLS[2]} (pids ${PIDS[*]:1:3})"

ROUTER_PORT="$(free_port)"
ROUTER="http://127.0.0.1:$ROUTER_PORT"
# The router learns the instances from the fleet's membership in Redis (ModelCaching.Routing), not from a list here.
ASPNETCORE_ENVIRONMENT=Production dotnet "$ROUTER_DLL" --urls "$ROUTER" --contentRoot "$(dirname "$ROUTER_DLL")" \
  "--ModelCacheRouting:Configuration=$REDIS" "--ModelCacheRouting:FleetName=$FLEET" "--ModelCacheRouting:ModelNameFormat=tenant-{id}" \
  "--ModelCacheRouting:RefreshInterval=00:00:01" "--ReverseProxy:Routes:tenants:ClusterId=modelcache" >"$WORK/router.log" 2>&1 &
PIDS+=($!)
until_true "the router ready at $ROUTER" curl -sf -o /dev/null "$ROUTER/router/health"
# The router has read the membership once it answers a tenant (503 until then).
until_true "the router routing tenants" curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$TRIP" "$ROUTER/tenants/${TENANTS[0]}/predict"
echo "router: $ROUTER (pid ${PIDS[4]})"

# Which instance answered one request through the router (its X-ModelCaching-Instance header), and the fare.
answer() {
  local headers body
  headers="$WORK/headers"
  body="$(curl -sf -D "$headers" -H 'Content-Type: application/json' -d "$TRIP" "$ROUTER/tenants/$1/predict")"
  printf '%s(%s)' "$(grep -i '^X-ModelCaching-Instance:' "$headers" | cut -d' ' -f2 | tr -d '\r')" "$(grep -o '"fareAmount":[0-9.]*' <<<"$body" | cut -d: -f2 | cut -c1-5)"
}

echo "$REQUESTS_PER_TENANT requests per tenant through the router, each shown as instance(fare):"
for tenant in "${TENANTS[@]}"; do
  line="  tenant $tenant:"
  for _ in $(seq 1 "$REQUESTS_PER_TENANT"); do line+=" $(answer "$tenant")"; done
  echo "$line"
done

echo "tenants loaded on each instance (GET /models?state=ready; each tenant is owned by 2 of the 3):"
for i in 0 1 2; do
  loaded="$(curl -sf -H "X-Api-Key: $ADMIN_KEY" "${URLS[$i]}/models?state=ready&limit=1000" | grep -o '"name":"tenant-[^"]*"' | cut -d'"' -f4 | sed 's/^tenant-//' | sort | tr '\n' ' ')"
  echo "  demo-$i: ${loaded:-none}"
done
