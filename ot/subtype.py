"""What json0 needs from an embedded subtype (``{p, t, o}`` components).

text0, text-unicode and rich-text implement this; :func:`ot.json0.register_subtype` adds more.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

Side = Literal["left", "right"]


class Subtype(Protocol):
    name: str
    uri: str

    def create(self, initial: Any = None) -> Any: ...

    def apply(self, snapshot: Any, op: Any) -> Any: ...

    def transform(self, op: Any, other: Any, side: Side) -> Any: ...

    def compose(self, a: Any, b: Any) -> Any: ...

    def invert(self, op: Any) -> Any:
        """The inverse from the op alone; raises NotInvertibleError when the op lacks the data."""
        ...

    def invert_with_doc(self, op: Any, snapshot: Any) -> Any:
        """The inverse given the snapshot the op applies to (always possible for a valid op)."""
        ...

    def normalize(self, op: Any) -> Any: ...

    def is_noop(self, op: Any) -> bool: ...


class FollowsSelections(Protocol):
    """Optional for a subtype that holds text: a selection's ends (positions in the type's own
    units) moved through one of its ops. With ``is_own`` (the op is the selection owner's) an
    insert exactly at an end pushes that end along, as typing does. A subtype without it holds
    nothing a selection can follow, and selections on it stay where they are."""

    def transform_range(self, start: int, end: int, op: Any, is_own: bool) -> tuple[int, int]: ...


class AppliesAndInverts(Protocol):
    """Optional for a subtype: ``(apply(snapshot, op), invert_with_doc(op, snapshot))`` in one
    pass, raising what calling the two in turn would. json0's ``apply_and_invert`` uses it when
    a subtype has it, so the subtype reads its snapshot and op once rather than twice."""

    def apply_and_invert(self, snapshot: Any, op: Any) -> tuple[Any, Any]: ...
