-- Mirrors migrations/sqlite/0002_authentication.sql (see its comments); BOOLEAN for the 0/1 flag.
ALTER TABLE submissions ADD COLUMN auth_result TEXT NOT NULL DEFAULT 'not-checked'
    CHECK (auth_result IN ('pass', 'fail', 'none', 'unauthenticated-https', 'not-checked'));
ALTER TABLE submissions ADD COLUMN auth_domain TEXT;
ALTER TABLE submissions ADD COLUMN auth_reason TEXT;
ALTER TABLE submissions ADD COLUMN quarantined BOOLEAN NOT NULL DEFAULT false;
