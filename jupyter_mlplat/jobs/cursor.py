"""The opaque cursor of the jobs listing: the position after the last job of a page.

Jobs are listed newest first, ordered by ``(created, id)`` descending. A cursor names the
``(created, id)`` of the last job a client saw; the next page is the jobs strictly after it in
that order (keyset pagination), so a deep page costs what the first one does and a job submitted
meanwhile neither shifts nor repeats the jobs a client pages through. The token is URL-safe
base64 of a small JSON array; clients pass it back unchanged and must not build one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from typing import NamedTuple

from ..errors import InvalidRequest

JOB_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class Position(NamedTuple):
    created: dt.datetime
    id: str


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc)


def encode(created: dt.datetime, job_id: str) -> str:
    raw = json.dumps([_utc(created).isoformat(), job_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> Position:
    """The position a cursor names; a token that is not one of ours is the client's 400."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created, job_id = json.loads(raw)
        if not (isinstance(created, str) and isinstance(job_id, str)
                and JOB_ID.fullmatch(job_id)):
            raise ValueError(token)
        return Position(_utc(dt.datetime.fromisoformat(created)), job_id)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError, OverflowError):
        raise InvalidRequest(
            f"cursor {token[:40]!r} is not a jobs cursor: pass the `next` of a previous page "
            "unchanged, or leave `cursor` out for the first page", reason="invalid cursor",
        ) from None
