"""Redis plumbing: the lean pipelined RESP client of the hot path, and every key and channel name."""

from __future__ import annotations
