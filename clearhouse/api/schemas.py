"""Base for request bodies: refuse what no database column can store."""

from ninja import Schema
from pydantic import field_validator


class RequestBody(Schema):
    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_bytes(cls, value):
        # PostgreSQL text cannot hold NUL; refuse at the edge instead of failing in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        return value
