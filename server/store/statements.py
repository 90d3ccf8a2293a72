"""The SQL of the operations log, kept together so the write path can be read in one place.

Writes that belong together are one statement of data-modifying CTEs: one round trip, one
implicit transaction, and every part gated on the row the first part returns, so a failed fence
writes nothing at all.
"""

from __future__ import annotations

# Batches travel as one jsonb array of records (jsonb_to_recordset) instead of one array
# parameter per column: ops are JSON lists, which asyncpg's array encoder would read as dimensions.
OP_RECORD = (
    "user_id uuid, operation_type text, target_id text, operation jsonb, inverse jsonb,"
    " version bigint, client_version bigint, src text, seq bigint, target_ids text[]"
)
WIDGET_RECORD = "widget_id text, type text, title text, position jsonb, config jsonb"

# The batches of one or more dashboards (see server.store.group). $1: one record per dashboard
# (HEAD_RECORD: its fence (base version and epoch), new head, and, or NULL, its new title,
# description, checkpoint document, widget ids to delete and to keep (NULL: keep all others));
# $2: the op records and $3: the widget rows of them all, each naming its dashboard; $4:
# created_at (NULL: now()). Each dashboard's rows are written only if its own fence matched;
# the head rows are locked in id order first, so two statements never wait on each other in a
# cycle. Returns the ids of the dashboards written.
HEAD_RECORD = (
    "dashboard_id uuid, base bigint, head bigint, epoch bigint, title text, description text,"
    " checkpoint jsonb, deletes jsonb, keep jsonb"
)

COMMIT = f"""
WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS i({HEAD_RECORD})
), locked AS (
    SELECT d.id FROM dashboards d JOIN input i ON d.id = i.dashboard_id
     WHERE d.head_version = i.base AND d.lock_epoch = i.epoch
     ORDER BY d.id
       FOR UPDATE OF d
), gate AS (
    UPDATE dashboards d
       SET head_version = i.head, updated_at = coalesce($4, now()),
           title = coalesce(i.title, d.title), description = coalesce(i.description, d.description)
      FROM input i JOIN locked l ON l.id = i.dashboard_id
     WHERE d.id = i.dashboard_id AND d.head_version = i.base AND d.lock_epoch = i.epoch
 RETURNING d.id, i.head, i.checkpoint, i.deletes, i.keep
), batch AS (
    INSERT INTO operations (dashboard_id, user_id, operation_type, target_id, operation, inverse,
                            version, client_version, server_version, src, seq, created_at,
                            target_ids)
    SELECT x.dashboard_id, x.user_id, x.operation_type, x.target_id, x.operation, x.inverse,
           x.version, x.client_version, x.version, x.src, x.seq, coalesce($4, now()),
           coalesce(x.target_ids, '{{}}')
      FROM jsonb_to_recordset($2::jsonb) AS x(dashboard_id uuid, {OP_RECORD})
      JOIN gate g ON g.id = x.dashboard_id
), upserted AS (
    INSERT INTO widgets (dashboard_id, widget_id, type, title, position, config, version, updated_at)
    SELECT w.dashboard_id, w.widget_id, w.type, w.title, w.position, w.config, g.head,
           coalesce($4, now())
      FROM jsonb_to_recordset($3::jsonb) AS w(dashboard_id uuid, {WIDGET_RECORD})
      JOIN gate g ON g.id = w.dashboard_id
    ON CONFLICT (dashboard_id, widget_id) DO UPDATE
       SET type = EXCLUDED.type, title = EXCLUDED.title, position = EXCLUDED.position,
           config = EXCLUDED.config, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
), removed AS (
    DELETE FROM widgets w USING gate g
     WHERE w.dashboard_id = g.id
       AND (g.deletes ? w.widget_id OR (g.keep IS NOT NULL AND NOT g.keep ? w.widget_id))
), checkpoint AS (
    INSERT INTO checkpoints (dashboard_id, version, document, created_at)
    SELECT g.id, g.head, g.checkpoint, coalesce($4, now()) FROM gate g
     WHERE g.checkpoint IS NOT NULL
    ON CONFLICT (dashboard_id, version) DO NOTHING
)
SELECT coalesce(array_agg(id), '{{}}') FROM gate
"""

