-- History that people use: widget history and per-user undo read the log by target and by
-- author, and templates are dashboards' documents kept apart for others to start from.

-- Who changed this widget, newest first (GET /api/dashboards/{id}/widgets/{wid}/history).
CREATE INDEX operations_dashboard_target_idx
    ON operations (dashboard_id, target_id, version DESC) WHERE target_id IS NOT NULL;
-- A user's own latest ops on a dashboard (undo / redo).
CREATE INDEX operations_dashboard_user_idx
    ON operations (dashboard_id, user_id, version DESC);

CREATE TABLE dashboard_templates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT 'general',
    is_public   boolean NOT NULL DEFAULT false,
    -- The dashboard document with credentials redacted; widget ids are replaced when it is used.
    document    jsonb NOT NULL,
    source_dashboard_id uuid REFERENCES dashboards (id) ON DELETE SET NULL,
    usage_count bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_templates_public_idx
    ON dashboard_templates (category, created_at DESC) WHERE is_public;
CREATE INDEX dashboard_templates_owner_idx ON dashboard_templates (owner_id, created_at DESC);

-- A user's ops whose undo turned out to be a no-op (what they changed was deleted or
-- overwritten by others since): the undo said so once, and the next undo goes past them.
CREATE TABLE undo_skips (
    dashboard_id uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dashboard_id, user_id, version)
);
