#!/usr/bin/env bash
# Two `serve` receivers on one PostgreSQL (docs/PERFORMANCE.md, "Several receivers on
# PostgreSQL"): stored reports per second over HTTP, target at least 3,000.
# Arguments (all optional): reports clients pool-connections-per-receiver.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
cargo bench -q -p tlsrpt-hub --bench serve_postgres -- "$@" | tee "$OUT/postgres.log"
grep -o 'stored [0-9]* ([0-9]* reports/s)' "$OUT/postgres.log" >"$OUT/postgres.summary"
