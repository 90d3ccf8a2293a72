"""The pure sequencing rules, fed values: no event loop, no Redis, no store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from ot import json0
from ot.dashboard.document import new_document
from ot.errors import OTError
from server.core.codes import Code
from server.core.ids import DashboardId, UserId
from server.core.submission import Committed, SubmitRecord
from server.sequencer.batch import (
    Batch,
    Refusal,
    begin_create,
    check_base,
    committed,
    find_duplicate,
    sequence,
    window,
)
from server.sequencer.size import SizeBound

D = DashboardId(uuid4())
USER = UserId(uuid4())
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SIZE = SizeBound(1_000_000)


def record(src: str, seq: int, version: int, op: Any = None, **fields: Any) -> SubmitRecord:
    return SubmitRecord(D, src, seq, version, USER, op=op, **fields)


def title_insert(position: int, text: str) -> list[dict[str, Any]]:
    return [{"p": ["title", position], "si": text}]


def head(version: int = 1) -> Batch:
    return Batch(D, version, new_document("ab"), exists=True)


def test_an_op_based_on_an_older_version_is_transformed_past_the_ops_since() -> None:
    batch = head(version=2)
    earlier = json0.check(title_insert(0, "X"))  # version 1, already committed: "Xab"
    batch.document = {**batch.document, "title": "Xab"}
    sequence(record("c2", 1, 1, title_insert(2, "!")), batch, [earlier], NOW, SIZE)
    assert batch.document["title"] == "Xab!"
    assert [c.version for c in batch.committed] == [2]
    assert batch.committed[0].op == title_insert(3, "!")
    assert batch.version == 3 and batch.ops[0].operation_type


@pytest.mark.parametrize(
    ("version", "exists", "code"),
    [(5, True, "op_from_future"), (0, True, "already_created"), (1, False, "not_found")],
)
def test_a_base_the_head_cannot_take_is_refused(version: int, exists: bool, code: str) -> None:
    batch = Batch(D, 2, new_document("ab"), exists=exists)
    with pytest.raises(Refusal) as refused:
        check_base(record("c", 1, version, title_insert(0, "x")), batch)
    assert refused.value.code == code


def test_a_resubmit_is_found_among_the_ops_since_its_base() -> None:
    batch = head(version=3)
    recent = [committed(record("c1", 1, 1), 1), committed(record("c2", 7, 1), 2)]
    found = window(record("c2", 7, 1), batch, recent, [None, None])
    assert found is not None
    since, checked = found
    assert [c.version for c in since] == [1, 2] and checked == [None, None]
    duplicate = find_duplicate(record("c2", 7, 1), since)
    assert duplicate is not None and duplicate.version == 2
    assert find_duplicate(record("c3", 7, 1), since) is None


def test_a_base_older_than_the_memory_asks_for_the_log() -> None:
    recent = [committed(record("c1", 1, 4), 4)]
    assert window(record("c", 1, 2), head(version=5), recent, [None]) is None


def test_an_op_that_does_not_apply_is_refused_and_leaves_the_batch_as_it_was() -> None:
    batch = head()
    with pytest.raises(OTError):
        sequence(record("c", 1, 1, [{"p": ["nope", 3], "si": "x"}]), batch, [], NOW, SIZE)
    assert batch.version == 1 and not batch.committed and batch.document["title"] == "ab"


def test_a_create_becomes_version_zero_and_ends_the_batch() -> None:
    batch = Batch(D, 0, None, exists=False)
    create = {"type": "json0", "data": new_document("new")}
    begin_create(record("c", 1, 0, create=create), batch, NOW)
    assert batch.create is not None and batch.exists and batch.version == 1
    assert batch.committed == [Committed(D, 0, "c", 1, user_id=USER, create=create, created_at=NOW)]


def test_an_op_that_makes_the_dashboard_too_large_is_refused() -> None:
    batch = head()
    with pytest.raises(Refusal) as refused:
        sequence(record("c", 1, 1, title_insert(0, "x" * 300)), batch, [], NOW, SizeBound(200))
    assert refused.value.code == "document_too_large" and not batch.committed


def test_refusals_carry_their_dashboard() -> None:
    batch = head()
    batch.refuse("c", 3, Code.FORBIDDEN, "no")
    assert batch.rejected[0].dashboard_id == D and batch.rejected[0].code == "forbidden"
