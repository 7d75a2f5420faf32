"""Mail templates that would burn CPU or memory are refused quickly (``invalid_template``), with the
reason per part; ordinary templates still render."""

from __future__ import annotations

import time

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.mail_support import open_event
from turnout.adapters.mail_templates import JinjaTemplates, TemplateLimits
from turnout.domain.errors import ValidationFailed
from turnout.ports import TemplateProblem
from turnout.services import mail_templates

renderer = JinjaTemplates(TemplateLimits(timeout_seconds=1.0, max_output_chars=100_000))

GOOD = {
    "subject": "Hi {{ participant_name }}",
    "html": "<p>{{ ticket_url }}</p>",
    "text": "{{ ticket_url }}",
}

HOSTILE = [
    "{{ 9**9**9 }}",
    "{{ 2 ** 100000000 }}",
    "{{ 'a' * 10**9 }}",
    "{{ 'a' * 1000000000 }}",
    "{{ [1] * 1000000000 }}",
    "{{ 99999999999999999999 * 99999999999999999999 * 99999999999999999999 * 9999999999999999999999 }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(1000000000) %}{% endfor %}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{% for a in token %}{% for b in token %}{% for c in token %}{% for d in token %}"
    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x'|center(1000000000) }}",
    "{{ 'x'.ljust(1000000000) }}",
    "{% for i in range(90000) %}{{ token }}{{ token }}{% endfor %}",
    "{{ '%999999999d'|format(1) }}",
    "{% set ns = namespace(s='x' * 1000) %}{% for i in range(22) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    "{{ ns.s|length }}",
    "{{ token|replace('', token)|replace('', token)|replace('', token)|length }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "{{ lipsum(99999) }}",
]


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.mark.parametrize("source", HOSTILE)
def test_a_hostile_template_is_refused_quickly_with_invalid_template(
    uows: FakeUnitOfWorkFactory, source: str
) -> None:
    event_id = open_event(uows).id
    started = time.monotonic()
    with uows() as uow, pytest.raises(ValidationFailed) as info:
        mail_templates.save_template(
            uow, renderer=renderer, event_id=event_id, locale="en", actor="t", **{**GOOD, "text": source}
        )
    assert time.monotonic() - started < 3.0
    assert info.value.code == "invalid_template"
    (refusal,) = info.value.errors
    assert (refusal.field, refusal.code) == ("text", "template_error")
    assert refusal.params["error"]
    with uows(readonly=True) as uow:
        assert uow.mail_templates.for_events([event_id]) == []


def test_the_power_operator_is_refused_before_anything_renders() -> None:
    started = time.monotonic()
    with pytest.raises(TemplateProblem) as info:
        renderer.render_part("text", "{{ 9**9**9 }}", {})
    assert time.monotonic() - started < 0.5
    assert "**" in info.value.message


def test_an_ordinary_template_still_renders_with_loops_and_arithmetic() -> None:
    source = "{% for i in range(3) %}{{ i * 2 }}-{{ 'ab' * 2 }}{% endfor %} {{ participant_name|upper }}"
    assert renderer.render_part("text", source, {"participant_name": "kim"}) == "0-abab2-abab4-abab KIM"


def test_output_over_the_size_cap_is_refused_when_sending_too() -> None:
    from turnout.ports import TemplateSources

    small = JinjaTemplates(TemplateLimits(timeout_seconds=1.0, max_output_chars=1000))
    sources = TemplateSources(subject="s", html="{% for i in range(2000) %}x{% endfor %}", text="t")
    with pytest.raises(Exception, match="longer than 1000 characters"):
        small.render(sources, {})


def test_a_template_cheap_on_the_sample_but_costly_on_the_longest_values_is_refused(
    uows: FakeUnitOfWorkFactory,
) -> None:
    """Checked with the longest variables a real email can have too (a 200-character name ...), so
    a template that passes its check cannot hang the mail sender on a real participant."""
    event_id = open_event(uows).id
    loops = "".join("{% for c" + str(i) + " in participant_name %}" for i in range(4))
    source = loops + "{% endfor %}" * 4 + "{{ ticket_url }}"
    started = time.monotonic()
    with uows() as uow, pytest.raises(ValidationFailed) as info:
        mail_templates.save_template(
            uow, renderer=renderer, event_id=event_id, locale="en", actor="t", **{**GOOD, "text": source}
        )
    assert time.monotonic() - started < 5.0
    (refusal,) = info.value.errors
    assert (refusal.field, refusal.code) == ("text", "template_error")
    assert "too long" in refusal.params["error"] or "longer than" in refusal.params["error"]


def test_a_long_subject_is_still_judged_on_the_ordinary_sample() -> None:
    from turnout.ports import TemplateSources

    mail_templates.validate_templates(
        renderer,
        locale="ko",
        sources=TemplateSources(
            subject="{{ event_name }} — {{ participant_name }}님의 티켓", html="<p>x</p>", text="x"
        ),
    )
