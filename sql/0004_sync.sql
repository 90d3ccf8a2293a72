-- Offline sync: what changed since a client's last pull, and requests that apply once.
--
-- "Changed since" is ordered by transaction ids, not clocks: a row records the id of the
-- transaction that last changed it (change_xid, set by the triggers below, whoever writes:
-- the sequencer's commit, the API, the CLI), and a pull's cursor is the oldest transaction
-- still running when the pull read (pg_snapshot_xmin). Every transaction that commits after
-- the pull has an id at or above that, so the next pull from the cursor misses nothing,
-- whatever order concurrent commits finish in; clock timestamps cannot promise that.

ALTER TABLE dashboards ADD COLUMN change_xid bigint NOT NULL DEFAULT 0;
ALTER TABLE dashboard_collaborators ADD COLUMN change_xid bigint NOT NULL DEFAULT 0;

CREATE FUNCTION tandem_mark_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$;

-- Only what a sync client keeps: not lock_epoch, which every new sequencer bumps.
CREATE TRIGGER dashboards_change BEFORE INSERT OR UPDATE OF head_version, title, description,
    is_archived, owner_id ON dashboards FOR EACH ROW EXECUTE FUNCTION tandem_mark_change();
CREATE TRIGGER collaborators_change BEFORE INSERT OR UPDATE ON dashboard_collaborators
    FOR EACH ROW EXECUTE FUNCTION tandem_mark_change();

CREATE INDEX dashboards_owner_change_idx ON dashboards (owner_id, change_xid);
CREATE INDEX dashboards_change_idx ON dashboards (change_xid);
CREATE INDEX dashboard_collaborators_user_change_idx
    ON dashboard_collaborators (user_id, change_xid);

-- A user who lost a dashboard (removed as a collaborator, the dashboard deleted, ownership
-- moved away) is told so by the next pull. No foreign keys: the dashboard may be gone.
-- Rows older than the retention are purged; a cursor older than that is refused.
CREATE TABLE sync_removals (
    user_id      uuid NOT NULL,
    dashboard_id uuid NOT NULL,
    change_xid   bigint NOT NULL,
    removed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, change_xid, dashboard_id)
);
CREATE INDEX sync_removals_age_idx ON sync_removals (removed_at);

CREATE FUNCTION tandem_collaborator_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_removals (user_id, dashboard_id, change_xid)
    VALUES (OLD.user_id, OLD.dashboard_id, pg_current_xact_id()::text::bigint)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

-- A deleted dashboard's collaborators are told by the cascade's own row triggers.
CREATE FUNCTION tandem_owner_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.owner_id IS DISTINCT FROM NEW.owner_id THEN
        INSERT INTO sync_removals (user_id, dashboard_id, change_xid)
        VALUES (OLD.owner_id, OLD.id, pg_current_xact_id()::text::bigint)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER collaborators_removed AFTER DELETE ON dashboard_collaborators
    FOR EACH ROW EXECUTE FUNCTION tandem_collaborator_removed();
CREATE TRIGGER dashboards_removed AFTER DELETE OR UPDATE OF owner_id ON dashboards
    FOR EACH ROW EXECUTE FUNCTION tandem_owner_removed();

-- Idempotency-Key: a request retried after a lost response applies once and gets the first
-- answer. Kept here, not in Redis: the answer must outlive a Redis restart (Redis keeps
-- nothing that cannot be rebuilt), and it lives next to the op it describes. A row is
-- claimed (status NULL, a lease in locked_until) before the work and settled with the
-- answer after; a claim whose lease ran out (the server died mid-request) is taken over by
-- the retry, which finds an op already committed by its submitter id (plan) instead of
-- applying it again. Rows expire after a day (expires_at), purged as their user makes more.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    -- SHA-256 of the method, path and canonical body: the same key with another request is
    -- refused.
    fingerprint  bytea NOT NULL,
    status       integer,
    response     jsonb,
    plan         jsonb,
    locked_until timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
