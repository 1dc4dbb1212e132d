"""Translate a SAM template to plain CloudFormation JSON offline (no AWS account, no network).

Usage: python .ci/translate_sam.py [template.yaml] [output.json]

Uses aws-sam-translator's public entry point `samtranslator.translator.transform.transform` with a
stub managed-policy loader (the real one lists AWS managed policies through IAM). The output is
meant for cfn-lint, which then checks what `sam validate --lint` does not: refs and GetAtts to
resources that do not exist, bad runtimes, bad property values of the generated resources.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# The translator needs a region (partition and pseudo parameters); nothing here calls AWS.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samcli.yamlhelper import yaml_parse  # understands !Ref, !Sub, ... short forms
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

# AWS managed policies whose ARN has a path; a name not listed here becomes
# arn:aws:iam::aws:policy/<name> (the translator's own fallback), which is right for most of them.
MANAGED_POLICIES = (
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaRole",
    "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess",
    "CloudWatchLambdaInsightsExecutionRolePolicy",
)


class StubManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader (which calls iam:ListPolicies)."""

    def __init__(self, partition: str = "aws") -> None:
        self.partition = partition

    def load(self) -> dict[str, str]:
        paths = {"AWSLambdaBasicExecutionRole": "service-role/", "AWSLambdaRole": "service-role/"}
        return {name: f"arn:{self.partition}:iam::aws:policy/{paths.get(name, '')}{name}" for name in MANAGED_POLICIES}


class LocalPathError(Exception):
    pass


def _is_local(uri: object) -> bool:
    return isinstance(uri, str) and not uri.startswith("s3://")


def _warn_missing_handler(logical_id: str, code_dir: Path, handler: object) -> None:
    """A Python handler `pkg.module.func` must be `pkg/module.py` in the code folder (not fatal here)."""
    if not isinstance(handler, str) or "." not in handler:
        return
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    if not (code_dir / f"{module}.py").is_file() and not (code_dir / module / "__init__.py").is_file():
        print(f"warning: {logical_id}: handler module {code_dir / module}.py does not exist yet", file=sys.stderr)


def _replace_local_paths(sam_template: dict, base: Path) -> None:
    """Do what `sam build`/`sam package` would: check local code paths exist, point them at S3.

    A state machine's local DefinitionUri is inlined as `Definition`, so cfn-lint also checks the
    ASL (and its DefinitionSubstitutions) in the translated template.
    """
    uri_props = {
        "AWS::Serverless::Function": "CodeUri",
        "AWS::Serverless::LayerVersion": "ContentUri",
        "AWS::Serverless::Api": "DefinitionUri",
        "AWS::Serverless::HttpApi": "DefinitionUri",
    }
    function_globals = sam_template.get("Globals", {}).get("Function", {})
    missing: list[str] = []
    for logical_id, resource in sam_template.get("Resources", {}).items():
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("Type")
        props = resource.setdefault("Properties", {})
        if rtype == "AWS::Serverless::StateMachine" and _is_local(props.get("DefinitionUri")):
            path = base / props.pop("DefinitionUri")
            if not path.is_file():
                missing.append(f"{logical_id}: DefinitionUri {path} does not exist")
                continue
            props["Definition"] = yaml_parse(path.read_text())  # JSON is YAML
            continue
        prop = uri_props.get(rtype or "")
        if prop is None:
            continue
        if rtype == "AWS::Serverless::Function":
            if props.get("PackageType", "Zip") != "Zip" or "InlineCode" in props:
                continue
            uri = props.get(prop, function_globals.get(prop))
        else:
            uri = props.get(prop)
        if not _is_local(uri):
            continue
        path = base / str(uri)
        if not path.exists():
            missing.append(f"{logical_id}: {prop} {path} does not exist")
            continue
        if rtype == "AWS::Serverless::Function":
            _warn_missing_handler(logical_id, path, props.get("Handler", function_globals.get("Handler")))
        props[prop] = f"s3://docflow-offline-translation/{str(uri).strip('/')}"
    if missing:
        raise LocalPathError("\n".join(missing))


def translate(template_path: Path) -> dict:
    sam_template = yaml_parse(template_path.read_text())
    _replace_local_paths(sam_template, template_path.resolve().parent)
    return transform(sam_template, {}, StubManagedPolicyLoader())  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    template_path = Path(argv[1] if len(argv) > 1 else "template.yaml")
    output_path = Path(argv[2]) if len(argv) > 2 else None
    try:
        cfn = translate(template_path)
    except LocalPathError as exc:
        print(f"{template_path}: {exc}", file=sys.stderr)
        return 1
    except InvalidDocumentException as exc:
        print(f"{template_path}: invalid SAM template:", file=sys.stderr)
        for cause in exc.causes:
            print(f"  - {cause.message}", file=sys.stderr)
        return 1
    text = json.dumps(cfn, indent=2, sort_keys=False) + "\n"
    if output_path is None:
        sys.stdout.write(text)
    else:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(text)
        print(f"{template_path} -> {output_path}: {len(cfn.get('Resources', {}))} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
