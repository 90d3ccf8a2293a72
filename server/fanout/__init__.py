"""Fan-out: committed batches reach every process over pub/sub, and each dashboard's feed delivers them to its listeners in order and without gaps."""

from __future__ import annotations
