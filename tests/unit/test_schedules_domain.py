"""domain.schedules: cron validation, the AWS 6-field conversion (table-driven) and DST-correct
fire times, matching what EventBridge Scheduler documents (spring gap skipped, fall repeat once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from docflow.domain.errors import ValidationFailed
from docflow.domain.schedules import (
    Schedule,
    fire_times,
    next_fire_times,
    parse_cron,
    previous_fire_time,
    to_aws_cron,
    validate_schedule,
)

NY = "America/New_York"
# 2026 DST changes in New York: spring forward Sun 8 March 02:00 EST → 03:00 EDT,
# fall back Sun 1 November 02:00 EDT → 01:00 EST.


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("standard", "aws"), [
    ("* * * * *", "cron(* * * * ? *)"),
    ("30 2 * * *", "cron(30 2 * * ? *)"),
    ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),            # Mon-Fri: standard 1-5 → AWS 2-6
    ("0 9 * * MON-FRI", "cron(0 9 ? * 2-6 *)"),
    ("0 0 * * 0", "cron(0 0 ? * 1 *)"),                 # Sunday 0 → 1
    ("0 0 * * 7", "cron(0 0 ? * 1 *)"),                 # Sunday 7 → 1
    ("0 0 * * 6,0", "cron(0 0 ? * 1,7 *)"),             # weekend
    ("0 0 * * 5-7", "cron(0 0 ? * 1,6-7 *)"),           # Fri-Sun wraps past Saturday
    ("0 0 * * sun,sat", "cron(0 0 ? * 1,7 *)"),
    ("0 0 * * */2", "cron(0 0 ? * 1,3,5,7 *)"),         # no `/` in AWS day-of-week: listed
    ("0 0 * * 0-6", "cron(0 0 ? * * *)"),
    ("*/15 * * * *", "cron(0/15 * * * ? *)"),
    ("5/20 * * * *", "cron(5/20 * * * ? *)"),
    ("0-30/15 * * * *", "cron(0,15,30 * * * ? *)"),     # a stepped range that stops early: listed
    ("0 */6 * * *", "cron(0 0/6 * * ? *)"),
    ("0 0 1-5/2 * *", "cron(0 0 1,3,5 * ? *)"),
    ("0 0 1-5 * *", "cron(0 0 1-5 * ? *)"),
    ("0 0 1,15 * *", "cron(0 0 1,15 * ? *)"),
    ("0 0 */2 * *", "cron(0 0 1/2 * ? *)"),
    ("0 12 1 JAN,jul *", "cron(0 12 1 1,7 ? *)"),
    ("0 12 * 1-3 *", "cron(0 12 * 1-3 ? *)"),
    ("0 12 * */3 1", "cron(0 12 ? 1/3 2 *)"),
    ("0 8-18/2 * * 1-5", "cron(0 8,10,12,14,16,18 ? * 2-6 *)"),
    ("0,30 9-17 * * *", "cron(0,30 9-17 * * ? *)"),
    ("0,20,40 * * * *", "cron(0/20 * * * ? *)"),
])
def test_given_a_standard_expression_when_converted_then_the_aws_form_matches_the_same_times(
        standard: str, aws: str) -> None:
    assert to_aws_cron(standard) == aws


@pytest.mark.parametrize("expression", ["0 0 1 * 1", "0 0 1-15 * MON", "0 0 */2 * 1-5", "0 0 1-31 * 0-6"])
def test_given_both_day_fields_restricted_when_converted_then_422_explains_the_or_rule(expression: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        to_aws_cron(expression)
    assert caught.value.details[0]["loc"] == ["body", "cron_expression"]
    assert "EITHER" in caught.value.message and "?" in caught.value.message


@pytest.mark.parametrize(("expression", "says"), [
    ("* * * *", "expected 5 fields"),
    ("0 0 * * * *", "expected 5 fields"),
    ("", "expected 5 fields"),
    ("60 * * * *", "outside 0-59"),
    ("* 24 * * *", "outside 0-23"),
    ("* * 0 * *", "outside 1-31"),
    ("* * * 13 *", "outside 1-12"),
    ("* * * * 8", "outside 0-7"),
    ("0 0 ? * *", "not valid"),
    ("0 0 L * *", "not a number"),
    ("0 0 * * 1#2", "not valid"),
    ("@daily", "expected 5 fields"),
    ("*/0 * * * *", "step 0"),
    ("5-1 * * * *", "backwards"),
    ("0 0 * FOO *", "not a number or name"),
    ("0 0 * * MON-", "not valid"),
])
def test_given_an_invalid_expression_when_validated_then_422_names_cron_expression(expression: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_schedule(expression, "UTC")
    assert caught.value.details == [{"loc": ["body", "cron_expression"], "msg": caught.value.details[0]["msg"]}]
    assert says in caught.value.message


def test_given_a_date_that_never_comes_when_validated_then_422_says_it_never_fires() -> None:
    with pytest.raises(ValidationFailed, match="never fires"):
        validate_schedule("0 0 30 2 *", "UTC")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "EST5EDT ", "../etc/passwd", "/etc/localtime",
                                  "america/new york"])
def test_given_an_unknown_zone_when_validated_then_422_names_timezone(zone: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_schedule("0 9 * * *", zone)
    assert caught.value.details[0]["loc"] == ["body", "timezone"]


def test_given_names_and_sunday_7_when_parsed_then_they_mean_the_numbers() -> None:
    spec = parse_cron("0 0 * * SUN,7,Wed")
    assert spec.weekdays == frozenset({0, 3})


def schedule(expression: str, zone: str = NY) -> Schedule:
    return Schedule(workspace_id="ws", workflow_id="wf_x", cron_expression=expression, timezone=zone,
                    input={"document_id": "doc_x"})


def test_given_0230_new_york_when_spring_forward_then_that_day_is_skipped_as_aws_documents() -> None:
    times = next_fire_times(schedule("30 2 * * *"), utc(2026, 3, 6, 12), 3)
    assert [t.isoformat() for t in times] == [
        "2026-03-07T02:30:00-05:00",  # EST
        # 8 March 02:30 does not exist (02:00 → 03:00): skipped, not moved to 03:30
        "2026-03-09T02:30:00-04:00",  # EDT
        "2026-03-10T02:30:00-04:00",
    ]
    assert [t.astimezone(UTC).hour for t in times] == [7, 6, 6]


def test_given_0230_new_york_when_fall_back_then_it_fires_once_each_day() -> None:
    times = next_fire_times(schedule("30 2 * * *"), utc(2026, 10, 30, 12), 3)
    assert [t.isoformat() for t in times] == [
        "2026-10-31T02:30:00-04:00",
        "2026-11-01T02:30:00-05:00",  # after the repeat: 25 hours after the previous one
        "2026-11-02T02:30:00-05:00",
    ]
    assert times[1].astimezone(UTC) - times[0].astimezone(UTC) == timedelta(hours=25)


def test_given_0130_new_york_when_fall_back_repeats_the_hour_then_it_fires_once_at_the_first_pass() -> None:
    times = fire_times("30 1 * * *", NY, utc(2026, 10, 31, 12), 3)
    assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]
    # Asked from inside the second pass (01:40 EST = 06:40Z), the repeat is not offered again.
    assert fire_times("30 1 * * *", NY, utc(2026, 11, 1, 6, 40), 1) == [utc(2026, 11, 2, 6, 30)]


def test_given_every_15_minutes_when_fall_back_then_the_repeated_hour_fires_once() -> None:
    times = fire_times("*/15 * * * *", NY, utc(2026, 11, 1, 5, 50), 3)
    # 01:45 EDT (05:45Z) was the last of the first pass; the EST repeat of 01:00-01:59 is skipped.
    assert times == [utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 15), utc(2026, 11, 1, 7, 30)]


@pytest.mark.parametrize(("at", "latest"), [
    (utc(2026, 3, 8, 12), utc(2026, 3, 7, 7, 30)),           # spring gap day: yesterday's
    (utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 6, 30)),         # at or before: inclusive
    (utc(2026, 3, 9, 6, 29, 59), utc(2026, 3, 7, 7, 30)),
    (utc(2026, 11, 1, 12), utc(2026, 11, 1, 7, 30)),
])
def test_given_an_instant_when_asking_the_previous_0230_then_dst_is_respected(at: datetime, latest: datetime) -> None:
    assert previous_fire_time("30 2 * * *", NY, at) == latest


def test_given_the_second_pass_of_a_repeated_hour_when_asking_previous_then_the_first_pass_counts() -> None:
    # 06:40Z is 01:40 EST (second pass); 01:30 fired at its first pass, 05:30Z.
    assert previous_fire_time("30 1 * * *", NY, utc(2026, 11, 1, 6, 40)) == utc(2026, 11, 1, 5, 30)


def test_given_a_schedule_when_listing_next_times_then_they_carry_the_zone_offset() -> None:
    times = next_fire_times(schedule("0 9 * * 1-5", "Europe/Paris"), utc(2026, 12, 4, 9), 3)  # a Friday
    assert [t.isoformat() for t in times] == ["2026-12-07T09:00:00+01:00", "2026-12-08T09:00:00+01:00",
                                              "2026-12-09T09:00:00+01:00"]


def test_given_an_input_when_split_then_documents_and_trigger_data_are_apart() -> None:
    s = Schedule(workspace_id="ws", workflow_id="wf", cron_expression="0 9 * * *",
                 input={"document_ids": ["doc_a", "doc_b"], "batch": "nightly"})
    assert s.document_ids() == ["doc_a", "doc_b"]
    assert s.trigger_data() == {"batch": "nightly"}
    assert s.id.startswith("sch_")


# --- the AWS form fires at the same minutes as the standard form ---------------------------------

def _aws_field(text: str, value: int, low: int, high: int) -> bool:
    """One field of AWS cron as EventBridge documents it (`*`, `?`, n, a-b, a/n, lists)."""
    if text in ("*", "?"):
        return True
    for item in text.split(","):
        if "/" in item:
            start, step = item.split("/")
            if value >= int(start) and (value - int(start)) % int(step) == 0 and value <= high:
                return True
        elif "-" in item:
            a, b = item.split("-")
            if int(a) <= value <= int(b):
                return True
        elif int(item) == value:
            return True
    return False


def _aws_matches(expression: str, moment: datetime) -> bool:
    minute, hour, dom, month, dow, year = expression.removeprefix("cron(").removesuffix(")").split()
    assert year == "*" and (dom == "?") != (dow == "?")
    weekday = moment.isoweekday() % 7 + 1  # AWS: SUN=1 … SAT=7
    return (_aws_field(minute, moment.minute, 0, 59) and _aws_field(hour, moment.hour, 0, 23)
            and _aws_field(dom, moment.day, 1, 31) and _aws_field(month, moment.month, 1, 12)
            and _aws_field(dow, weekday, 1, 7))


@pytest.mark.parametrize("standard", [
    "30 2 * * *", "0 9 * * 1-5", "*/15 * * * *", "5/20 8-9 * * *", "0-30/15 * * * 0", "0 */6 * * *",
    "0 0 1-5/2 * *", "0 0 */2 * *", "0 12 1 JAN,feb *", "0 12 * */2 1", "0 8-18/2 * * 1-5", "0,30 9-17 * * *",
    "0 0 * * 5-7", "0 0 * * */2", "0 0 * * SAT,SUN", "45 23 31 * *", "0 0 * * 0-6",
])
def test_given_a_standard_expression_when_converted_then_aws_fires_at_exactly_the_same_minutes(standard: str) -> None:
    from croniter import croniter

    start, end = datetime(2026, 1, 20), datetime(2026, 3, 3)  # every weekday and a month boundary
    expected = set()
    it = croniter(standard, start - timedelta(minutes=1))
    while (moment := it.get_next(datetime)) < end:
        expected.add(moment)
    aws = to_aws_cron(standard)
    minutes = (start + timedelta(minutes=i) for i in range(int((end - start).total_seconds() // 60)))
    assert {m for m in minutes if _aws_matches(aws, m)} == expected, aws
    assert expected
