#!/usr/bin/env bash
# PostgreSQL benchmarks (docs/PERFORMANCE.md, "Several receivers on PostgreSQL"):
# 1. two `serve` receivers on one PostgreSQL: stored reports per second over HTTP (target at
#    least 3,000), with the CPU each side spent per report;
# 2. the domain page's queries on 10,000,000 failure details (target p95 under 150 ms).
# Arguments (all optional): reports clients pool-connections-per-receiver.
# Environment: PAGE_ARGS="reports details rounds" for the second (default 200000 50 200);
# TLSRPT_HUB_BIN=path runs another tlsrpt-hub build as the receivers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
cargo bench -q -p tlsrpt-hub --bench serve_postgres -- "$@" | tee "$OUT/postgres.log"
# shellcheck disable=SC2086
cargo bench -q -p tlsrpt-store --bench pg_domain_page -- ${PAGE_ARGS:-} | tee -a "$OUT/postgres.log"
grep -E -o 'stored [0-9]+ \([0-9]+ reports/s\)|CPU per stored report: [^(]*|domain page, [^:]*: [^(]*' \
    "$OUT/postgres.log" >"$OUT/postgres.summary"
