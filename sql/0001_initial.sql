-- Tandem's first schema.
--
-- The migration runner creates schema_migrations itself (it must exist before the first
-- migration can be recorded) and creates the monthly partitions of operations and audit_logs
-- after the migrations have run; this file only declares the partitioned parents and their
-- DEFAULT partitions, which catch rows no monthly partition covers so that a write never fails
-- for want of a partition (`tandem partitions status` reports such rows, `ensure` moves them).

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    username      text NOT NULL,
    display_name  text NOT NULL DEFAULT '',
    password_hash text,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness: "Ann@x.io" and "ann@x.io" are one account.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE dashboards (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id      uuid NOT NULL REFERENCES users (id),
    title         text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    is_archived   boolean NOT NULL DEFAULT false,
    -- The version of the current snapshot; the fence every commit compares and sets.
    head_version  bigint NOT NULL DEFAULT 1 CHECK (head_version >= 1),
    -- Fencing token: bumped by every new sequencer; a commit must present the current one.
    lock_epoch    bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))
    ) STORED
);
CREATE INDEX dashboards_search_idx ON dashboards USING gin (search_vector);
CREATE INDEX dashboards_owner_idx ON dashboards (owner_id, updated_at DESC);

CREATE TABLE dashboard_collaborators (
    dashboard_id uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    added_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dashboard_id, user_id)
);
CREATE INDEX dashboard_collaborators_user_idx ON dashboard_collaborators (user_id);

-- A projection of each dashboard document's widgets map, kept by the commit that changes it,
-- for queries that should not parse documents. The log and checkpoints remain the truth.
CREATE TABLE widgets (
    dashboard_id uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    widget_id    text NOT NULL,
    type         text,
    title        text,
    position     jsonb,
    config       jsonb,
    version      bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dashboard_id, widget_id)
);

-- The log. A unique constraint here would have to include created_at, so it could not make
-- (dashboard_id, version) unique: the compare-and-set on dashboards.head_version does that.
CREATE TABLE operations (
    id             bigserial,
    dashboard_id   uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    user_id        uuid,
    operation_type text NOT NULL,
    target_id      text,
    operation      jsonb NOT NULL,
    inverse        jsonb,
    version        bigint NOT NULL CHECK (version >= 0),
    client_version bigint NOT NULL,
    server_version bigint NOT NULL,
    src            text NOT NULL,
    seq            bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX operations_dashboard_version_idx ON operations (dashboard_id, version);
CREATE INDEX operations_dashboard_src_seq_idx ON operations (dashboard_id, src, seq);
CREATE TABLE operations_default PARTITION OF operations DEFAULT;

CREATE TABLE checkpoints (
    id           bigserial PRIMARY KEY,
    dashboard_id uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    version      bigint NOT NULL CHECK (version >= 1),
    document     jsonb NOT NULL,
    -- Major checkpoints are the named, user-visible versions of a dashboard.
    is_major     boolean NOT NULL DEFAULT false,
    label        text,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dashboard_id, version),
    CHECK (label IS NULL OR is_major)
);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token; the token itself is never stored.
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE share_links (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dashboard_id  uuid NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    password_hash text,
    expires_at    timestamptz,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX share_links_dashboard_idx ON share_links (dashboard_id);

-- No foreign keys: the audit trail outlives the users and dashboards it mentions.
CREATE TABLE audit_logs (
    id           bigserial,
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      uuid,
    dashboard_id uuid,
    action       text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip           inet,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX audit_logs_dashboard_idx ON audit_logs (dashboard_id, at DESC);
CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, at DESC);
CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;
