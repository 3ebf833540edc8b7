"""Run the real outbox publishers over the tables' streams, as the runtime's stream mapping would."""

from __future__ import annotations

import boto3

from infra.local.invoker import FunctionError, Invocation
from infra.local.streams import StreamPoller
from infra.local.template import StreamSource
from tests.events import FakeContext


class _Publisher:
    def __init__(self, name: str, handler) -> None:
        self.function = type("Function", (), {"name": name})()
        self._handler = handler

    def invoke(self, event: dict) -> Invocation:
        try:
            return Invocation(self.function.name, 0.0, self._handler(event, FakeContext()))
        except Exception as error:
            raise FunctionError(self.function.name, error, 0.0) from error


class Outboxes:
    """Publishes pending outbox entries of every table that has a stream."""

    def __init__(self, deployment, template) -> None:
        import threading

        session = boto3.session.Session()
        self._pollers = []
        for function in template.functions.values():
            for source in function.stream_sources:
                module_name, _, attribute = function.handler.rpartition(".")
                handler = getattr(__import__(module_name, fromlist=[attribute]), attribute)
                # Retry without limit: a test that loses messages fails on its assertions, not here.
                source = StreamSource(source.table, source.batch_size, -1, source.report_batch_item_failures, None)
                self._pollers.append(
                    StreamPoller(
                        session.client("dynamodbstreams"),
                        session.client("sqs"),
                        source,
                        deployment.stream_arns[source.table],
                        _Publisher(function.name, handler),
                        None,
                        "us-east-1",
                        threading.Event(),
                    )
                )

    def flush(self) -> None:
        for poller in self._pollers:
            while poller.poll_once():
                pass
