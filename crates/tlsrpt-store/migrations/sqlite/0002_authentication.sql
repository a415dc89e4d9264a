-- How far each submission's sender is authenticated, and whether it is quarantined.
--
-- Both live on `submissions`, not `reports`: DKIM signs a message (RFC 8460 §3), which is one
-- submission, and the quarantine decision is taken for a whole received message too (one
-- report per message in practice). A report's verdict is its submission's, one join away;
-- a duplicate received later by another route keeps the verdict of the copy that was stored.
--
-- auth_result:
--   'pass'                  a valid DKIM signature aligned with the report submitter (§3)
--   'fail'                  signed, but no signature passed and aligned (reason says why)
--   'none'                  mail without any DKIM signature
--   'unauthenticated-https' HTTPS POST: the protocol has no sender authentication (§3, §7)
--   'not-checked'           DKIM checking is off, or the input is a file import
-- auth_domain: the signing domain (d=) of the passing or best failing signature.
-- quarantined: stored under unknown_domains = "quarantine" although a policy domain is not
--   served here; dashboards leave these out.
ALTER TABLE submissions ADD COLUMN auth_result TEXT NOT NULL DEFAULT 'not-checked'
    CHECK (auth_result IN ('pass', 'fail', 'none', 'unauthenticated-https', 'not-checked'));
ALTER TABLE submissions ADD COLUMN auth_domain TEXT;
ALTER TABLE submissions ADD COLUMN auth_reason TEXT;
ALTER TABLE submissions ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0
    CHECK (quarantined IN (0, 1));
