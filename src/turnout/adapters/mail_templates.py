"""``JinjaTemplates``: ``ports.TemplateRenderer`` with Jinja2's sandbox.

Strict (an unknown variable is an error), HTML auto-escaped, trailing newlines kept. Compiled
templates are cached by source, so an event's override compiles once per process. Built-in
templates are the files ``src/turnout/templates/mail/{kind}.{locale}.{subject,html,txt}.j2``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from turnout.ports import RenderedEmail, TemplateProblem, TemplateSources

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"
_SUFFIX = {"subject": "subject.j2", "html": "html.j2", "text": "txt.j2"}


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=autoescape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )


_TEXT_ENV = _environment(False)
_HTML_ENV = _environment(True)


@lru_cache(maxsize=256)
def _compile(part: str, source: str) -> jinja2.Template:
    env = _HTML_ENV if part == "html" else _TEXT_ENV
    return env.from_string(source)


@lru_cache(maxsize=16)
def _builtin(kind: str, locale: str) -> TemplateSources:
    def read(part: str) -> str:
        return (BUILTIN_DIR / f"{kind}.{locale}.{_SUFFIX[part]}").read_text(encoding="utf-8")

    return TemplateSources(subject=read("subject"), html=read("html"), text=read("text"))


class JinjaTemplates:
    def builtin(self, kind: str, locale: str) -> TemplateSources:
        return _builtin(kind, locale)

    def render_part(self, part: str, source: str, context: dict[str, Any]) -> str:
        try:
            return _compile(part, source).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(part, f"line {exc.lineno}: {exc.message}") from exc
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateProblem(part, str(exc)) from exc

    def render(self, sources: TemplateSources, context: dict[str, Any]) -> RenderedEmail:
        subject = _compile("subject", sources.subject).render(context)
        html = _compile("html", sources.html).render(context)
        text = _compile("text", sources.text).render(context)
        return RenderedEmail(subject=" ".join(subject.split()), html=html, text=text)
