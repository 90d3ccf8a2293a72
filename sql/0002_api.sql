-- What the HTTP API needs: public dashboards, guest sessions from share links, and row-level
-- security on the tables it reads.
--
-- Row-level security applies to the role tandem_api only. API transactions switch to it with
-- SET LOCAL ROLE and name the acting user (and, for a guest, the one dashboard it holds) with
-- SET LOCAL tandem.user_id / tandem.dashboard_id, so a query that forgets its WHERE still
-- cannot return another user's rows. The sequencer, migrations and the CLI keep the connecting
-- role, which owns the tables and is not subject to these policies.

ALTER TABLE dashboards ADD COLUMN is_public boolean NOT NULL DEFAULT false;
CREATE INDEX dashboards_updated_idx ON dashboards (updated_at DESC, id DESC);

-- A guest holds one dashboard with the role of the share link it redeemed, for as long as the
-- session and the link live. Its id stands for the guest wherever a user id is recorded.
CREATE TABLE guest_sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    share_link_id uuid NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    dashboard_id  uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor')),
    display_name  text NOT NULL DEFAULT '',
    -- SHA-256 of the token; the token itself is never stored.
    token_hash    bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX guest_sessions_link_idx ON guest_sessions (share_link_id);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tandem_api') THEN
        CREATE ROLE tandem_api NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'tandem_api', 'MEMBER') THEN
        EXECUTE format('GRANT tandem_api TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO tandem_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tandem_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tandem_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tandem_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO tandem_api;

CREATE FUNCTION tandem_actor() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('tandem.user_id', true), '')::uuid $$;

CREATE FUNCTION tandem_guest_dashboard() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('tandem.dashboard_id', true), '')::uuid $$;

-- Runs as the tables' owner, so the policies below can ask it without recursing into each other.
CREATE FUNCTION tandem_can_see(dashboard uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT dashboard = tandem_guest_dashboard()
        OR EXISTS (SELECT 1 FROM dashboards d
                    WHERE d.id = dashboard AND (d.owner_id = tandem_actor() OR d.is_public))
        OR EXISTS (SELECT 1 FROM dashboard_collaborators c
                    WHERE c.dashboard_id = dashboard AND c.user_id = tandem_actor())
$$;

ALTER TABLE dashboards ENABLE ROW LEVEL SECURITY;
CREATE POLICY dashboards_visible ON dashboards TO tandem_api
    USING (owner_id = tandem_actor() OR is_public OR id = tandem_guest_dashboard()
           OR id IN (SELECT c.dashboard_id FROM dashboard_collaborators c
                      WHERE c.user_id = tandem_actor()))
    WITH CHECK (owner_id = tandem_actor() OR tandem_can_see(id));

ALTER TABLE dashboard_collaborators ENABLE ROW LEVEL SECURITY;
CREATE POLICY collaborators_visible ON dashboard_collaborators TO tandem_api
    USING (user_id = tandem_actor() OR tandem_can_see(dashboard_id));

ALTER TABLE widgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY widgets_visible ON widgets TO tandem_api USING (tandem_can_see(dashboard_id));

ALTER TABLE operations ENABLE ROW LEVEL SECURITY;
CREATE POLICY operations_visible ON operations TO tandem_api USING (tandem_can_see(dashboard_id));

ALTER TABLE checkpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY checkpoints_visible ON checkpoints TO tandem_api
    USING (tandem_can_see(dashboard_id));

ALTER TABLE share_links ENABLE ROW LEVEL SECURITY;
CREATE POLICY share_links_visible ON share_links TO tandem_api
    USING (tandem_can_see(dashboard_id));

ALTER TABLE guest_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY guest_sessions_visible ON guest_sessions TO tandem_api
    USING (tandem_can_see(dashboard_id));

ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_logs_visible ON audit_logs TO tandem_api
    USING (user_id = tandem_actor() OR (dashboard_id IS NOT NULL AND tandem_can_see(dashboard_id)))
    WITH CHECK (true);
