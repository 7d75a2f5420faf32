"""``JinjaTemplates``: ``ports.TemplateRenderer`` with Jinja2's sandbox, bounded.

Strict (an unknown variable is an error), HTML auto-escaped, trailing newlines kept. Compiled
templates are cached by source, so an event's override compiles once per process. Built-in
templates are the files ``src/turnout/templates/mail/{kind}.{locale}.{subject,html,txt}.j2``.

Organisers write templates, so a template must not be able to burn the server's CPU or memory:

- Refused when parsed (before anything runs): the power operator ``**`` and number literals larger
  than ``MAX_NUMBER`` (``'x'|center(1000000000)``).
- Refused while rendering (``GuardedEnvironment``): ``*`` whose result would be a long string or
  list or a huge number, ``range`` of more than ``MAX_RANGE`` items, calls with a number argument
  larger than ``MAX_NUMBER``, output longer than ``TemplateLimits.max_output_chars``, and (checked
  at every call, attribute, operator and ``range`` step) a render running past its deadline.
- Checking a template before it is saved (``render_part``) renders it in a child process (a fork of
  a clean ``forkserver``) under a memory limit, killed when it runs past
  ``TemplateLimits.timeout_seconds``: whatever a template does, the server's own threads and event
  loop are not held up, and the render really stops.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from turnout.ports import RenderedEmail, TemplateProblem, TemplateSources

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"
_SUFFIX = {"subject": "subject.j2", "html": "html.j2", "text": "txt.j2"}

#: the largest number a template may write or compute with (a loop bound, a width, a repeat count)
MAX_NUMBER = 100_000
#: the most items ``range`` gives
MAX_RANGE = 10_000
#: the largest integer ``*`` may produce, in bits
MAX_PRODUCT_BITS = 256


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """How long and how large one render may be (settings ``TURNOUT_TEMPLATE_*``)."""

    timeout_seconds: float = 2.0
    max_output_chars: int = 256 * 1024
    memory_bytes: int = 256 * 1024 * 1024


class TemplateTooCostly(SecurityError):
    """A template that would take too long or too much memory."""


_local = threading.local()


def _check_deadline() -> None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateTooCostly("the template took too long to render")


def _too_big(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER


def _guarded_range(*args: int) -> Iterator[int]:
    if any(_too_big(a) for a in args):
        raise TemplateTooCostly(f"range() is limited to {MAX_RANGE} items")
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise TemplateTooCostly(f"range() is limited to {MAX_RANGE} items")
    for item in items:
        _check_deadline()
        yield item


class GuardedEnvironment(SandboxedEnvironment):
    """The sandbox, with the costly operations refused (see the module's notes)."""

    intercepted_binops = frozenset({"*", "**", "//", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _guarded_range
        self.globals.pop("lipsum", None)  # paragraphs of filler on demand: no use in an email

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _check_deadline()
        if operator == "**":
            raise TemplateTooCostly("the ** operator is not allowed")
        if operator == "*":
            _check_product(left, right, getattr(_local, "max_chars", TemplateLimits().max_output_chars))
        if operator == "%" and isinstance(left, str):
            raise TemplateTooCostly("the % operator is not allowed on text (use the format filter)")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_deadline()
        return super().getattr(obj, attribute)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_deadline()
        if any(_too_big(a) for a in (*args, *kwargs.values())):
            raise TemplateTooCostly(f"numbers larger than {MAX_NUMBER} are not allowed")
        return super().call(__context, __obj, *args, **kwargs)


def _check_product(left: Any, right: Any, max_chars: int) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            if times > MAX_NUMBER or len(sequence) * max(times, 0) > max_chars:
                raise TemplateTooCostly("repeating that much text is not allowed")
            return
    both_integers = isinstance(left, int) and isinstance(right, int)
    if both_integers and abs(left).bit_length() + abs(right).bit_length() > MAX_PRODUCT_BITS:
        raise TemplateTooCostly("the number is too large")


def _environment(autoescape: bool) -> GuardedEnvironment:
    return GuardedEnvironment(
        autoescape=autoescape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )


_TEXT_ENV = _environment(False)
_HTML_ENV = _environment(True)


def check_source(part: str, source: str) -> None:
    """Refuse, without running it, a template using ``**`` or a number over ``MAX_NUMBER``."""
    env = _HTML_ENV if part == "html" else _TEXT_ENV
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"line {exc.lineno}: {exc.message}") from exc
    for node in tree.find_all((nodes.Pow, nodes.Const)):
        if isinstance(node, nodes.Pow):
            raise TemplateProblem(part, f"line {node.lineno}: the ** operator is not allowed")
        if isinstance(node, nodes.Const) and _too_big(node.value):
            raise TemplateProblem(
                part, f"line {node.lineno}: numbers larger than {MAX_NUMBER} are not allowed"
            )


@lru_cache(maxsize=256)
def _compile(part: str, source: str) -> jinja2.Template:
    check_source(part, source)
    env = _HTML_ENV if part == "html" else _TEXT_ENV
    return env.from_string(source)


@lru_cache(maxsize=16)
def _builtin(kind: str, locale: str) -> TemplateSources:
    def read(part: str) -> str:
        return (BUILTIN_DIR / f"{kind}.{locale}.{_SUFFIX[part]}").read_text(encoding="utf-8")

    return TemplateSources(subject=read("subject"), html=read("html"), text=read("text"))


def _render_raw(part: str, source: str, context: dict[str, Any], limits: TemplateLimits) -> str:
    """Render in this thread under a deadline and an output cap; raises what rendering raised
    (``TemplateTooCostly`` over a limit, ``TemplateProblem`` refused when parsed)."""
    template = _compile(part, source)
    _local.deadline = time.monotonic() + limits.timeout_seconds
    _local.max_chars = limits.max_output_chars
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > limits.max_output_chars:
                raise TemplateTooCostly(f"the output is longer than {limits.max_output_chars} characters")
            out.append(chunk)
            _check_deadline()
        return "".join(out)
    finally:
        _local.deadline = None


def render_bounded(part: str, source: str, context: dict[str, Any], limits: TemplateLimits) -> str:
    """``_render_raw`` with every failure as a ``TemplateProblem``."""
    try:
        return _render_raw(part, source, context, limits)
    except TemplateProblem:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"line {exc.lineno}: {exc.message}") from exc
    except MemoryError as exc:
        raise TemplateProblem(part, "the template needs too much memory") from exc
    except RecursionError as exc:
        raise TemplateProblem(part, "the template nests too deeply") from exc
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateProblem(part, str(exc)) from exc


# --- rendering in a child process ------------------------------------------------------------------


def _limit_memory(extra: int) -> None:
    """The child may grow by ``extra`` bytes of address space beyond what it has now."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (current + extra, current + extra))
    except (ImportError, OSError, ValueError):  # not Linux: the time limit still holds
        pass


def _child(conn: Connection, part: str, source: str, context: dict[str, Any], limits: TemplateLimits) -> None:
    _limit_memory(limits.memory_bytes)
    try:
        conn.send(("ok", render_bounded(part, source, context, limits)))
    except TemplateProblem as problem:
        conn.send(("problem", problem.message))
    except BaseException as exc:  # whatever it was, the parent is told
        conn.send(("problem", f"the template cannot be rendered ({type(exc).__name__})"))
    finally:
        conn.close()


_context_lock = threading.Lock()
_context: Any = None


def _process_context() -> Any:
    """Forks of a ``forkserver`` started once (clean: no threads, no open connections), this module
    preloaded; ``spawn`` where there is no ``forkserver``."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                _context = multiprocessing.get_context("forkserver")
                _context.set_forkserver_preload([__name__])
            else:  # pragma: no cover - Windows
                _context = multiprocessing.get_context("spawn")
        return _context


def render_isolated(part: str, source: str, context: dict[str, Any], limits: TemplateLimits) -> str:
    """Render in a child process killed after ``limits.timeout_seconds``; ``TemplateProblem``."""
    check_source(part, source)  # the obvious refusals without a process
    ctx = _process_context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, part, source, context, limits), daemon=True)
    try:
        process.start()
    except BaseException:
        receiver.close()
        sender.close()
        raise
    try:
        sender.close()
        # the child's start counts too, but generously: a loaded machine must not refuse a good template
        if not receiver.poll(limits.timeout_seconds + 1.0):
            raise TemplateProblem(
                part, f"the template took longer than {limits.timeout_seconds:g} s to render"
            )
        try:
            kind, payload = receiver.recv()
        except EOFError:
            raise TemplateProblem(part, "the template cannot be rendered (the renderer stopped)") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
        if process.exitcode is None:  # pragma: no cover
            log.warning("template renderer %s did not stop", process.pid)
    if kind != "ok":
        raise TemplateProblem(part, str(payload))
    return str(payload)


