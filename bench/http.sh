#!/usr/bin/env bash
# HTTP receiver benchmark (docs/PERFORMANCE.md, "HTTP receiver"): release `tlsrpt-hub serve`
# on loopback, distinct gzip reports from tlsrpt-synth POSTed by a Rust client
# (crates/tlsrpt-hub/benches/http_load.rs):
#   - sustained stored reports/s with 16 keep-alive connections (target >= 3,000/s),
#   - p99 latency at a fixed 500 requests/s, open loop (target < 50 ms),
#   - serve's RSS sampled every 10 s during the fixed-rate run (target: flat over 10 min).
# Then it checks that the database holds exactly one report per 201 and passes its integrity
# check. Short by default (30 s + 30 s); MINUTES=10 gives the 10-minute memory run.
#   bench/http.sh                 # 30 s throughput, 30 s at 500/s
#   MINUTES=10 bench/http.sh      # 30 s throughput, 10 min at 500/s
#   SECONDS_TP=60 RATE=500 CONNECTIONS=16 bench/http.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

fixed=$(( ${MINUTES:-0} > 0 ? ${MINUTES:-0} * 60 : 30 ))
summary=$OUT/http.summary
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$ROOT" && cargo bench -q -p tlsrpt-hub --bench http_load -- \
    --seconds "${SECONDS_TP:-30}" --fixed-seconds "$fixed" \
    --rate "${RATE:-500}" --connections "${CONNECTIONS:-16}") | tee "$summary"
echo "load average (1/5/15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)" |
    tee -a "$summary"
