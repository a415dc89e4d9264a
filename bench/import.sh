#!/usr/bin/env bash
# Import benchmark (docs/PERFORMANCE.md): `tlsrpt-hub import` of generated corpora of
# 25,000, 50,000 and 100,000 reports into fresh SQLite databases, one after the other.
#
# Targets: 100,000 reports in at most 10 s wall, peak RSS at most 100 MB and flat as the
# corpus grows (the importer streams). Override the sizes with SIZES="..." and the corpus
# seed with SEED=... .
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SIZES=${SIZES:-"25000 50000 100000"}
need time sqlite3
build

# Generate every corpus first: writing 70 MB of files must not overlap a measurement.
for n in $SIZES; do
    corpus "$n" >/dev/null
done

summary=$OUT/import.summary
: >"$summary"
printf '%-9s %8s %10s %9s %6s %6s  %s\n' reports wall_s reports/s peak_MB cpu cpu_s stored >&2
for n in $SIZES; do
    import_corpus "$n"
    printf '%-9s %8s %10s %9s %6s %6s  %s %s\n' "$n" "$WALL" "$RATE" "$RSS_MB" "$CPU" "$CPU_S" \
        "$STORED" "$CHECK" | tee -a "$summary" >&2
done

# Flat memory: the largest corpus should need no more than a quarter more than the smallest.
verdict=$(awk '{ rss[NR] = $4; if ($4 > max) max = $4; if ($1 == 100000) wall = $2 }
    END {
        printf "peak RSS %s MB (smallest corpus) -> %s MB (largest): %s\n", rss[1], rss[NR],
            rss[NR] <= rss[1] * 1.25 ? "flat" : "NOT flat"
        printf "peak RSS <= 100 MB: %s\n", max <= 100 ? "met" : "MISSED"
        if (wall != "")
            printf "100,000 reports in %s s: target <= 10 s %s\n", wall, wall <= 10 ? "met" : "MISSED"
    }' "$summary")
echo "$verdict" | tee -a "$summary" >&2
if grep -q FAILED "$summary"; then
    exit 1
fi
