"""Webhook signing secrets in the single table: PK `WS#<ws>`, SK `HOOKSECRET#<workflow_id>`.

Workspace-first like every other item, so a secret is only ever read with its owner workspace
(the hooks route finds it through the workflow owner lookup item first)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code
from docflow.adapters.aws.dynamodb import _key, _n, _Repository, _s, _ws
from docflow.adapters.common import dump_model, load_model
from docflow.domain.errors import Conflict
from docflow.domain.webhooks import WebhookSecret


def _sk(workflow_id: str) -> str:
    return f"HOOKSECRET#{workflow_id}"


class DynamoWebhookSecretRepository(_Repository):
    def get(self, workspace_id: str, workflow_id: str) -> WebhookSecret | None:
        data = self._table.get_data(_ws(workspace_id), _sk(workflow_id))
        return None if data is None else load_model(WebhookSecret, data)

    def put(self, secret: WebhookSecret) -> None:
        item = {**_key(_ws(secret.workspace_id), _sk(secret.workflow_id)), "version": _n(secret.version),
                "data": _s(dump_model(secret))}
        try:
            if secret.version == 1:
                self._table.put(item, "attribute_not_exists(PK)")
            else:
                self._table.put(item, "version = :previous", values={":previous": _n(secret.version - 1)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            raise Conflict(f"the signing secret of workflow {secret.workflow_id} was changed concurrently; "
                           "retry") from exc

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        with self._table.calling():
            self._table.client.delete_item(TableName=self._table.name, Key=_key(_ws(workspace_id), _sk(workflow_id)))
