"""A hostile mail template over HTTP: 422 ``invalid_template`` quickly, and the server keeps
answering ``/health`` while it is being checked."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from turnout.bootstrap import Turnout
from turnout.entrypoints.api.app import create_app


def _url(event: dict[str, Any]) -> str:
    return f"/api/v1/events/{event['id']}/mail-templates/en"


BODY = {"subject": "Hi {{ participant_name }}", "html": "<p>{{ ticket_url }}</p>", "text": "{{ ticket_url }}"}


@pytest.mark.parametrize(
    "text",
    [
        "{{ 9**9**9 }}",
        "{{ 'a' * 10**9 }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    ],
)
def test_a_hostile_template_is_refused_with_422_invalid_template(
    client: TestClient, event: dict[str, Any], text: str
) -> None:
    started = time.monotonic()
    response = client.put(_url(event), json={**BODY, "text": text}, params={"lang": "ko"})
    assert time.monotonic() - started < 3.0
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_template"
    assert "템플릿" in error["message"]
    (detail,) = error["details"]
    assert (detail["field"], detail["code"]) == ("text", "template_error")
    assert detail["params"]["error"]


def test_a_normal_template_is_still_saved(client: TestClient, event: dict[str, Any]) -> None:
    response = client.put(_url(event), json=BODY)
    assert response.status_code == 200, response.text
    assert response.json()["overridden"] is True


def test_health_answers_within_100_ms_while_a_hostile_template_is_checked(
    turnout: Turnout, admin_key: str, event: dict[str, Any]
) -> None:
    app = create_app(turnout)
    hostile = {
        **BODY,
        "text": "{% for i in range(99999) %}{% for j in range(99999) %}{{ 9**9**9 }}{% endfor %}{% endfor %}"
        "{% for a in token %}{% for b in token %}{% for c in token %}{% for d in token %}"
        "{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    }
    hostile["html"] = (
        "{% for a in token %}{% for b in token %}{% for c in token %}{% for d in token %}"
        "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
    )

    async def scenario() -> tuple[list[float], int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {admin_key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
            submit = asyncio.create_task(http.put(_url(event), json=hostile))
            await asyncio.sleep(0.05)
            probes: list[float] = []
            while not submit.done() and len(probes) < 20:
                started = time.monotonic()
                health = await http.get("/health")
                probes.append(time.monotonic() - started)
                assert health.status_code == 200
                await asyncio.sleep(0.02)
            response = await submit
            return probes, response.status_code

    probes, status = asyncio.run(scenario())
    assert status == 422
    assert probes, "the hostile submission ended before /health was probed"
    assert max(probes) < 0.1, probes


def test_other_writes_are_not_held_up_while_a_hostile_template_is_checked(
    turnout: Turnout, admin_key: str, event: dict[str, Any]
) -> None:
    """The check runs before the saving transaction: no database lock is held for its seconds."""
    app = create_app(turnout)
    nested = "{% for a in token %}{% for b in token %}{% for c in token %}{% for d in token %}"
    hostile = {**BODY, "html": nested + "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"}

    async def scenario() -> tuple[float, int, int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {admin_key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
            submit = asyncio.create_task(http.put(_url(event), json=hostile))
            await asyncio.sleep(0.3)
            assert not submit.done()
            started = time.monotonic()
            gate = await http.post(f"/api/v1/events/{event['id']}/gates", json={"name": "동문"})
            took = time.monotonic() - started
            response = await submit
            return took, gate.status_code, response.status_code

    took, gate_status, status = asyncio.run(scenario())
    assert (gate_status, status) == (201, 422)
    assert took < 1.0, took
