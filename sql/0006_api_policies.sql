-- The dashboards policy asks for the acting user's collaborator row by its primary key
-- (dashboard_id, user_id) instead of hashing all of the user's rows: inside a per-dashboard
-- lookup (the API's list and search probe each of the user's dashboards by id) the hashed set
-- was rebuilt for every probe.
DROP POLICY dashboards_visible ON dashboards;
CREATE POLICY dashboards_visible ON dashboards TO tandem_api
    USING (owner_id = tandem_actor() OR is_public OR id = tandem_guest_dashboard()
           OR EXISTS (SELECT 1 FROM dashboard_collaborators c
                       WHERE c.dashboard_id = dashboards.id AND c.user_id = tandem_actor()))
    WITH CHECK (owner_id = tandem_actor() OR tandem_can_see(id));
