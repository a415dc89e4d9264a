#!/usr/bin/env bash
# Dashboard benchmark (docs/PERFORMANCE.md, "Dashboard and API"): a generated store of
# REPORTS reports about DOMAINS domains over DAYS days, served by the release binary on
# loopback; each page is requested RUNS times with curl and the time to first byte (server
# time plus a loopback round trip) is summarised as p50/p95.
#
# Targets (issue 5, at 1,000 domains / 1,000,000 reports / 10,000,000 failure details):
# overview and domain page < 150 ms p95, API timeseries < 50 ms p95, first paint < 300 KB.
# Override the scale with REPORTS=... DOMAINS=... DAYS=... .
set -euo pipefail
source "$(dirname "$0")/lib.sh"

REPORTS=${REPORTS:-200000}
DOMAINS=${DOMAINS:-1000}
DAYS=${DAYS:-365}
RUNS=${RUNS:-30}
need sqlite3 curl
# BINARIES=DIR measures other binaries (e.g. target/debug to try the script); figures in
# docs/PERFORMANCE.md come from the release build.
if [[ -n ${BINARIES:-} ]]; then
    BIN=$BINARIES
else
    build
fi

dir=$OUT/dashboard-$REPORTS-$DOMAINS-$DAYS
db=$OUT/dashboard-$REPORTS-$DOMAINS-$DAYS$(basename "$BIN").db
if [[ ! -f $db.done ]]; then
    rm -rf "$dir" "$db" "$db-wal" "$db-shm"
    "$BIN/tlsrpt-synth" corpus --count "$REPORTS" --domains "$DOMAINS" --days "$DAYS" \
        --seed "$SEED" --gzip-ratio 1 --out "$dir" >&2
    measure "dashboard-import" "$BIN/tlsrpt-hub" --db "$db" import "$dir"
    echo "import: ${WALL}s" >&2
    rm -rf "$dir"
    touch "$db.done"
fi
rows=$(sqlite3 "$db" "SELECT (SELECT count(*) FROM reports) || ' reports, ' ||
    (SELECT count(DISTINCT policy_domain) FROM daily_policy_rollups) || ' policy domains, ' ||
    (SELECT count(*) FROM failure_details) || ' failure-detail rows'")
last=$(sqlite3 "$db" "SELECT max(day) FROM daily_policy_rollups")
busiest=$(sqlite3 "$db" "SELECT policy_domain FROM daily_policy_rollups WHERE day > date('$last', '-30 days')
    GROUP BY policy_domain ORDER BY sum(successful + failed) DESC LIMIT 1")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/tlsrpt-hub" --db "$db" serve --http-listen "127.0.0.1:$port" 2>"$OUT/dashboard-serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/assets/app.js" && break
    sleep 0.1
done

summary=$OUT/dashboard.summary
echo "store: $rows; window ends $last; domain page: $busiest" | tee "$summary" >&2
# p NAME PATH: RUNS requests, prints p50/p95/max milliseconds of time to first byte.
p() {
    local name=$1 path=$2
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
    [[ $status == 200 ]] || { echo "$name: HTTP $status for $path" | tee -a "$summary" >&2; return 1; }
    for _ in $(seq "$RUNS"); do
        curl -s -o /dev/null -w '%{time_starttransfer}\n' "http://127.0.0.1:$port$path"
    done | sort -n | awk -v name="$name" -v runs="$RUNS" '{ t[NR] = $1 * 1000 }
        END { printf "%-22s p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms  (%d runs)\n", name,
              t[int(runs * 0.5)], t[int(runs * 0.95)], t[runs], runs }' | tee -a "$summary" >&2
}
w="days=30&to=$last"
p "overview page" "/?$w"
p "domain page" "/domains/$busiest?$w"
p "API domains" "/api/v1/domains?$w"
p "API domain summary" "/api/v1/domains/$busiest?$w"
p "API timeseries" "/api/v1/domains/$busiest/timeseries?$w"
p "report list page" "/reports"
bytes=0
for path in "/?$w" /assets/style.css /assets/app.js; do
    bytes=$((bytes + $(curl -s --compressed -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port$path")))
done
echo "first paint (overview HTML + CSS + JS, uncompressed): $bytes bytes" | tee -a "$summary" >&2
