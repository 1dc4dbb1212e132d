"""Fixtures shared by every test folder; the helpers they use live in docflow_testing.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from docflow_testing import (
    API_KEY,
    FUNCTIONS,
    REGION,
    ROOT,
    Api,
    AwsStack,
    LocalMode,
    _invoke_in_process,
    load_handler,
    serialize_moto_dynamodb,
    start_local,
)


@pytest.fixture
def local_mode(tmp_path: Path) -> Iterator[LocalMode]:
    server = start_local(tmp_path / "data")
    try:
        yield LocalMode(url=server.url, data_dir=tmp_path / "data", server=server, api=Api(server.url, API_KEY))
    finally:
        server.stop()


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    import moto.awslambda_simple.models as lambda_simple
    from moto import mock_aws

    from docflow.adapters.aws.clients import make_clients
    from docflow.adapters.aws.dynamodb import create_table
    from docflow.runtime import aws

    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    serialize_moto_dynamodb(monkeypatch)  # the state machine's thread and the API's calls share moto's table
    stack_ref: dict[str, AwsStack] = {}
    monkeypatch.setattr(lambda_simple.LambdaSimpleBackend, "invoke", _invoke_in_process(stack_ref))
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        clients = make_clients(REGION)
        import boto3

        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="docflow", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        arns = {}
        for function_name in FUNCTIONS:
            arns[function_name] = lam.create_function(
                FunctionName=function_name, Runtime="python3.13", Role=role, Handler="app.lambda_handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})["FunctionArn"]
        table, bucket, bus = "docflow-test", "docflow-test-bucket", "docflow-test"
        create_table(clients.dynamodb, table)
        clients.s3.create_bucket(Bucket=bucket)
        clients.events.create_event_bus(Name=bus)
        asl = (ROOT / "statemachines" / "workflow.asl.json").read_text()
        asl = asl.replace("${StepFunctionArn}", arns["docflow-step"])
        sm_arn = clients.stepfunctions.create_state_machine(name="docflow-workflow-test", definition=asl,
                                                           roleArn=role, type="STANDARD")["stateMachineArn"]
        # Cron schedules: the stack's schedule group; moto stores schedules but never fires them.
        boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=bus)
        for name, value in {"DOCFLOW_TABLE": table, "DOCFLOW_BUCKET": bucket, "DOCFLOW_EVENT_BUS": bus,
                            "DOCFLOW_STATE_MACHINE_ARN": sm_arn, "DOCFLOW_SCHEDULE_GROUP": bus,
                            "DOCFLOW_SCHEDULE_TARGET_ARN": arns["docflow-schedule-target"],
                            "DOCFLOW_SCHEDULER_ROLE_ARN": role}.items():
            monkeypatch.setenv(name, value)
        aws.ports.cache_clear()
        for module in ("api",):
            handler = load_handler(module)
            if hasattr(handler, "_app"):
                handler._app.cache_clear()
        stack = AwsStack(clients=clients, table=table, bucket=bucket, bus=bus, state_machine_arn=sm_arn)
        stack_ref["stack"] = stack
        yield stack
        aws.ports.cache_clear()
        load_handler("api")._app.cache_clear()
