"""History as users reach it: restore a version, undo and redo one's own ops, export and
import dashboards, templates. Every change to a document here is one op through the sequencer
(:func:`server.core.submission.Hub.submit`), like a browser's; the HTTP endpoints
(:mod:`server.api.history`), the socket's undo and the CLI call these functions.
"""
