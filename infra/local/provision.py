"""Create the template's tables and queues on an AWS endpoint (moto, LocalStack) and resolve references to them.

The same code provisions moto for `make run` and LocalStack for `make local`.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.local.template import Template, TemplateError

log = logging.getLogger("tradewind.provision")

_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "ProvisionedThroughput")
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize", "FifoQueue", "ContentBasedDeduplication")


@dataclass
class Deployment:
    """Physical names of the template's resources on one endpoint."""

    table_names: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dead_letter_queues: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    secret_arns: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Resolve `Ref` and `Fn::GetAtt` on tables and queues the way CloudFormation would."""
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            target = value["Ref"]
            if target in self.table_names:
                return self.table_names[target]
            if target in self.queue_urls:
                return self.queue_urls[target]
            if target in self.parameters:
                return self.parameters[target]
            if target in self.secret_arns:
                # CloudFormation's Ref of a secret is its ARN.
                return self.secret_arns[target]
            raise TemplateError(f"!Ref {target} is not a table, queue, secret or parameter the local runtime provides")
        if "Fn::GetAtt" in value:
            target, attribute = value["Fn::GetAtt"]
            if target in self.queue_arns and attribute == "Arn":
                return self.queue_arns[target]
            if target in self.queue_urls and attribute == "QueueName":
                return self.queue_urls[target].rsplit("/", 1)[1]
            if target in self.stream_arns and attribute == "StreamArn":
                return self.stream_arns[target]
            raise TemplateError(f"!GetAtt {target}.{attribute} is not supported by the local runtime")
        raise TemplateError(f"intrinsic {next(iter(value))} is not supported by the local runtime")


def provision(
    template: Template,
    dynamodb: Any,
    sqs: Any,
    prefix: str,
    visibility_timeout: int | None = None,
    parameters: dict[str, str] | None = None,
    secretsmanager: Any = None,
) -> Deployment:
    """Create every table, queue and secret that does not exist yet, named `<prefix>-<logical id>`.

    `visibility_timeout` overrides the template's value on every queue, so that
    local tests can see a failed message come back in seconds, not minutes.
    `parameters` override the template parameters' defaults. Secrets get a
    random value, as GenerateSecretString does in AWS; without a
    `secretsmanager` client, one is built for the DynamoDB client's endpoint.
    """
    unknown = set(parameters or {}) - set(template.parameters)
    if unknown:
        raise TemplateError(f"unknown template parameters {sorted(unknown)}; the template declares {sorted(template.parameters)}")
    deployment = Deployment(parameters={**template.parameters, **(parameters or {})})
    for name, properties in template.tables.items():
        table_name = f"{prefix}-{name}"
        deployment.table_names[name] = _create_table(dynamodb, table_name, properties)
        description = dynamodb.describe_table(TableName=table_name)["Table"]
        if "LatestStreamArn" in description:
            deployment.stream_arns[name] = description["LatestStreamArn"]

    for name, properties in template.queues.items():
        attributes = {key: str(properties[key]).lower() if isinstance(properties[key], bool) else str(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
        if visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(visibility_timeout)
        queue_name = f"{prefix}-{name}" + (".fifo" if properties.get("FifoQueue") else "")
        url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        deployment.queue_urls[name] = url
        deployment.queue_arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    # Redrive policies name other queues' ARNs, so they are set once all queues exist.
    for name, properties in template.queues.items():
        policy = properties.get("RedrivePolicy")
        if not policy:
            continue
        target = policy["deadLetterTargetArn"]
        if not (isinstance(target, dict) and "Fn::GetAtt" in target):
            raise TemplateError(f"{name}: deadLetterTargetArn must be !GetAtt <queue>.Arn")
        deployment.dead_letter_queues[name] = target["Fn::GetAtt"][0]
        redrive = {"deadLetterTargetArn": deployment.resolve(target), "maxReceiveCount": int(policy["maxReceiveCount"])}
        sqs.set_queue_attributes(QueueUrl=deployment.queue_urls[name], Attributes={"RedrivePolicy": json.dumps(redrive)})

    if template.secrets:
        secretsmanager = secretsmanager or _client_like(dynamodb, "secretsmanager")
        for name, properties in template.secrets.items():
            deployment.secret_arns[name] = _create_secret(secretsmanager, f"{prefix}-{name}", properties)

    log.info("provisioned %d tables, %d queues and %d secrets", len(deployment.table_names), len(deployment.queue_urls), len(deployment.secret_arns))
    return deployment


def _create_secret(secretsmanager: Any, secret_name: str, properties: dict) -> str:
    """Create a secret with a random value unless it exists; returns its ARN. An existing secret keeps its value."""
    try:
        return secretsmanager.create_secret(Name=secret_name, SecretString=_random_secret(properties.get("GenerateSecretString", {})))["ARN"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceExistsException":
            raise
    return secretsmanager.describe_secret(SecretId=secret_name)["ARN"]


def _random_secret(generate: dict) -> str:
    # Only the options the template uses are followed: the length and leaving out punctuation.
    alphabet = string.ascii_letters + string.digits
    if not generate.get("ExcludePunctuation", False):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))


def _client_like(existing: Any, service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service, endpoint_url=existing.meta.endpoint_url, region_name=existing.meta.region_name)


def _create_table(dynamodb: Any, table_name: str, properties: dict) -> str:
    arguments = {key: properties[key] for key in _TABLE_PROPERTIES if key in properties}
    if "StreamSpecification" in arguments:
        # CloudFormation implies StreamEnabled, but the CreateTable API requires it.
        arguments["StreamSpecification"] = {"StreamEnabled": True, **arguments["StreamSpecification"]}
    try:
        dynamodb.create_table(TableName=table_name, **arguments)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        try:
            dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
        except ClientError as error:
            # Repeating the call on a table that has it already is rejected.
            if "already enabled" not in str(error):
                raise
    return table_name
