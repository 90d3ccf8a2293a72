"""json0 ops validated once, for callers that use one op many times.

The sequencer transforms each submitted op against every op committed since the submit's base
version, so without this the same committed ops would be validated again on every submit.
:func:`check` validates an op once and returns a :class:`CheckedOp`; every function of
:mod:`ot.json0` accepts one wherever it accepts an op and then skips validation. Example::

    committed = [check(op) for op in since]      # once, when each op is committed
    mine = check(submitted)
    for other in committed:
        mine = transform(mine, other, "left")    # a CheckedOp again: nothing re-validated
    document, inverse = apply_and_invert(document, mine)

A CheckedOp holds a valid op, whatever the caller does through this package: the constructor
refuses to make one without a key private to this module, and only :func:`check` and
:func:`derive` use it. :func:`check` copies the components and their paths, so changing the
op it was given changes nothing here; the values inside (``oi``, ``li``, a subtype's ``o``,
...) are shared, and like every op and document here must not be changed in place.

Transforming valid ops does not always give a valid op: paths that disagree about a container
(a key where the other op has an index) go through JavaScript's arithmetic and may come out as
fractions, and counts may add up past what JavaScript holds exactly. So :func:`derive` checks a
transform's result again before it is a CheckedOp, but only what transforming can break: the
kind of each component, its path, ``lm``, ``na``, ``si``/``sd``, and its subtype op unless that
is one of the inputs' own. ``li``/``ld``/``oi``/``od`` values are not walked again: they are
the inputs' values, or the result of applying an input component to one (json0 and its
subtypes make only JSON from JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ot.errors import InvalidOpError
from ot.json0.check import Op, check_component, check_json, check_op
from ot.json0.compose import clone
from ot.jsvalue import Strict

# Whoever holds this can make a CheckedOp; nothing outside this module does.
_KEY: Final = object()


@dataclass(frozen=True, slots=True, init=False, repr=False)
class CheckedOp:
    """A json0 op known to be well formed; :func:`check` makes one, :attr:`op` reads it."""

    _components: Op

    def __init__(self, components: Op, key: object = None) -> None:
        if key is not _KEY:
            raise InvalidOpError("a CheckedOp comes from json0.check")
        object.__setattr__(self, "_components", components)

    @property
    def op(self) -> Op:
        """The op as a plain list: fresh components and paths (values shared)."""
        return [clone(c) for c in self._components]

    def __repr__(self) -> str:
        return f"CheckedOp({self._components!r})"

    # Copies and pickles go through check(), so no state can be slipped in from outside.
    def __reduce__(self) -> tuple[Any, tuple[Op]]:
        return check, (self.op,)

    def __setstate__(self, state: object) -> None:
        raise InvalidOpError("a CheckedOp comes from json0.check")


def check(op: Any, strict: Strict | None = None) -> CheckedOp:
    """``op`` validated (as :func:`ot.json0.check_op` does, with ``strict`` as there) and held
    as a :class:`CheckedOp`.

    A CheckedOp comes back as it is, once it passes ``strict`` (when given).
    """
    if type(op) is CheckedOp:
        if strict is not None:
            check_json(op._components, strict=strict)
        return op
    check_op(op, strict)
    return CheckedOp([clone(c) for c in op], _KEY)


def components(op: Any) -> Op:
    """The components of a valid op: a CheckedOp's own (never to be changed), or ``op`` itself
    once :func:`check_op` has passed it."""
    if type(op) is CheckedOp:
        return op._components
    check_op(op)
    return op  # type: ignore[no-any-return]


def derive(result: Op, *sources: Op) -> CheckedOp:
    """``result``, made by transforming the valid ops ``sources``, as a CheckedOp once what
    transforming can break has been checked (see the module docstring)."""
    known = {(c["t"], id(c["o"])) for source in sources for c in source if "o" in c}
    try:
        for c in result:
            check_component(c, known)
    except InvalidOpError as error:
        raise InvalidOpError(f"the transformed op is not valid: {error.message}") from None
    return CheckedOp(result, _KEY)
