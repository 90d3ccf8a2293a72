"""The subtypes json0 embeds with ``{p, t, o}`` components, by name.

Registered by default: text0 (json0's own, also behind ``si``/``sd``), text-unicode and
rich-text, the three a Tandem browser registers with its ``ot-json0``.
"""

from __future__ import annotations

from typing import Any

from ot import rich_text, text0, text_unicode
from ot.errors import UnknownTypeError
from ot.subtype import Subtype

_registry: dict[str, Subtype] = {}


def register_subtype(subtype: Subtype) -> None:
    """Make ``subtype`` available to json0 components whose ``t`` is ``subtype.name``."""
    name = getattr(subtype, "name", None)
    if type(name) is not str or not name:
        raise UnknownTypeError("a subtype needs a non-empty string name")
    _registry[name] = subtype


def get_subtype(name: Any) -> Subtype:
    subtype = find_subtype(name)
    if subtype is None:
        raise UnknownTypeError(f"no json0 subtype is registered as {name!r}")
    return subtype


def find_subtype(name: Any) -> Subtype | None:
    return _registry.get(name) if type(name) is str else None


register_subtype(text0.TYPE)
register_subtype(text_unicode.TYPE)
register_subtype(rich_text.TYPE)
