-- Daily DNS/MTA-STS checks that `serve` runs per configured domain (tlsrpt-hub `check`).
-- Conventions as in 0001: instants are INTEGER unix microseconds UTC. The PostgreSQL flavour
-- mirrors it with BIGINT / BIGSERIAL; `snapshot` and `findings` are JSON text in both.

-- One row per run per domain.
CREATE TABLE domain_checks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    domain        TEXT    NOT NULL,
    checked_at_us INTEGER NOT NULL,
    -- The worst finding of the run.
    status        TEXT    NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    -- What the next run compares with: TLSRPT record, MTA-STS id, policy mx lines, MX hosts.
    snapshot      TEXT    NOT NULL,
    -- Every finding, as `check --format json` prints them.
    findings      TEXT    NOT NULL
);
CREATE INDEX domain_checks_by_domain ON domain_checks (domain, checked_at_us);

-- What changed since the previous run (record removed, policy id changed, MX out of sync):
-- findings the alert rules can use.
CREATE TABLE check_changes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id INTEGER NOT NULL REFERENCES domain_checks (id) ON DELETE CASCADE,
    domain   TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    detail   TEXT    NOT NULL
);
CREATE INDEX check_changes_by_domain ON check_changes (domain, check_id);
