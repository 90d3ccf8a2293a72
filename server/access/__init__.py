"""Who may stay connected: the role cache, access changes announced between processes, and
the re-validation of open connections when a session, user or role changes."""

from __future__ import annotations
