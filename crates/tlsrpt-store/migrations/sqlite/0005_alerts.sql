-- Alert state (issue 6): the alerts the rules opened, their acknowledgement and muting, and
-- a log of every notification a channel delivered or failed to deliver.
-- Conventions as in 0001: instants are INTEGER unix microseconds UTC. The PostgreSQL flavour
-- mirrors it with BIGINT / BIGSERIAL.

CREATE TABLE alerts (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    domain               TEXT    NOT NULL,
    -- `tlsrpt_analyze::Rule::as_str`, e.g. 'certificate-failure'.
    rule                 TEXT    NOT NULL,
    severity             TEXT    NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    state                TEXT    NOT NULL CHECK (state IN ('open', 'resolved')),
    opened_at_us         INTEGER NOT NULL,
    resolved_at_us       INTEGER,
    last_evaluated_at_us INTEGER NOT NULL,
    acknowledged_at_us   INTEGER,
    acknowledged_by      TEXT,
    muted_until_us       INTEGER,
    -- When channels were last told it is open; NULL: never (muted or in cooldown).
    last_notified_at_us  INTEGER,
    -- The latest evaluation's `tlsrpt_analyze::Alert` as JSON (title, cause, evidence).
    alert                TEXT    NOT NULL,
    CHECK ((state = 'open') = (resolved_at_us IS NULL))
);
-- One open alert per domain and rule: a second notice for the same problem is impossible
-- even with two engines on one database.
CREATE UNIQUE INDEX alerts_one_open ON alerts (domain, rule) WHERE state = 'open';
CREATE INDEX alerts_by_domain_rule ON alerts (domain, rule, id);

-- Every delivery attempt series of a notice to one channel.
CREATE TABLE alert_notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id        INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    -- `tlsrpt_analyze::NoticeKind`: 'opened', 'resolved', 'test'.
    kind            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    created_at_us   INTEGER NOT NULL,
    delivered_at_us INTEGER,
    last_error      TEXT
);
CREATE INDEX alert_notifications_by_alert ON alert_notifications (alert_id, id);
