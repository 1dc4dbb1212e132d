"""Cron schedules (DESIGN.md §1): the stored record, its validation, its fire times and its form
for EventBridge Scheduler. Pure: the local scheduler loop and the AWS adapter both read these, so
the two orchestrators fire at the same instants.

Accepted syntax: standard 5-field cron (`minute hour day-of-month month day-of-week`) with `*`,
numbers, names (JAN-DEC, SUN-SAT), ranges `a-b`, steps `*/n`, `a-b/n`, `a/n` and comma lists.
Day-of-week is 0-7 with Sunday as 0 or 7. Nothing else (`?`, `L`, `W`, `#`, `@daily`, seconds):
what is accepted must mean the same thing locally and on AWS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from docflow.domain.clock import new_id, utc_now
from docflow.domain.errors import ValidationFailed
from docflow.domain.models import Record

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# Keys of `input` that name the documents a scheduled run processes; the rest is trigger_data.
DOCUMENT_KEYS = ("document_id", "document_ids")

_ITEM = re.compile(r"^(?P<range>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>\d+))?$")
_MAX_SCAN = 10_000


class Schedule(Record):
    """One cron schedule per workflow; `revision` makes every write conditional."""

    id: str = Field(default_factory=lambda: new_id("sch"))
    workspace_id: str
    workflow_id: str
    cron_expression: str
    timezone: str = "UTC"
    enabled: bool = True
    input: dict[str, Any] = Field(default_factory=dict)
    last_fire_time: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    revision: int = 0

    def document_ids(self) -> list[str]:
        ids = self.input.get("document_ids")
        if isinstance(ids, list):
            return [str(i) for i in ids]
        single = self.input.get("document_id")
        return [str(single)] if single else []

    def trigger_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.input.items() if k not in DOCUMENT_KEYS}


# --- parsing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0  # the number of names[0]


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS, 1),
    _Field("day-of-week", 0, 7, WEEKDAYS, 0),
)


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: the set of values each field matches (day-of-week 0-6, Sunday 0)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    # Written as a bare `*`: the field does not restrict the day (standard cron's OR rule only
    # applies when both day fields are restricted).
    days_star: bool
    weekdays_star: bool

    def standard(self) -> str:
        """The same schedule in plain numeric 5-field cron (what croniter iterates)."""
        days = "*" if self.days_star else _numbers(self.days)
        weekdays = "*" if self.weekdays_star else _numbers(self.weekdays)
        return f"{_numbers(self.minutes)} {_numbers(self.hours)} {days} {_numbers(self.months)} {weekdays}"


def _numbers(values: frozenset[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


def _cron_error(message: str) -> ValidationFailed:
    return ValidationFailed(f"invalid cron_expression: {message}",
                            details=[{"loc": ["body", "cron_expression"], "msg": message}])


def _value(text: str, spec: _Field) -> int:
    upper = text.upper()
    if spec.names and upper in spec.names:
        return spec.names.index(upper) + spec.name_base
    if not text.isdigit():
        raise _cron_error(f"'{text}' is not a number or name in the {spec.name} field")
    number = int(text)
    if not spec.low <= number <= spec.high:
        raise _cron_error(f"{number} is outside {spec.low}-{spec.high} in the {spec.name} field")
    return number


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise _cron_error(f"'{item}' is not valid in the {spec.name} field (use *, n, a-b, */n, a-b/n or lists)")
        step = int(match["step"]) if match["step"] is not None else 1
        if step < 1:
            raise _cron_error(f"step 0 in the {spec.name} field")
        part = match["range"]
        if part == "*":
            low, high = spec.low, spec.high
        elif "-" in part:
            first, last = part.split("-")
            low, high = _value(first, spec), _value(last, spec)
            if low > high:
                raise _cron_error(f"range {part} runs backwards in the {spec.name} field")
        else:
            low = _value(part, spec)
            high = spec.high if match["step"] is not None else low  # `a/n`: from a to the end
        values.update(range(low, high + 1, step))
    if spec.name == "day-of-week":
        values = {v % 7 for v in values}  # 7 is Sunday too
    return frozenset(values)


def parse_cron(expression: str) -> CronSpec:
    """Raises ValidationFailed naming `cron_expression`."""
    parts = expression.split()
    if len(parts) != 5:
        raise _cron_error(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}")
    minutes, hours, days, months, weekdays = (_parse_field(p, f) for p, f in zip(parts, _FIELDS, strict=True))
    days_star, weekdays_star = parts[2] == "*", parts[4] == "*"
    if not days_star and not weekdays_star:
        raise _cron_error(
            "it restricts both day-of-month and day-of-week; standard cron then fires when EITHER matches, "
            "which EventBridge Scheduler cannot express (one of the two must be '?'): put * in one of them")
    return CronSpec(minutes, hours, days, months, weekdays, days_star, weekdays_star)


def zone_of(timezone: str) -> ZoneInfo:
    """An IANA zone; raises ValidationFailed naming `timezone`."""
    try:
        if not timezone or timezone != timezone.strip() or timezone.startswith(("/", ".")):
            raise ValueError(timezone)
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown timezone '{timezone}': use an IANA name such as America/New_York",
                               details=[{"loc": ["body", "timezone"], "msg": "not an IANA time zone"}]) from exc


def validate_schedule(cron_expression: str, timezone: str, now: datetime | None = None) -> None:
    """Everything a schedule must satisfy before it is stored: syntax, AWS expressibility, a
    known zone, and at least one fire time (e.g. `0 0 30 2 *` never comes)."""
    parse_cron(cron_expression)
    zone_of(timezone)
    if not fire_times(cron_expression, timezone, now or utc_now(), 1):
        raise _cron_error("it never fires (no such date)")


# --- fire times ----------------------------------------------------------------------------
# DST, the way EventBridge Scheduler documents it so both orchestrators agree: "When the time
# shifts forward in Spring, your schedule invocation gets skipped if the cron expression falls on
# a non-existent date and time. When the time shifts back in the Fall, your schedule runs only
# once and doesn't repeat its invocation." (https://docs.aws.amazon.com/scheduler/latest/UserGuide/
# schedule-types.html#daylist-savings-time, and https://repost.aws/knowledge-center/
# eventbridge-scheduler-adjust-dst). So the expression is matched against local wall-clock times;
# a wall-clock time inside the spring gap is skipped, and one the fall-back repeats fires once, at
# its first occurrence (fold=0; AWS does not say which one, the first is the natural reading).

def _instant(naive: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall-clock time (first occurrence); None in a DST gap."""
    local = naive.replace(tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant


def _local_naive(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def fire_times(cron_expression: str, timezone: str, after: datetime, n: int = 3) -> list[datetime]:
    """The next `n` instants (UTC) strictly after `after`. Wall-clock times map to instants
    monotonically (gaps skipped, repeats taken once), so every wall-clock time before `after`'s
    own maps to an instant before `after`: start there, and filter `> after` for the repeated hour."""
    from croniter import CroniterError, croniter  # ~30 ms: only where fire times are computed

    zone = zone_of(timezone)
    spec = parse_cron(cron_expression)
    found: list[datetime] = []
    try:
        it = croniter(spec.standard(), _local_naive(after, zone))
        for _ in range(_MAX_SCAN):
            if len(found) >= n:
                break
            instant = _instant(it.get_next(datetime), zone)
            if instant is not None and instant > after:
                found.append(instant)
    except CroniterError:
        pass  # no matching date within croniter's search horizon
    return found


def previous_fire_time(cron_expression: str, timezone: str, at: datetime) -> datetime | None:
    """The latest instant (UTC) at or before `at`, or None."""
    from croniter import CroniterError, croniter

    zone = zone_of(timezone)
    spec = parse_cron(cron_expression)
    local = at.astimezone(zone)
    # In the second pass of a repeated hour, wall-clock times up to the end of that hour already
    # fired (at their first occurrence): look back from there.
    offset, first = local.utcoffset(), local.replace(fold=0).utcoffset()
    pad = max(timedelta(0), first - offset) if offset is not None and first is not None else timedelta(0)
    try:
        it = croniter(spec.standard(), local.replace(tzinfo=None) + pad + timedelta(seconds=1))
        for _ in range(_MAX_SCAN):
            instant = _instant(it.get_prev(datetime), zone)
            if instant is not None and instant <= at:
                return instant
    except CroniterError:
        return None
    return None


def next_fire_times(schedule: Schedule, after: datetime, n: int = 3) -> list[datetime]:
    """The next `n` fire times in the schedule's zone (ISO output carries the zone's offset)."""
    zone = zone_of(schedule.timezone)
    return [t.astimezone(zone) for t in fire_times(schedule.cron_expression, schedule.timezone, after, n)]


# --- EventBridge Scheduler -----------------------------------------------------------------
# AWS form (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html):
# `cron(minutes hours day-of-month month day-of-week year)`, day-of-week 1-7 with SUN=1, exactly
# one of the two day fields `?`, and `/` allowed in every field except day-of-week. Each field is
# rendered from the set of values it matches, so the AWS expression matches exactly the same
# minutes as the standard one.

def _render(values: frozenset[int], low: int, high: int, *, steps: bool = True) -> str:
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if steps and len(ordered) >= 3:  # two values read better as a list
        step = ordered[1] - ordered[0]
        if step > 1 and all(b - a == step for a, b in pairwise(ordered)) \
                and ordered[-1] + step > high:
            return f"{ordered[0]}/{step}"  # `a/n`: from a to the end of the field, every n
    runs: list[str] = []
    start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(runs)


def to_aws_cron(expression: str) -> str:
    """The standard expression as EventBridge Scheduler's `cron(...)`; ValidationFailed when it
    cannot be expressed (both day fields restricted)."""
    spec = parse_cron(expression)
    minutes = _render(spec.minutes, 0, 59)
    hours = _render(spec.hours, 0, 23)
    months = _render(spec.months, 1, 12)
    if spec.weekdays_star:
        days, weekdays = _render(spec.days, 1, 31), "?"
    else:
        days = "?"
        weekdays = _render(frozenset(d + 1 for d in spec.weekdays), 1, 7, steps=False)
    return f"cron({minutes} {hours} {days} {months} {weekdays} *)"
