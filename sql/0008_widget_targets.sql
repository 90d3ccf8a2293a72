-- Widget history for ops that touch several widgets at once (a restore, a multi-widget edit):
-- every op records the ids of all the widgets it touches (operations.target_ids, written by
-- the store at commit from ot/dashboard/classify.py's widgets_touched), and a widget's history
-- is the ops whose target_id is that widget plus the ops without a single target whose
-- target_ids hold it.
--
-- The GIN index holds only the latter (target_id IS NULL with some widget): an op with one
-- target (most of them) is found, newest first, by operations_dashboard_target_idx as before,
-- and costs the GIN index nothing at commit. btree_gin puts dashboard_id in the same index, so
-- a widget id that many dashboards use (clients choose their ids) is looked up in one
-- dashboard only. btree_gin is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gin;

ALTER TABLE operations ADD COLUMN target_ids text[] NOT NULL DEFAULT '{}';

-- widgets_touched in SQL, for the ops already in the log (tests/store/test_widget_targets.py
-- holds the two to the same answers): components under ["widgets", id], layout entries
-- inserted or deleted, whole widget maps and documents replaced; a create (stored as
-- {"create": {"data": document}}) touches every widget of its document.
CREATE FUNCTION tandem_widgets_touched(op jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT w COLLATE "C" ORDER BY w COLLATE "C"), '{}') FROM (
        SELECT jsonb_object_keys(op -> 'create' -> 'data' -> 'widgets') AS w
         WHERE jsonb_typeof(op -> 'create' -> 'data' -> 'widgets') = 'object'
        UNION ALL
        SELECT t.w FROM jsonb_array_elements(
                   CASE jsonb_typeof(op) WHEN 'array' THEN op ELSE '[]' END) AS c(c),
               LATERAL (
                   SELECT c -> 'p' ->> 1
                    WHERE c -> 'p' ->> 0 = 'widgets' AND jsonb_typeof(c -> 'p' -> 1) = 'string'
                   UNION ALL
                   SELECT c ->> k FROM unnest(ARRAY['li', 'ld']) AS k
                    WHERE jsonb_typeof(c -> 'p') = 'array' AND jsonb_array_length(c -> 'p') = 2
                      AND c -> 'p' ->> 0 = 'layout' AND jsonb_typeof(c -> k) = 'string'
                   UNION ALL
                   SELECT jsonb_object_keys(c -> k) FROM unnest(ARRAY['oi', 'od']) AS k
                    WHERE c -> 'p' = '["widgets"]' AND jsonb_typeof(c -> k) = 'object'
                   UNION ALL
                   SELECT jsonb_object_keys(c -> k -> 'widgets') FROM unnest(ARRAY['oi', 'od']) AS k
                    WHERE c -> 'p' = '[]' AND jsonb_typeof(c -> k -> 'widgets') = 'object'
               ) AS t(w)
         WHERE jsonb_typeof(c) = 'object'
    ) touched
$$;

-- The backfill: one pass over the log, rewriting only the rows that touch a widget.
UPDATE operations SET target_ids = tandem_widgets_touched(operation)
 WHERE tandem_widgets_touched(operation) <> '{}';

-- Created on the parent, so every partition has it and every new one gets it. Without
-- fastupdate: the few ops it holds are indexed as they commit, instead of in a pending list
-- that every read would scan until a vacuum merged it.
CREATE INDEX operations_dashboard_targets_idx ON operations USING gin (dashboard_id, target_ids)
    WITH (fastupdate = off) WHERE target_id IS NULL AND target_ids <> '{}';
