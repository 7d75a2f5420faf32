"""schemathesis over ``/openapi.json``: every operation, with a valid admin key and the demo event's
ids in the paths, answers generated bodies and parameters with a coded answer, never a server
error (``tests/unit/test_request_schema_bounds.py`` checks that the schema states the limits the API
enforces).

``TURNOUT_FUZZ_EXAMPLES`` sets the examples per operation and mode (5 by default, to keep ``make test``
short; 30 or more for a deeper run)."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from turnout.bootstrap import Turnout
from turnout.domain.access import Role
from turnout.entrypoints.api.app import create_app
from turnout.entrypoints.cli_demo import build_demo
from turnout.services.keys import create_key

EXAMPLES = int(os.environ.get("TURNOUT_FUZZ_EXAMPLES", "5"))


@pytest.fixture
def fuzz_world(turnout: Turnout) -> tuple[FastAPI, str, dict[str, Any]]:
    demo = build_demo(turnout, participants=5, seed=7)
    with turnout.uow() as uow:
        key = create_key(uow, actor="test", name="fuzz", role=Role.ADMIN).key
        uow.commit()
    return create_app(turnout), key, demo


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the API's answers, not storage
def test_no_operation_answers_with_a_server_error(
    fuzz_world: tuple[FastAPI, str, dict[str, Any]],
) -> None:
    app, key, demo = fuzz_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    operations = 0
    for result, mode in itertools.product(schema.get_all_operations(), GenerationMode):
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            if case.path_parameters and "event_id" in case.path_parameters:
                case.path_parameters["event_id"] = demo["event_id"]
            if case.path.endswith("/stats/live"):  # the demo event is live: one snapshot, then close
                case.query = {**(case.query or {}), "max_messages": 1}
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:  # no negative example of this operation's parameters exists
            continue
        except Exception as error:  # one line per operation: which answered with a server error
            failures[f"{operation.label} ({mode.value})"] = str(error)[:600]
    assert operations > 80  # both modes of every operation
    assert failures == {}