# $1 id, $2 owner, $3 title, $4 description, $5 create record, $6 created_at or NULL, $7 src,
# $8 seq, then the widget rows as arrays (PostgreSQL parses small values in arrays faster than
# one large jsonb of records): $9 ids, sorted (also the create op's target_ids), $10 types,
# $11 titles, $12 positions and $13 configs as JSON text. The document is sent once, inside the
# create record ({"create": {"type": …, "data": document}}, history.create_record); the first
# checkpoint is that record's document. The dashboard starts at version 1 (ShareDB).
CREATE = """
WITH gate AS (
    INSERT INTO dashboards (id, owner_id, title, description, head_version, lock_epoch,
                            created_at, updated_at)
    VALUES ($1, $2, $3, $4, 1, 0, coalesce($6, now()), coalesce($6, now()))
 RETURNING id
), created AS (
    INSERT INTO operations (dashboard_id, user_id, operation_type, target_id, operation, inverse,
                            version, client_version, server_version, src, seq, created_at,
                            target_ids)
    SELECT id, $2, 'create', NULL, $5::jsonb, NULL, 0, 0, 0, $7, $8, coalesce($6, now()),
           $9::text[]
      FROM gate
), checkpoint AS (
    INSERT INTO checkpoints (dashboard_id, version, document, created_by, created_at)
    SELECT id, 1, $5::jsonb -> 'create' -> 'data', $2, coalesce($6, now()) FROM gate
), projected AS (
    INSERT INTO widgets (dashboard_id, widget_id, type, title, position, config, version, updated_at)
    SELECT $1, w.widget_id, w.type, w.title, w.position::jsonb, w.config::jsonb, 1,
           coalesce($6, now())
      FROM gate, unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
                 AS w(widget_id, type, title, position, config)
)
SELECT id FROM gate
"""

# The head and the nearest checkpoint at or below the wanted version ($2, NULL: the head);
# $3 true skips checkpoints (replay from the create op).
HEAD_AND_CHECKPOINT = """
SELECT d.head_version, c.version AS cp_version, c.document AS cp_document,
       c.created_at AS cp_created_at
  FROM dashboards d
  LEFT JOIN LATERAL (
       SELECT version, document, created_at FROM checkpoints
        WHERE dashboard_id = d.id AND version <= coalesce($2, d.head_version) AND NOT $3
        ORDER BY version DESC LIMIT 1) c ON true
 WHERE d.id = $1
"""

OPS_FOR_REPLAY = """
SELECT version, operation, created_at FROM operations
 WHERE dashboard_id = $1 AND version >= $2 AND version < $3
 ORDER BY version
"""

# The head and the ops in one statement, so one snapshot: a commit landing meanwhile cannot
# make the ops look shorter than the head says they are. A missing dashboard gives no row; one
# without ops in the range gives a single row with NULL op columns.
OPS_BETWEEN = """
SELECT d.head_version, o.version, o.src, o.seq, o.user_id, o.client_version, o.operation,
       o.inverse, o.operation_type, o.target_id, o.created_at
  FROM dashboards d
  LEFT JOIN LATERAL (
        SELECT version, src, seq, user_id, client_version, operation, inverse, operation_type,
               target_id, created_at
          FROM operations
         WHERE dashboard_id = d.id AND version >= $2 AND ($3::bigint IS NULL OR version < $3)
       ) o ON true
 WHERE d.id = $1
 ORDER BY o.version
"""

VERSION_AT = """
SELECT version FROM operations
 WHERE dashboard_id = $1 AND created_at <= $2
 ORDER BY version DESC LIMIT 1
"""

CHECKPOINT_UPSERT = """
INSERT INTO checkpoints (dashboard_id, version, document, is_major, label, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (dashboard_id, version) DO UPDATE
   SET is_major = checkpoints.is_major OR EXCLUDED.is_major,
       label = coalesce(EXCLUDED.label, checkpoints.label),
       created_by = coalesce(EXCLUDED.created_by, checkpoints.created_by)
RETURNING version, is_major, label, created_at
"""

OLDEST = """
SELECT d.head_version,
       (SELECT min(version) FROM operations o WHERE o.dashboard_id = d.id) AS first_op
  FROM dashboards d WHERE d.id = $1
"""

# $1 dashboard, $2 src, $3 seq: the version of that submit's op, if it is in the log.
FIND_OP = (
    "SELECT version FROM operations WHERE dashboard_id = $1 AND src = $2 AND seq = $3"
    " ORDER BY version LIMIT 1"
)
