#!/usr/bin/env bash
# parsedmarc comparison (docs/PERFORMANCE.md): parsedmarc's CLI (PyPI, --offline, one
# process) and `tlsrpt-hub import` on the same generated corpus (20,000 reports unless
# N=... is set), each under /usr/bin/time -v.
#
# parsedmarc only parses and writes JSON/CSV output files; tlsrpt-hub import also
# deduplicates, stores reports and raw bytes in SQLite and updates rollups. If parsedmarc
# cannot be installed (no PyPI access), this says so and exits 0.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N=${N:-20000}
VENV=$OUT/venv
summary=$OUT/parsedmarc.summary
need time sqlite3

if [[ ! -x $VENV/bin/parsedmarc ]]; then
    echo "installing parsedmarc into $VENV" >&2
    if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q parsedmarc; } >"$OUT/pip.log" 2>&1; then
        echo "parsedmarc could not be installed (see $OUT/pip.log); comparison skipped" |
            tee "$summary" >&2
        exit 0
    fi
fi
build
dir=$(corpus "$N")

output=$OUT/parsedmarc-output
rm -rf "$output"
mkdir -p "$output"
measure parsedmarc "$VENV/bin/parsedmarc" --offline --silent -o "$output" "$dir"
pm_wall=$WALL pm_rss=$RSS_MB pm_cpu=$CPU pm_cpu_s=$CPU_S pm_status=$STATUS
pm_rate=$(rate "$N" "$pm_wall")
# parsedmarc writes the SMTP TLS reports it parsed to smtp_tls.json (a JSON array).
pm_parsed=$("$VENV/bin/python" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' \
    "$output/smtp_tls.json" 2>/dev/null || echo 0)

import_corpus "$N"

{
    row='%-34s %8s %10s %9s %6s %6s  %s\n'
    printf "$row" "$N reports" wall_s reports/s peak_MB cpu cpu_s result
    printf "$row" "parsedmarc $("$VENV/bin/parsedmarc" --version 2>&1) --offline" \
        "$pm_wall" "$pm_rate" "$pm_rss" "$pm_cpu" "$pm_cpu_s" "$pm_parsed parsed, exit $pm_status"
    printf "$row" "tlsrpt-hub import" \
        "$WALL" "$RATE" "$RSS_MB" "$CPU" "$CPU_S" "$STORED stored $CHECK"
    awk -v pm="$pm_wall" -v us="$WALL" -v pmc="$pm_cpu_s" -v usc="$CPU_S" 'BEGIN {
        printf "tlsrpt-hub import is %.1fx faster than parsedmarc on the same corpus (wall; %.1fx in CPU time)\n", pm / us, pmc / usc }'
} | tee "$summary" >&2
