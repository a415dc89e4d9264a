-- tlsrpt-hub schema, SQLite flavour. The PostgreSQL flavour will mirror it table for table
-- (BIGINT for INTEGER, BYTEA for BLOB, a date for `day`), so callers never see a difference.
--
-- Conventions (see also src/lib.rs):
-- * Instants are INTEGER unix microseconds, UTC (`*_us`): integer comparisons are the fastest
--   range filters SQLite has, and microseconds are PostgreSQL's timestamptz precision, so both
--   backends store the same value. Finer fractions are truncated; `start_raw`/`end_raw` keep
--   the date-range text exactly as sent.
-- * `day` / `range_day` is the UTC calendar day of `range_start`, as ISO text 'YYYY-MM-DD'
--   (sorts correctly, readable in the sqlite3 shell, maps to a PostgreSQL `date`). It is
--   computed once in Rust, so incremental rollups and rebuilds can never disagree on it.
-- * Counts are INTEGER (i64). The model's u64 values above i64::MAX are rejected before any
--   write with an error naming the field; sums that would overflow trip the `typeof` CHECKs
--   below (SQLite silently turns an overflowing `+` into a REAL otherwise).
-- * Ids of submissions, reports and policies are AUTOINCREMENT (never reused after a
--   reprocess deletes rows, so links stay unambiguous) and are allocated by the single writer
--   inside its write transaction, which lets every child row be inserted in multi-row
--   statements without a round trip per parent.
-- * Time partitioning (PostgreSQL, later): `reports` and its children carry everything needed
--   to partition by month of `range_start_us`/`range_day`; nothing here relies on a global
--   ordering that partitioning would break.

CREATE TABLE submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at_us INTEGER NOT NULL,
    origin         TEXT    NOT NULL
        CHECK (origin IN ('file', 'stdin', 'http', 'smtp', 'lmtp', 'imap', 'pipe')),
    -- File path, remote address or mailbox the bytes came from.
    source_name    TEXT,
    -- Length and SHA-256 of the bytes as received (not of `raw`).
    raw_size       INTEGER NOT NULL,
    raw_sha256     BLOB    NOT NULL,
    -- 'gzip': we compressed the received bytes; 'as-received': they already were gzip/zip.
    raw_encoding   TEXT    NOT NULL CHECK (raw_encoding IN ('gzip', 'as-received')),
    -- Last so that scans of the metadata columns do not wade through the blob.
    raw            BLOB    NOT NULL
);
CREATE INDEX submissions_received ON submissions (received_at_us);

CREATE TABLE reports (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id        INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    -- tlsrpt_core::report::dedup_key: the same report received twice is stored once.
    dedup_key            TEXT    NOT NULL UNIQUE,
    organization_name    TEXT,
    contact_info         TEXT,
    report_id            TEXT,
    range_start_us       INTEGER NOT NULL,
    range_end_us         INTEGER NOT NULL,
    range_day            TEXT    NOT NULL,
    start_raw            TEXT    NOT NULL,
    end_raw              TEXT    NOT NULL,
    -- Mail header fields (RFC 8460 §5.3); `via_message` tells "no message" from "no headers".
    via_message          INTEGER NOT NULL CHECK (via_message IN (0, 1)),
    tls_report_domain    TEXT,
    tls_report_submitter TEXT,
    subject_report_id    TEXT,
    message_id           TEXT,
    message_from         TEXT,
    message_subject      TEXT,
    message_date         TEXT,
    file_name            TEXT,
    total_successful     INTEGER NOT NULL,
    total_failed         INTEGER NOT NULL,
    duplicate_count      INTEGER NOT NULL DEFAULT 0,
    last_duplicate_at_us INTEGER,
    stored_at_us         INTEGER NOT NULL,
    parser_version       TEXT    NOT NULL
);
CREATE INDEX reports_submission ON reports (submission_id);

CREATE TABLE policies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id     INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    -- Position in the report's `policies` array.
    policy_index  INTEGER NOT NULL,
    policy_type   TEXT    NOT NULL,
    policy_domain TEXT,
    -- JSON arrays of strings.
    policy_string TEXT    NOT NULL,
    mx_host       TEXT    NOT NULL,
    successful    INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    UNIQUE (report_id, policy_index)
);
CREATE INDEX policies_domain ON policies (policy_domain);

-- Ordered by id within a policy (the writer inserts them in report order).
CREATE TABLE failure_details (
    id                     INTEGER PRIMARY KEY,
    policy_id              INTEGER NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    -- Denormalised so per-report filters need no join through policies. Deletion cascades
    -- through `policy_id`; a second cascade path would only cost an index on every insert.
    report_id              INTEGER NOT NULL,
    result_type            TEXT    NOT NULL,
    sending_mta_ip         TEXT,
    receiving_mx_hostname  TEXT,
    receiving_mx_helo      TEXT,
    receiving_ip           TEXT,
    failed_session_count   INTEGER NOT NULL,
    additional_information TEXT,
    failure_reason_code    TEXT
);
CREATE INDEX failure_details_policy ON failure_details (policy_id);

CREATE TABLE diagnostics (
    id        INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    code      TEXT    NOT NULL,
    path      TEXT    NOT NULL,
    message   TEXT    NOT NULL
);
CREATE INDEX diagnostics_report ON diagnostics (report_id);

-- Daily rollups, kept current by every write (dashboards never scan detail rows).
-- A missing policy domain or organization is '' here, not NULL: NULLs never conflict in a
-- UNIQUE key, so upserts on them would pile up duplicate rows.
-- The keys lead with the day: reports arrive in date order, so upserts land at the end of
-- the tree. A second index leading with the domain cost a random page per new row and slowed
-- small-batch ingest by a third; a domain's rows are read with one key seek per day instead
-- (src/sqlite/rollup.rs, `stored_rollups!`).
CREATE TABLE daily_policy_rollups (
    day           TEXT    NOT NULL,
    policy_domain TEXT    NOT NULL,
    organization  TEXT    NOT NULL,
    policy_type   TEXT    NOT NULL,
    successful    INTEGER NOT NULL CONSTRAINT successful_sum_fits_i64 CHECK (typeof(successful) = 'integer'),
    failed        INTEGER NOT NULL CONSTRAINT failed_sum_fits_i64 CHECK (typeof(failed) = 'integer'),
    -- Distinct reports with at least one policy under this key.
    reports       INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, organization, policy_type)
) WITHOUT ROWID;
-- Rows that a reprocess emptied; nearly always empty, so deleting them is O(1).
CREATE INDEX daily_policy_rollups_empty ON daily_policy_rollups (reports) WHERE reports = 0;

CREATE TABLE daily_failure_rollups (
    day             TEXT    NOT NULL,
    policy_domain   TEXT    NOT NULL,
    organization    TEXT    NOT NULL,
    policy_type     TEXT    NOT NULL,
    result_type     TEXT    NOT NULL,
    failed_sessions INTEGER NOT NULL CONSTRAINT failed_sessions_sum_fits_i64 CHECK (typeof(failed_sessions) = 'integer'),
    -- Failure-detail rows under this key (a detail may legitimately count 0 sessions).
    details         INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, organization, policy_type, result_type)
) WITHOUT ROWID;
CREATE INDEX daily_failure_rollups_empty ON daily_failure_rollups (details) WHERE details = 0;
