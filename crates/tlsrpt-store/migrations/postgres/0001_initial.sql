-- tlsrpt-hub schema, PostgreSQL flavour: the tables and columns of migrations/sqlite/0001_initial.sql
-- (BIGINT for INTEGER, BYTEA for BLOB, BOOLEAN for the 0/1 flag, DATE for `day`/`range_day`),
-- so callers never see a difference. tests/store.rs compares both catalogs after migrating.
--
-- What differs, and why:
-- * Time partitioning. `reports` and the rows that hang off a report (`policies`,
--   `failure_details`, `diagnostics`) are partitioned by month of `range_day`, so retention
--   drops whole partitions instead of deleting rows. A partition key must be a column of every
--   partitioned table, so the three child tables carry the report's `range_day` as well (the
--   only extra columns; the parity test allows exactly these). Monthly partitions are created
--   on demand by `tlsrpt_ensure_partitions` before a write that needs them.
-- * Keys of partitioned tables must include the partition key, so primary keys are
--   (id, range_day) and the duplicate check is UNIQUE (dedup_key, range_day). That is the same
--   constraint as UNIQUE (dedup_key): the dedup key hashes the report's date range
--   (tlsrpt_core::report::dedup_key), and `range_day` is the UTC day of its start, so one key
--   always has one range_day. A separate unpartitioned dedup table would have given a global
--   unique key too, at the price of a second index write per report and rows to drop by hand
--   at retention time.
-- * Ids come from sequences (never reused, like SQLite's AUTOINCREMENT). The writer allocates
--   them with one `nextval` call per batch so child rows can be written in bulk.
-- * Children reference their parent by (id, range_day) with ON DELETE CASCADE; dropping a
--   month drops the children's partitions first (src/postgres/retention.rs).

CREATE SEQUENCE submissions_id_seq;
CREATE SEQUENCE reports_id_seq;
CREATE SEQUENCE policies_id_seq;
CREATE SEQUENCE failure_details_id_seq;
CREATE SEQUENCE diagnostics_id_seq;

CREATE TABLE submissions (
    id             BIGINT  PRIMARY KEY DEFAULT nextval('submissions_id_seq'),
    received_at_us BIGINT  NOT NULL,
    origin         TEXT    NOT NULL
        CHECK (origin IN ('file', 'stdin', 'http', 'smtp', 'lmtp', 'imap', 'pipe')),
    source_name    TEXT,
    raw_size       BIGINT  NOT NULL,
    raw_sha256     BYTEA   NOT NULL,
    raw_encoding   TEXT    NOT NULL CHECK (raw_encoding IN ('gzip', 'as-received')),
    raw            BYTEA   NOT NULL
);
ALTER SEQUENCE submissions_id_seq OWNED BY submissions.id;
CREATE INDEX submissions_received ON submissions (received_at_us);

CREATE TABLE reports (
    id                   BIGINT  NOT NULL DEFAULT nextval('reports_id_seq'),
    submission_id        BIGINT  NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    dedup_key            TEXT    NOT NULL,
    organization_name    TEXT,
    contact_info         TEXT,
    report_id            TEXT,
    range_start_us       BIGINT  NOT NULL,
    range_end_us         BIGINT  NOT NULL,
    range_day            DATE    NOT NULL,
    start_raw            TEXT    NOT NULL,
    end_raw              TEXT    NOT NULL,
    via_message          BOOLEAN NOT NULL,
    tls_report_domain    TEXT,
    tls_report_submitter TEXT,
    subject_report_id    TEXT,
    message_id           TEXT,
    message_from         TEXT,
    message_subject      TEXT,
    message_date         TEXT,
    file_name            TEXT,
    total_successful     BIGINT  NOT NULL,
    total_failed         BIGINT  NOT NULL,
    duplicate_count      BIGINT  NOT NULL DEFAULT 0,
    last_duplicate_at_us BIGINT,
    stored_at_us         BIGINT  NOT NULL,
    parser_version       TEXT    NOT NULL,
    PRIMARY KEY (id, range_day),
    UNIQUE (dedup_key, range_day)
) PARTITION BY RANGE (range_day);
ALTER SEQUENCE reports_id_seq OWNED BY reports.id;
CREATE INDEX reports_submission ON reports (submission_id);

CREATE TABLE policies (
    id            BIGINT NOT NULL DEFAULT nextval('policies_id_seq'),
    report_id     BIGINT NOT NULL,
    policy_index  BIGINT NOT NULL,
    policy_type   TEXT   NOT NULL,
    policy_domain TEXT,
    policy_string TEXT   NOT NULL,
    mx_host       TEXT   NOT NULL,
    successful    BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    range_day     DATE   NOT NULL,
    PRIMARY KEY (id, range_day),
    UNIQUE (report_id, policy_index, range_day),
    FOREIGN KEY (report_id, range_day) REFERENCES reports (id, range_day) ON DELETE CASCADE
) PARTITION BY RANGE (range_day);
ALTER SEQUENCE policies_id_seq OWNED BY policies.id;
CREATE INDEX policies_domain ON policies (policy_domain);

CREATE TABLE failure_details (
    id                     BIGINT NOT NULL DEFAULT nextval('failure_details_id_seq'),
    policy_id              BIGINT NOT NULL,
    report_id              BIGINT NOT NULL,
    result_type            TEXT   NOT NULL,
    sending_mta_ip         TEXT,
    receiving_mx_hostname  TEXT,
    receiving_mx_helo      TEXT,
    receiving_ip           TEXT,
    failed_session_count   BIGINT NOT NULL,
    additional_information TEXT,
    failure_reason_code    TEXT,
    range_day              DATE   NOT NULL,
    PRIMARY KEY (id, range_day),
    FOREIGN KEY (policy_id, range_day) REFERENCES policies (id, range_day) ON DELETE CASCADE
) PARTITION BY RANGE (range_day);
ALTER SEQUENCE failure_details_id_seq OWNED BY failure_details.id;
CREATE INDEX failure_details_policy ON failure_details (policy_id);

CREATE TABLE diagnostics (
    id        BIGINT NOT NULL DEFAULT nextval('diagnostics_id_seq'),
    report_id BIGINT NOT NULL,
    code      TEXT   NOT NULL,
    path      TEXT   NOT NULL,
    message   TEXT   NOT NULL,
    range_day DATE   NOT NULL,
    PRIMARY KEY (id, range_day),
    FOREIGN KEY (report_id, range_day) REFERENCES reports (id, range_day) ON DELETE CASCADE
) PARTITION BY RANGE (range_day);
ALTER SEQUENCE diagnostics_id_seq OWNED BY diagnostics.id;
CREATE INDEX diagnostics_report ON diagnostics (report_id);

-- Daily rollups: see the SQLite migration. Sums beyond BIGINT raise numeric_value_out_of_range,
-- which the store reports as an unstorable daily rollup (SQLite needs CHECKs for that).
CREATE TABLE daily_policy_rollups (
    day           DATE   NOT NULL,
    policy_domain TEXT   NOT NULL,
    organization  TEXT   NOT NULL,
    policy_type   TEXT   NOT NULL,
    successful    BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    reports       BIGINT NOT NULL,
    PRIMARY KEY (day, policy_domain, organization, policy_type)
);
CREATE INDEX daily_policy_rollups_empty ON daily_policy_rollups (reports) WHERE reports = 0;
-- PostgreSQL can seek a (domain, day) range directly; see src/postgres/read.rs.
CREATE INDEX daily_policy_rollups_domain ON daily_policy_rollups (policy_domain, day);

CREATE TABLE daily_failure_rollups (
    day             DATE   NOT NULL,
    policy_domain   TEXT   NOT NULL,
    organization    TEXT   NOT NULL,
    policy_type     TEXT   NOT NULL,
    result_type     TEXT   NOT NULL,
    failed_sessions BIGINT NOT NULL,
    details         BIGINT NOT NULL,
    PRIMARY KEY (day, policy_domain, organization, policy_type, result_type)
);
CREATE INDEX daily_failure_rollups_empty ON daily_failure_rollups (details) WHERE details = 0;

-- Creates the monthly partitions holding the given days, unless they exist. Called in its own
-- transaction before a write (DDL inside the write transaction would hold a lock on the parent
-- tables while waiting for other writers). The advisory lock serialises concurrent creators;
-- a creator that still finds a table made meanwhile (its catalog snapshot predates the other
-- commit) skips it.
CREATE FUNCTION tlsrpt_ensure_partitions(days DATE[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    month DATE;
    parent TEXT;
BEGIN
    FOR month IN SELECT DISTINCT date_trunc('month', d)::date FROM unnest(days) AS d LOOP
        IF to_regclass(format('reports_p%s', to_char(month, 'YYYYMM'))) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('tlsrpt_ensure_partitions'));
            FOREACH parent IN ARRAY ARRAY['reports', 'policies', 'failure_details', 'diagnostics'] LOOP
                BEGIN
                    EXECUTE format(
                        'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                        parent || '_p' || to_char(month, 'YYYYMM'), parent,
                        month, (month + interval '1 month')::date);
                EXCEPTION WHEN duplicate_table OR unique_violation THEN
                    NULL;
                END;
            END LOOP;
        END IF;
    END LOOP;
END
$$;
