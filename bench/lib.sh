# Helpers shared by the bench/ scripts. Sourced, not run.
#
# Everything the scripts create lives in bench/out (gitignored): corpora, databases,
# /usr/bin/time logs and one `*.summary` file per script that bench/run prints at the end.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
# The corpus seed; the same seed gives the same files byte for byte (crates/tlsrpt-synth).
SEED=${SEED:-8460}
mkdir -p "$OUT"

# Installs the Debian packages providing the given commands when they are missing
# (`time` for /usr/bin/time -v peak RSS, `sqlite3` to count stored rows).
need() {
    local missing=()
    local cmd
    for cmd in "$@"; do
        case $cmd in
            time) [[ -x /usr/bin/time ]] || missing+=(time) ;;
            *) command -v "$cmd" >/dev/null || missing+=("$cmd") ;;
        esac
    done
    ((${#missing[@]} == 0)) && return
    echo "installing ${missing[*]} with apt-get" >&2
    apt-get install -y -q "${missing[@]}" >/dev/null
}

build() {
    echo "building release binaries" >&2
    (cd "$ROOT" && cargo build --release -q -p tlsrpt-hub -p tlsrpt-synth)
}

# corpus N: prints the directory of the N-report corpus for $SEED, generating it once.
# The stamp file sits outside the directory so that import never sees it.
corpus() {
    local n=$1
    local dir=$OUT/corpus-$n
    local stamp=$OUT/corpus-$n.seed
    if [[ ! -f $stamp || $(cat "$stamp") != "$SEED" ]]; then
        rm -rf "$dir" "$stamp"
        "$BIN/tlsrpt-synth" corpus --count "$n" --seed "$SEED" --out "$dir" >&2
        echo "$SEED" >"$stamp"
    fi
    echo "$dir"
}

# measure NAME COMMAND...: runs COMMAND under /usr/bin/time -v (stdout to $OUT/NAME.log) and
# sets WALL (seconds), RSS_MB (peak resident set, MB), CPU (percent; 200% = both cores busy),
# CPU_S (user + system seconds: steadier than WALL when other work shares the machine) and
# STATUS (the command's exit status).
measure() {
    local name=$1
    shift
    STATUS=0
    /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.log" 2>"$OUT/$name.err" || STATUS=$?
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        printf "%.2f", s }' "$OUT/$name.time")
    RSS_MB=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$OUT/$name.time")
    CPU=$(awk -F': ' '/Percent of CPU/ { print $2 }' "$OUT/$name.time")
    CPU_S=$(awk -F': ' '/(User|System) time/ { s += $2 } END { printf "%.1f", s }' "$OUT/$name.time")
}

# rate N SECONDS: reports per second.
rate() {
    awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'
}

# import_corpus N: imports the N-report corpus into a fresh database and checks that every
# report and every raw submission was stored. Sets WALL, RSS_MB, CPU, CPU_S, STORED, RATE,
# CHECK.
import_corpus() {
    local n=$1
    local dir db
    dir=$(corpus "$n")
    db=$OUT/import-$n.db
    rm -f "$db" "$db-wal" "$db-shm"
    # Write back earlier work (a fresh corpus, the previous database) so that its disk
    # traffic does not land inside this measurement.
    sync
    measure "import-$n" "$BIN/tlsrpt-hub" --db "$db" import "$dir"
    STORED=$(sqlite3 "$db" 'SELECT count(*) FROM reports')
    local raw
    raw=$(sqlite3 "$db" 'SELECT count(*) FROM submissions')
    RATE=$(rate "$n" "$WALL")
    if ((STATUS == 0 && STORED == n && raw == n)); then
        CHECK=ok
    else
        CHECK="FAILED (exit $STATUS, $STORED reports, $raw submissions; see $OUT/import-$n.log)"
    fi
}
