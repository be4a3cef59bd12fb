"""Shared request types: bodies that refuse what no column can store, strict ISO dates."""

import re
from datetime import date
from typing import Annotated

from ninja import Schema
from pydantic import BeforeValidator, field_validator

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value):
    # Pydantic would read 0 or "1700000000" as a Unix time; finance dates are YYYY-MM-DD, nothing else.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("dates are written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class RequestBody(Schema):
    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_bytes(cls, value):
        # PostgreSQL text cannot hold NUL; refuse at the edge instead of failing in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        return value
