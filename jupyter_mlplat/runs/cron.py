"""Cron expressions in an IANA time zone: validation, next due times, and words for a preview.

Times are computed on the zone's *wall clock* (croniter on naive local times, then placed in the
zone with zoneinfo), which is what a person writing ``0 2 * * *`` in ``Europe/Berlin`` means:

* a wall time skipped by a DST jump forward fires as far after the jump as it was into the gap
  (``02:30`` on the spring-forward night fires at ``03:30``), and never twice;
* a wall time repeated by a DST jump back fires once, at its first occurrence.

Due times are strictly increasing and unique whatever the zone does. A sixth field (seconds,
first, as in Quartz/Spring) is accepted for the local executor; Kubernetes CronJobs take five.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ..errors import InvalidRequest

UTC = dt.timezone.utc
MAX_PREVIEW = 100


@dataclass(frozen=True)
class Cron:
    expr: str
    zone: ZoneInfo

    @property
    def has_seconds(self) -> bool:
        return len(self.expr.split()) == 6

    def _iter(self, start: dt.datetime, is_prev: bool = False) -> croniter:
        return croniter(self.expr, start, is_prev=is_prev, second_at_beginning=self.has_seconds)

    def localize(self, wall: dt.datetime) -> dt.datetime:
        """The instant a naive wall time of this zone stands for (see the module doc)."""
        aware = wall.replace(tzinfo=self.zone, fold=0)
        back = aware.astimezone(UTC).astimezone(self.zone)
        return back if back.replace(tzinfo=None) != wall else aware

    def wall(self, instant: dt.datetime) -> dt.datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def next_times(self, after: dt.datetime, count: int = 1) -> list[dt.datetime]:
        """The next ``count`` due times strictly after ``after`` (aware, in the zone)."""
        it = self._iter(self.wall(after) - dt.timedelta(hours=3))
        found: list[dt.datetime] = []
        last = after
        misses = 0
        while len(found) < count:
            candidate = self.localize(it.get_next(dt.datetime))
            if candidate > last:
                found.append(candidate)
                last = candidate
                misses = 0
            else:
                misses += 1
                # the walk starts 3 h back (DST): a cron with seconds passes 10,800 due
                # times before ``after``
                if misses > 20_000:  # pragma: no cover - cron and zone always move on
                    break
        return found

    def shortest_gap(self, after: dt.datetime, samples: int = 64) -> float | None:
        """The shortest time in seconds between two of the next ``samples`` due times (a
        cron's pattern repeats within a day's or a month's due times; 64 catch every gap
        a minute or an hour field makes)."""
        times = self.next_times(after, samples)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        return min(gaps) if gaps else None

    def latest_at_or_before(self, now: dt.datetime) -> dt.datetime | None:
        """The most recent due time at or before ``now`` (None if there is none nearby)."""
        it = self._iter(self.wall(now) + dt.timedelta(hours=3), is_prev=True)
        for _ in range(10_000):
            try:
                candidate = self.localize(it.get_prev(dt.datetime))
            except Exception:
                return None
            if candidate <= now:
                return candidate
        return None  # pragma: no cover


def zone(name: str) -> ZoneInfo:
    """An IANA zone, or a 400 that names the ``timezone`` field."""
    try:
        if not name or name.strip() != name or name.startswith("/"):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise InvalidRequest(f"timezone: {name!r} is not an IANA time zone (e.g. "
                             "'Europe/Berlin', 'America/New_York', 'UTC')",
                             reason="invalid timezone") from None


def parse(expr: str, timezone: str = "UTC", *, allow_seconds: bool = True) -> Cron:
    """A validated cron in a zone, or a 400 that names the ``cron`` (or ``timezone``) field."""
    fields = expr.split()
    allowed = "5 fields (minute hour day-of-month month day-of-week)" + (
        ", or 6 with seconds first" if allow_seconds else "")
    if len(fields) not in ((5, 6) if allow_seconds else (5,)):
        raise InvalidRequest(f"cron: {expr!r} has {len(fields)} fields; give {allowed}",
                             reason="invalid cron")
    normal = " ".join(fields)
    try:
        croniter(normal, dt.datetime(2000, 1, 1), second_at_beginning=len(fields) == 6)
        # an expression that never matches (e.g. 30 February) fails here, not in the loop
        cron = Cron(normal, zone(timezone))
        croniter(normal, dt.datetime(2000, 1, 1), second_at_beginning=len(fields) == 6,
                 max_years_between_matches=10).get_next(dt.datetime)
    except InvalidRequest:
        raise
    except Exception as exc:
        raise InvalidRequest(f"cron: {expr!r} is not a valid cron expression ({exc}); give "
                             f"{allowed}", reason="invalid cron") from None
    return cron


# -- words ---------------------------------------------------------------------------------
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def _every(field: str, unit: str) -> str | None:
    if field == "*":
        return f"every {unit}"
    if field.startswith("*/") and field[2:].isdigit():
        return f"every {field[2:]} {unit}s"
    return None


def _names(field: str, names: list[str]) -> str:
    def one(part: str) -> str:
        if "-" in part and all(p.isdigit() for p in part.split("-")):
            lo, hi = (int(p) for p in part.split("-"))
            return f"{names[lo]} through {names[hi]}" if hi < len(names) else part
        return names[int(part)] if part.isdigit() and int(part) < len(names) else part

    return ", ".join(one(p) for p in field.split(","))


def describe(expr: str) -> str:
    """The expression in plain English (common shapes; anything else field by field)."""
    fields = expr.split()
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, dom, month, dow = fields
    simple = all(f.isdigit() for f in (minute, hour))
    if second != "0":
        head = _every(second, "second") or f"at second {second}"
        if (minute, hour) != ("*", "*"):
            head += f", minute {minute}, hour {hour}"
    elif simple:
        head = f"at {int(hour):02d}:{int(minute):02d}"
    elif hour == "*" and minute.isdigit():
        head = f"at minute {minute} of every hour"
    elif hour == "*":
        head = _every(minute, "minute") or f"at minutes {minute} of every hour"
    elif minute.isdigit():
        head = f"at minute {minute} past hour {hour}"
    else:
        head = f"at minute {minute}, hour {hour}"
    parts = [head]
    if dom != "*":
        parts.append(f"on day {dom} of the month")
    if month != "*":
        parts.append(f"in {_names(month, MONTHS)}")
    if dow != "*":
        parts.append(f"on {_names(dow, DAYS)}")
    elif dom == "*" and month == "*" and (simple or (second != "0" and hour != "*")):
        parts.append("every day")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


def preview(expr: str, timezone: str, count: int, now: dt.datetime | None = None
            ) -> tuple[str, list[dt.datetime]]:
    """Words and the next ``count`` due times of an expression (validated)."""
    cron = parse(expr, timezone)
    count = max(1, min(count, MAX_PREVIEW))
    return describe(cron.expr), cron.next_times(now or dt.datetime.now(UTC), count)
