"""template.yaml is complete enough for the local runtime and consistent with the code."""

from __future__ import annotations

import importlib

import pytest

from infra.local.runtime import ROOT
from infra.local.template import load

TEMPLATE = load(ROOT / "template.yaml")
FUNCTIONS = sorted(TEMPLATE.functions.values(), key=lambda function: function.name)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_handler_exists(function):
    module_name, _, attribute = function.handler.rpartition(".")

    module = importlib.import_module(module_name)

    assert callable(getattr(module, attribute))


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_function_has_one_trigger(function):
    # An authorizer function has no event of its own: API Gateway invokes it for the routes that use it.
    authorizers = {authorizer.function for api in TEMPLATE.apis.values() for authorizer in api.authorizers.values()}
    triggers = len(function.routes) + len(function.queue_sources) + len(function.stream_sources) + len(function.schedules)

    assert triggers == (0 if function.name in authorizers else 1)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_image_built_from_own_folder(function):
    folder = function.image_metadata["DockerBuildArgs"]["FUNCTION_DIR"]

    assert function.handler.startswith(folder.replace("/", ".") + ".app.")
    assert (ROOT / folder / "app.py").is_file()


def test_every_work_queue_has_dead_letter_queue():
    dead_letter_targets = {
        properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for properties in TEMPLATE.queues.values()
        if "RedrivePolicy" in properties
    }
    consumed = {source.queue for function in FUNCTIONS for source in function.queue_sources}

    assert consumed
    assert consumed.isdisjoint(dead_letter_targets)
    for queue in consumed:
        assert int(TEMPLATE.queues[queue]["RedrivePolicy"]["maxReceiveCount"]) >= 1


def test_queue_sources_report_batch_item_failures():
    for function in FUNCTIONS:
        for source in function.queue_sources:
            assert source.report_batch_item_failures, function.name


def test_routes_are_unique():
    routes = [(route.method, route.path) for function in FUNCTIONS for route in function.routes]

    assert len(routes) == len(set(routes))