class JinjaTemplates:
    #: parts that rendered, remembered (by part, source and variables) so a check repeated (the
    #: route checks before its transaction, the service again inside it) costs no second process
    CHECKED_MAX = 256

    def __init__(self, limits: TemplateLimits | None = None) -> None:
        self.limits = limits or TemplateLimits()
        self._checked: OrderedDict[tuple[str, str, tuple[tuple[str, str], ...]], str] = OrderedDict()
        self._checked_lock = threading.Lock()

    def builtin(self, kind: str, locale: str) -> TemplateSources:
        return _builtin(kind, locale)

    def render_part(self, part: str, source: str, context: dict[str, Any]) -> str:
        """Check one part: rendered in a child process under the limits."""
        key = (part, source, tuple(sorted((str(k), repr(v)) for k, v in context.items())))
        with self._checked_lock:
            if key in self._checked:
                self._checked.move_to_end(key)
                return self._checked[key]
        rendered = render_isolated(part, source, context, self.limits)
        with self._checked_lock:
            self._checked[key] = rendered
            while len(self._checked) > self.CHECKED_MAX:
                self._checked.popitem(last=False)
        return rendered

    def render(self, sources: TemplateSources, context: dict[str, Any]) -> RenderedEmail:
        """All three parts, in this thread, under the deadline and output cap; raises what rendering
        raised."""
        subject = _render_raw("subject", sources.subject, context, self.limits)
        html = _render_raw("html", sources.html, context, self.limits)
        text = _render_raw("text", sources.text, context, self.limits)
        return RenderedEmail(subject=" ".join(subject.split()), html=html, text=text)


__all__ = ["GuardedEnvironment", "JinjaTemplates", "TemplateLimits", "check_source", "render_isolated"]
