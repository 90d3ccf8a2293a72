-- A first pull (no cursor) pages through everything a user has by dashboard id: owned
-- dashboards and memberships, each in id order straight from an index.
CREATE INDEX dashboards_owner_id_idx ON dashboards (owner_id, id);
CREATE INDEX dashboard_collaborators_user_dashboard_idx ON dashboard_collaborators (user_id, dashboard_id);
