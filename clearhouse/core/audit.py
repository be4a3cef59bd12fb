"""The audit chain: append a row, verify the chain.

Appends are serialised (the chain has one head): on PostgreSQL by a
transaction-scoped advisory lock, on SQLite by its single writer. Journal
entries are not audited row by row here: they are their own append-only,
per-entry-hashed log, so the hot ledger path never waits on this chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from clearhouse.core.models import AuditEvent

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x43484155  # "CHAU"


def _canonical(*, seq, occurred_at, actor, action, object_type, object_id, payload) -> bytes:
    body = {
        "seq": seq,
        "occurred_at": occurred_at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "payload": payload,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chain_hash(prev_hash: str, **fields) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(**fields)).hexdigest()


# Width of the columns that name an actor (AuditEvent.actor, JournalEntry.posted_by).
ACTOR_MAX_LENGTH = 200


def actor_label(actor) -> str:
    """How an actor is named in the trail: a user, an API key or the system.

    Cut to the width of the actor columns: an API key's label adds its prefix
    to a name that may already be 200 characters long.
    """
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:ACTOR_MAX_LENGTH]
    label = getattr(actor, "audit_label", None)
    if not label:
        return str(actor)[:ACTOR_MAX_LENGTH]
    return (label() if callable(label) else label)[:ACTOR_MAX_LENGTH]


def audit_record(*, action: str, actor=None, object_type: str = "", object_id="", payload=None) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    payload = json.loads(json.dumps(payload or {}, default=str))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_ID])
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq = (last["seq"] + 1) if last else 1
        prev = last["hash"] if last else GENESIS
        fields = dict(
            seq=seq,
            occurred_at=timezone.now(),
            actor=actor_label(actor),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            payload=payload,
        )
        return AuditEvent.objects.create(prev_hash=prev, hash=chain_hash(prev, **fields), **fields)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def audit_chain_verify(batch_size: int = 5000) -> list[ChainProblem]:
    """Recompute every hash in order; report rows whose link or content changed."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    rows = AuditEvent.objects.order_by("seq").values_list(
        "seq", "occurred_at", "actor", "action", "object_type", "object_id", "payload", "prev_hash", "hash"
    )
    for seq, occurred_at, actor, action, otype, oid, payload, prev_hash, stored in rows.iterator(batch_size):
        if seq != expected_seq:
            problems.append(ChainProblem(seq, f"sequence gap: expected #{expected_seq}"))
        if prev_hash != prev:
            problems.append(ChainProblem(seq, "link to the previous row is broken"))
        computed = chain_hash(
            prev_hash, seq=seq, occurred_at=occurred_at, actor=actor, action=action,
            object_type=otype, object_id=oid, payload=payload,
        )
        if computed != stored:
            problems.append(ChainProblem(seq, "row content does not match its hash (edited)"))
        prev = stored
        expected_seq = seq + 1
    return problems
