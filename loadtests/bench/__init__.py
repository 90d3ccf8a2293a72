"""Benchmarks: each section prints numbers; ``make bench`` runs them all."""

from __future__ import annotations
