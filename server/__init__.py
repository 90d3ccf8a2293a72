"""Tandem's server: gateway, sequencer, stores, CLI."""

from __future__ import annotations
