-- Mirrors migrations/sqlite/0004_checks.sql (see its comments): BIGINT ids from sequences.
CREATE TABLE domain_checks (
    id            BIGSERIAL PRIMARY KEY,
    domain        TEXT   NOT NULL,
    checked_at_us BIGINT NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    snapshot      TEXT   NOT NULL,
    findings      TEXT   NOT NULL
);
CREATE INDEX domain_checks_by_domain ON domain_checks (domain, checked_at_us);

CREATE TABLE check_changes (
    id       BIGSERIAL PRIMARY KEY,
    check_id BIGINT NOT NULL REFERENCES domain_checks (id) ON DELETE CASCADE,
    domain   TEXT   NOT NULL,
    kind     TEXT   NOT NULL,
    detail   TEXT   NOT NULL
);
CREATE INDEX check_changes_by_domain ON check_changes (domain, check_id);
