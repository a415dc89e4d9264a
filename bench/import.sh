#!/usr/bin/env bash
# Import benchmark (docs/PERFORMANCE.md): `tlsrpt-hub import` of generated corpora of
# 25,000, 50,000 and 100,000 reports into fresh SQLite databases, one after the other.
#
# Targets: 100,000 reports in at most 10 s wall, peak RSS at most 100 MB and flat as the
# corpus grows (the importer streams). Override the sizes with SIZES="..." and the corpus
# seed with SEED=... .
#
# "Flat" is judged between the two largest corpora: the first tens of thousands of reports
# fill fixed-size caches (SQLite's page cache is capped at 16 MiB per connection), so peak RSS
# rises at first; a streaming importer then stays put when the corpus doubles again, while
# one that held the corpus would grow with it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SIZES=${SIZES:-"25000 50000 100000 200000"}
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

# Flat memory: the largest corpus needs at most a tenth more than the next largest.
verdict=$(awk '{ n[NR] = $1; rss[NR] = $4; if ($4 > max) max = $4; if ($1 == 100000) wall = $2 }
    END {
        prev = NR > 1 ? NR - 1 : NR
        printf "peak RSS %s MB (%s reports) -> %s MB (%s): %s\n", rss[prev], n[prev], rss[NR],
            n[NR], rss[NR] <= rss[prev] * 1.10 ? "flat" : "NOT flat"
        printf "peak RSS <= 100 MB: %s\n", max <= 100 ? "met" : "MISSED"
        if (wall != "")
            printf "100,000 reports in %s s: target <= 10 s %s\n", wall, wall <= 10 ? "met" : "MISSED"
    }' "$summary")
echo "$verdict" | tee -a "$summary" >&2
if grep -q FAILED "$summary"; then
    exit 1
fi
