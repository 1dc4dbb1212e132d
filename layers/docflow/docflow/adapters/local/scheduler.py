"""Local mode's Scheduler port: nothing to tell anyone. The scheduler loop
(runtime/local/scheduler.py) reads the enabled schedules from the store on every tick."""

from __future__ import annotations

from docflow.domain.schedules import Schedule


class LocalScheduler:
    def put(self, schedule: Schedule) -> None:
        pass

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        pass
