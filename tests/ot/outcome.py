"""Comparing what two calls do, errors included."""

from __future__ import annotations

from collections.abc import Callable

from ot.errors import OTError


def outcome(call: Callable[[], object]) -> object:
    """The call's result, or its OTError as ``(class, message)`` so two failures compare equal."""
    try:
        return call()
    except OTError as error:
        return type(error), error.message
