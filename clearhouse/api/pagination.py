"""Page-number pagination: `page`, `page_size`, and whether more follow.

No COUNT(*) over big tables: one extra row is fetched to tell `has_more`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ninja import Schema

T = TypeVar("T")


class Page(Schema, Generic[T]):
    data: list[T]
    page: int
    page_size: int
    has_more: bool


def paginate(queryset, page: int, page_size: int, to_out: Callable, *, batch: bool = False) -> dict:
    start = (page - 1) * page_size
    rows = list(queryset[start:start + page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    data = to_out(rows) if batch else [to_out(r) for r in rows]
    return {"data": data, "page": page, "page_size": page_size, "has_more": has_more}
