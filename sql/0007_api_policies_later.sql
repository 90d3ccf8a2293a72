-- Row-level security on the tables added after 0002 that the API reads, and on what 0002
-- left open to the role tandem_api: an API transaction that forgets its WHERE still returns
-- only the acting user's rows. Each policy compares the table's key columns with the acting
-- user, so a query that names its key still probes one index entry.

-- A guest's id (its guest session) wherever the guest's own rows are recorded: tandem.user_id
-- stays empty for a guest, so no user's ownership or membership can match it.
CREATE FUNCTION tandem_guest() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('tandem.guest_id', true), '')::uuid $$;

-- Templates: the public ones and the user's own. The API only creates templates and counts
-- their uses, so tandem_api may insert its own and update nothing but the counter.
ALTER TABLE dashboard_templates ENABLE ROW LEVEL SECURITY;
CREATE POLICY templates_visible ON dashboard_templates FOR SELECT TO tandem_api
    USING (is_public OR owner_id = tandem_actor());
CREATE POLICY templates_created ON dashboard_templates FOR INSERT TO tandem_api
    WITH CHECK (owner_id = tandem_actor());
CREATE POLICY templates_used ON dashboard_templates FOR UPDATE TO tandem_api
    USING (is_public OR owner_id = tandem_actor());
REVOKE UPDATE, DELETE ON dashboard_templates FROM tandem_api;
GRANT UPDATE (usage_count) ON dashboard_templates TO tandem_api;

-- A user's undo stack skips, idempotency keys and sync removals are the user's alone.
ALTER TABLE undo_skips ENABLE ROW LEVEL SECURITY;
CREATE POLICY undo_skips_own ON undo_skips TO tandem_api
    USING (user_id IN (tandem_actor(), tandem_guest()));

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_own ON idempotency_keys TO tandem_api
    USING (user_id IN (tandem_actor(), tandem_guest()));

ALTER TABLE sync_removals ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_removals_own ON sync_removals FOR SELECT TO tandem_api
    USING (user_id = tandem_actor());
-- Removals are written by triggers on the API's own deletes (a collaborator removed, a
-- dashboard deleted) for users other than the actor: the triggers write as the tables' owner.
ALTER FUNCTION tandem_collaborator_removed() SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION tandem_owner_removed() SECURITY DEFINER SET search_path = public, pg_temp;

-- users and sessions: the API rightly sees other people's rows (a collaborator's name and when
-- they were last seen, a public dashboard's or template's owner, an audit entry's author), so
-- they keep every row and lose their secret columns: password hashes, e-mail addresses and
-- session token hashes are read only by the connecting role (sign-up, login, lookups).
REVOKE ALL ON users FROM tandem_api;
GRANT SELECT (id, username, display_name, is_active, created_at, updated_at) ON users TO tandem_api;
REVOKE ALL ON sessions FROM tandem_api;
GRANT SELECT (id, user_id, created_at, expires_at, last_seen_at, revoked_at) ON sessions
    TO tandem_api;
REVOKE ALL ON schema_migrations FROM tandem_api;

-- A partition read by its own name would skip its parent's policies: tandem_api reaches the
-- log and the audit trail only through their parents (server/store/partitions.py revokes the
-- same on every partition it creates).
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
                 WHERE i.inhparent IN ('operations'::regclass, 'audit_logs'::regclass)
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM tandem_api', part);
    END LOOP;
END
$$;
