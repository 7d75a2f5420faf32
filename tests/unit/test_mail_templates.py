"""Template overrides on a fake store with the real Jinja2 renderer: what is in effect, what is
refused on save and why, and back to the built-in ones."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.mail_support import open_event
from turnout.adapters.mail_templates import JinjaTemplates
from turnout.domain.errors import ValidationFailed
from turnout.ports import TemplateSources
from turnout.services import mail_templates

renderer = JinjaTemplates()


@pytest.fixture
def uows(clock: FakeClock) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(clock)


@pytest.fixture
def event_id(uows: FakeUnitOfWorkFactory) -> str:
    return open_event(uows).id


GOOD = {
    "subject": "Hi {{ participant_name }}",
    "html": "<p>{{ ticket_url }}</p>",
    "text": "{{ ticket_url }}",
}


def test_the_built_in_templates_are_in_effect_when_the_event_has_none(
    uows: FakeUnitOfWorkFactory, event_id: str
) -> None:
    with uows(readonly=True) as uow:
        ko, en = mail_templates.get_templates(uow, renderer=renderer, event_id=event_id)
    assert (ko.locale, en.locale) == ("ko", "en")
    assert not ko.overridden
    assert not en.overridden
    assert "{{ event_name }}" in ko.subject
    assert ko.subject != en.subject
    assert (ko.updated_at, ko.updated_by) == (None, None)


def test_a_saved_override_is_in_effect_for_its_language_and_audited_when_saved(
    uows: FakeUnitOfWorkFactory, event_id: str, clock: FakeClock
) -> None:
    with uows() as uow:
        saved = mail_templates.save_template(
            uow, renderer=renderer, event_id=event_id, locale="en", actor="staff", **GOOD
        )
        uow.commit()
    with uows(readonly=True) as uow:
        ko, en = mail_templates.get_templates(uow, renderer=renderer, event_id=event_id)
        audit = uow.audit.for_subject("event", event_id)
    assert saved == en
    assert (en.overridden, en.subject, en.updated_at, en.updated_by) == (
        True,
        GOOD["subject"],
        clock.now(),
        "staff",
    )
    assert not ko.overridden
    assert [(a["action"], a["data"]) for a in audit] == [
        ("mail_template.saved", {"kind": "ticket", "locale": "en"})
    ]


def test_deleting_an_override_brings_back_the_built_in_one_when_deleted(
    uows: FakeUnitOfWorkFactory, event_id: str
) -> None:
    with uows() as uow:
        mail_templates.save_template(
            uow, renderer=renderer, event_id=event_id, locale="ko", actor="staff", **GOOD
        )
        assert mail_templates.delete_template(uow, event_id=event_id, locale="ko", actor="staff") is True
        assert mail_templates.delete_template(uow, event_id=event_id, locale="ko", actor="staff") is False
        uow.commit()
    with uows(readonly=True) as uow:
        templates = mail_templates.get_templates(uow, renderer=renderer, event_id=event_id)
        actions = [a["action"] for a in uow.audit.for_subject("event", event_id)]
    assert [t.overridden for t in templates] == [False, False]
    assert actions == ["mail_template.saved", "mail_template.deleted"]


@pytest.mark.parametrize(
    ("part", "source", "error"),
    [
        ("html", "<p>{% if %}</p>", "line 1: Expected an expression, got 'end of statement block'"),
        ("text", "Hello {{ no_such_variable }}", "'no_such_variable' is undefined"),
        ("subject", "{{ participant_name | no_such_filter }}", "line 1: No filter named 'no_such_filter'."),
        ("subject", "{{ '' }}", "subject_empty"),  # a code: the catalogue says it in words
        ("subject", "{{ 'x' * 301 }}", "subject_too_long"),
        ("text", "{{ 1 / 0 }}", "division by zero"),
        ("text", "{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe."),
    ],
)
def test_a_template_is_refused_with_the_error_of_its_part_when_it_does_not_render(
    uows: FakeUnitOfWorkFactory, event_id: str, part: str, source: str, error: str
) -> None:
    sources = {**GOOD, part: source}
    with uows() as uow, pytest.raises(ValidationFailed) as info:
        mail_templates.save_template(
            uow, renderer=renderer, event_id=event_id, locale="ko", actor="t", **sources
        )
    (refusal,) = info.value.errors
    assert (refusal.field, refusal.code, refusal.params["error"]) == (part, "template_error", error)
    with uows(readonly=True) as uow:
        assert uow.mail_templates.for_events([event_id]) == []


def test_every_broken_part_is_reported_when_several_do_not_render(
    uows: FakeUnitOfWorkFactory, event_id: str
) -> None:
    with uows() as uow, pytest.raises(ValidationFailed) as info:
        mail_templates.save_template(
            uow,
            renderer=renderer,
            event_id=event_id,
            locale="en",
            actor="t",
            subject="Hi",
            html="<p>{{ participant_name }</p>",
            text="{{ nope }}",
        )
    assert [e.field for e in info.value.errors] == ["html", "text"]


def test_an_unknown_language_or_kind_is_refused_when_saving_or_deleting(
    uows: FakeUnitOfWorkFactory, event_id: str
) -> None:
    with uows() as uow, pytest.raises(ValidationFailed) as saving:
        mail_templates.save_template(
            uow, renderer=renderer, event_id=event_id, locale="fr", actor="t", **GOOD
        )
    with uows() as uow, pytest.raises(ValidationFailed) as deleting:
        mail_templates.delete_template(uow, event_id=event_id, locale="ko", kind="invoice", actor="t")
    assert [(e.field, e.code) for e in saving.value.errors] == [("locale", "invalid_value")]
    assert [(e.field, e.code) for e in deleting.value.errors] == [("kind", "invalid_value")]


def test_html_is_escaped_and_text_is_not_when_rendered() -> None:
    context = mail_templates.sample_context("en") | {"participant_name": "<b>Kim & Lee</b>"}
    rendered = renderer.render(
        TemplateSources(
            subject="  Hi\n {{ participant_name }} ",
            html="{{ participant_name }}",
            text="{{ participant_name }}",
        ),
        context,
    )
    assert rendered.subject == "Hi <b>Kim & Lee</b>"
    assert rendered.html == "&lt;b&gt;Kim &amp; Lee&lt;/b&gt;"
    assert rendered.text == "<b>Kim & Lee</b>"


def test_the_built_in_ticket_email_links_the_participants_data_page_in_both_languages(
    uows: FakeUnitOfWorkFactory, event_id: str
) -> None:
    with uows(readonly=True) as uow:
        in_effect = mail_templates.get_templates(uow, renderer=renderer, event_id=event_id)
    for template in in_effect:
        context = mail_templates.sample_context(template.locale)
        assert context["data_url"] == context["ticket_url"] + "/data"
        sources = TemplateSources(subject=template.subject, html=template.html, text=template.text)
        rendered = renderer.render(sources, context)
        assert f'href="{context["data_url"]}"' in rendered.html, template.locale
        assert context["data_url"] in rendered.text, template.locale


def test_the_preview_renders_each_part_with_the_sample_participant_in_its_language() -> None:
    good = {"subject": GOOD["subject"], "html": GOOD["html"], "text": GOOD["text"]}
    en = mail_templates.preview_template(
        renderer, locale="en", subject=good["subject"], html=good["html"], text=good["text"]
    )
    ko = mail_templates.preview_template(
        renderer, locale="ko", subject=good["subject"], html=good["html"], text=good["text"]
    )
    assert en.errors == ()
    assert (en.subject, ko.subject) == ("Hi Jane Doe", "Hi 홍길동")
    assert en.html is not None
    assert en.html.startswith("<p>http://127.0.0.1:8000/t/")


def test_the_preview_gives_each_broken_part_its_error_and_still_shows_the_others() -> None:
    shown = mail_templates.preview_template(
        renderer, locale="en", subject="{{ oops", html="<b>{{ venue }}</b>", text="{{ 1/0 }}"
    )
    assert {(e.field, e.code) for e in shown.errors} == {
        ("subject", "template_error"),
        ("text", "template_error"),
    }
    assert (shown.subject, shown.html, shown.text) == (None, "<b>COEX</b>", None)


@pytest.mark.parametrize("saved", [True, False])
def test_the_preview_of_the_template_in_effect_is_the_same_rendered_either_way(saved: bool) -> None:
    builtin = renderer.builtin("ticket", "ko")
    shown = mail_templates.preview_template(
        renderer, locale="ko", subject=builtin.subject, html=builtin.html, text=builtin.text, saved=saved
    )
    assert shown.errors == ()
    assert shown.text is not None
    assert "홍길동" in shown.text
