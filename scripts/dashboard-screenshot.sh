#!/usr/bin/env bash
# Makes docs/dashboard-overview.png, the README's picture of the dashboard:
# starts the single-node collector on free ports with an empty data
# directory, writes a demo dataset (a week of chat and tool events, with
# errors and latencies) through the API, and lets headless Chromium take a
# picture of /ui/ at 1280x1000.
#   scripts/dashboard-screenshot.sh [OUT.png]
# Needs bin/otelcol-events (make build), the embedded engine (make chdb) and
# chromium (scripts/chromium.sh).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=${1:-$ROOT/docs/dashboard-overview.png}
CHDB_LIB=${CHDB_LIB:-$("$ROOT/scripts/services.sh" chdb | tail -n1)}
CHROMIUM=$("$ROOT/scripts/chromium.sh")
DATA=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
API_PORT=$(port)
export API_PORT QUERY_PORT=$(port) OTLP_GRPC_PORT=$(port) OTLP_HTTP_PORT=$(port) HEALTH_PORT=$(port) METRICS_PORT=$(port)
export DATA_DIR=$DATA CHDB_LIB
"$ROOT/bin/otelcol-events" --config "$ROOT/config/single-node.yaml" >"$DATA/collector.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$DATA"' EXIT
base=http://127.0.0.1:$API_PORT
for _ in $(seq 1 300); do
	curl -fs "$base/health" >/dev/null && break
	sleep 0.2
done

python3 - "$base" <<'PY'
import datetime, json, random, sys, time, urllib.request
base = sys.argv[1]
rng = random.Random(20)
now = datetime.datetime.now(datetime.timezone.utc)
names = {"chat_completion": (900, 0.06), "tool_call": (240, 0.03), "retrieval": (120, 0.01), "embedding": (45, 0.002)}
ops = []
for day in range(7):
    for i in range(rng.randint(120, 260)):
        name = rng.choices(list(names), weights=[5, 3, 2, 1])[0]
        mean, err = names[name]
        conv = f"session-{rng.randint(1, 60):03d}"
        failing = conv in ("session-007", "session-031") and rng.random() < 0.5
        ts = now - datetime.timedelta(days=day, seconds=rng.randint(0, 20000))
        ops.append({"conversation_id": conv, "event_name": name,
                    "input": "How do I reset my password?", "output": "Open Settings, then Security.",
                    "latency": round(rng.lognormvariate(0, 0.5) * mean, 1),
                    "error": "timeout" if failing or rng.random() < err else "",
                    "timestamp": ts.isoformat()})
for i in range(0, len(ops), 500):
    req = urllib.request.Request(base + "/events/batch", json.dumps(ops[i:i + 500]).encode(),
                                 {"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
want = len(ops)
for _ in range(100):
    got = json.load(urllib.request.urlopen(base + "/analytics/events?days=7"))
    if sum(d["events"] for d in got["data"]) == want:
        break
    time.sleep(0.2)
time.sleep(1.2)  # one more freshness reading
PY

"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1000 \
	--virtual-time-budget=4000 --screenshot="$OUT" "$base/ui/" 2>/dev/null
echo "$OUT"
