"""The workspace-isolation walk of isolation_walk.py against the AWS handlers under moto: the
Lambda authorizer puts the key's workspace in the context, the API function and the DynamoDB/S3
adapters must keep every other workspace's items out of reach, on every route."""

from __future__ import annotations

from docflow_testing import API_KEY, AwsStack, StackApi
from isolation_walk import PUBLIC, probes_for, registered_routes, seed, send

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key, issue_key


def test_another_workspace_sees_none_of_a_on_any_route_on_aws(aws_stack: AwsStack) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    a = StackApi(aws_stack, API_KEY)
    b = StackApi(aws_stack, issue_key(aws.ports().keys, "other", "second").secret)
    s = seed(a, b)
    paths = (f"/v1/workflows/{s.workflow_id}", f"/v1/executions/{s.execution_id}",
             f"/v1/workflows/{s.workflow_id}/schedule")
    before = {path: a.get(path).json() for path in paths}

    routes = registered_routes(aws.ports())
    probes = probes_for(s)
    for route in sorted(routes):
        for probe in probes[route]:
            send(b if probe.mode != PUBLIC else StackApi(aws_stack, None), s, probe)

    for path, body in before.items():
        assert a.get(path).json() == body, path
    assert StackApi(aws_stack, s.key_secret).get("/v1/workflows").status_code == 200
    # B's start attempts with A's ids created no run anywhere.
    listed = aws_stack.clients.stepfunctions.list_executions(stateMachineArn=aws_stack.state_machine_arn)
    assert sorted(e["name"] for e in listed["executions"]) == sorted([s.execution_id, s.review_execution_id])
