"""Local mode's twin of EventBridge Scheduler: a thread of `docflow serve` that fires each
enabled schedule at its wall-clock time in its zone (DST as `domain.schedules` documents it).

Each tick looks, per schedule, at the latest fire time at or before now. If it is newer than both
the last recorded fire and the schedule's last change, it fires, through the same
`fire_schedule` as the AWS target. So after downtime at most ONE missed run per schedule fires
(the latest), marked `catch_up: true` when it is older than `on_time`; and a time fired before a
restart is never fired again: `last_fire_time` says so, and if the process died between starting
the run and recording it, the idempotency key (schedule id + scheduled time) replays that run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from docflow.domain.clock import utc_now
from docflow.domain.schedules import Schedule, previous_fire_time
from docflow.ports import EnabledSchedules, Ports
from docflow.runtime.local.ticking import TickLoop
from docflow.usecases.schedules import Fired, fire_schedule

log = logging.getLogger("docflow.scheduler")
# EventBridge Scheduler fires within the minute (60 s precision): later than that is a catch-up.
ON_TIME = timedelta(seconds=60)


class ScheduleLoop(TickLoop):
    thread_name = "docflow-scheduler"

    def __init__(self, ports: Ports, schedules: EnabledSchedules, *, clock: Callable[[], datetime] = utc_now,
                 poll_seconds: float = 1.0, on_time: timedelta = ON_TIME) -> None:
        super().__init__(poll_seconds, log)
        self._ports = ports
        self._schedules = schedules
        self.clock = clock  # injectable: tests move time
        self._on_time = on_time

    def due(self, schedule: Schedule, now: datetime) -> tuple[datetime, bool] | None:
        """The scheduled time to fire now and whether it is a catch-up, or None."""
        latest = previous_fire_time(schedule.cron_expression, schedule.timezone, now)
        if latest is None:
            return None
        since = schedule.updated_at if schedule.last_fire_time is None else max(schedule.updated_at,
                                                                                 schedule.last_fire_time)
        if latest <= since:
            return None  # fired already, or due before the schedule (as it is now) existed
        return latest, now - latest > self._on_time

    def tick(self) -> list[Fired]:
        """One pass over the enabled schedules; returns what fired (tests drive this with a fake clock)."""
        now = self.clock()
        fired: list[Fired] = []
        for schedule in self._schedules.list_enabled():
            due = self.due(schedule, now)
            if due is None:
                continue
            moment, catch_up = due
            try:
                outcome = fire_schedule(self._ports, schedule.workspace_id, schedule.workflow_id, schedule.id,
                                        moment, catch_up=catch_up)
            except Exception:  # one schedule's outage must not stop the others; retried next tick
                log.exception("schedule %s: firing %s failed", schedule.id, moment.isoformat())
                continue
            if outcome.started is None:
                log.warning("schedule %s: %s not started: %s", schedule.id, moment.isoformat(), outcome.skipped)
            else:
                log.info("schedule %s: %s%s → execution %s", schedule.id, moment.isoformat(),
                         " (catch-up)" if catch_up else "", outcome.started.execution.id)
            fired.append(outcome)
        return fired
