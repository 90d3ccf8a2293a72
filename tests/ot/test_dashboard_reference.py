"""Built ops mean the same to a stock browser client: the reference ot-json0 (with the
text-unicode and rich-text subtypes registered) applies them to the same document."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.ops import build
from ot.errors import DocumentError, InvalidOpError
from tests.ot.oracle import Oracle, oracle_fixture, same
from tests.ot.test_dashboard_properties import documents, domain_ops

__all__ = ["oracle_fixture"]

pytestmark = pytest.mark.node


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.data())
def test_the_reference_applies_built_ops_alike(oracle: Oracle, data: st.DataObject) -> None:
    doc: dict[str, Any] = data.draw(documents())
    dops = data.draw(st.lists(domain_ops(doc), min_size=1, max_size=3))
    ops = []
    for dop in dops:
        try:
            ops.append(build(doc, dop))
        except (DocumentError, InvalidOpError):
            continue
    for op in ops:
        reference = oracle.call("json0", "apply", doc, op)
        assert reference.ok, reference.error
        assert same(reference.value, json0.apply(doc, op))
