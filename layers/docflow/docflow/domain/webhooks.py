"""Signing secrets of inbound webhooks (Standard Webhooks): one per webhook workflow.

The secret is `whsec_` + base64 of 32 random bytes, the format Standard Webhooks libraries read.
It is stored as is (HMAC verification needs the key itself, unlike API keys, which are hashed)
and shown once: in the response that created it. After a rotation the previous secret stays
valid for a grace period, so senders can switch without dropping deliveries."""

from __future__ import annotations

import base64
import os
from datetime import datetime, timedelta

from docflow.domain.models import Record

SECRET_PREFIX = "whsec_"
# What reads show: enough to tell two secrets apart, far too little to sign with.
SHOWN_PREFIX_CHARS = 12
ROTATION_GRACE = timedelta(hours=24)


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


class WebhookSecret(Record):
    workspace_id: str
    workflow_id: str
    secret: str
    # Goes up by one per rotation: the stores write a version only over the one before it.
    version: int = 1
    created_at: datetime
    previous_secret: str | None = None
    previous_valid_until: datetime | None = None

    @property
    def prefix(self) -> str:
        return self.secret[:SHOWN_PREFIX_CHARS]

    @classmethod
    def issue(cls, workspace_id: str, workflow_id: str, now: datetime) -> WebhookSecret:
        return cls(workspace_id=workspace_id, workflow_id=workflow_id, secret=new_signing_secret(), created_at=now)

    def rotated(self, now: datetime, grace: timedelta = ROTATION_GRACE) -> WebhookSecret:
        return self.model_copy(update={"secret": new_signing_secret(), "version": self.version + 1, "created_at": now,
                                       "previous_secret": self.secret, "previous_valid_until": now + grace})

    def valid_secrets(self, now: datetime) -> list[str]:
        """The secrets a signature may be made with at `now`: the current one, then the previous
        one during its grace period."""
        valid = [self.secret]
        if self.previous_secret and self.previous_valid_until and now < self.previous_valid_until:
            valid.append(self.previous_secret)
        return valid
