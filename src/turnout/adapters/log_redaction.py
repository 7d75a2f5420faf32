"""Personal data out of the logs: every log record of the process has ticket tokens in ``/t/{token}``
paths, bearer keys, email addresses and phone numbers replaced before any handler sees it.

It works as a log record factory (``logging.setLogRecordFactory``), so it covers every logger and
every handler — uvicorn's access log included — without each having to carry a filter. A record's
arguments are redacted one by one (not merged into the message), so formatters that read them
(uvicorn's access formatter) keep working; an exception's traceback text is redacted too.

Limits: it recognises the shapes Turnout stores (ASCII-ish emails, phone numbers written as
E.164 ``+8210…`` or Korean ``010-1234-5678``, tokens after ``/t/``, ``Bearer`` keys); a name in
free text cannot be recognised, so code must not log names.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

TICKET_PATH = re.compile(r"(/t/)[^/\s?#\"']+")
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{8,15}|0\d{1,2}[- .]?\d{3,4}[- .]?\d{4})(?!\w)")

_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """``text`` with ticket tokens, bearer keys, emails and phone numbers replaced."""
    text = TICKET_PATH.sub(r"\1[redacted]", text)
    text = BEARER.sub(r"\1[redacted]", text)
    text = EMAIL.sub("[email]", text)
    return PHONE.sub("[phone]", text)


def _redacted(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    args = record.args
    if isinstance(args, tuple):
        record.args = tuple(_redacted(a) for a in args)
    elif isinstance(args, Mapping):
        record.args = {k: _redacted(v) for k, v in args.items()}
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def install() -> None:
    """Redact every log record made from now on in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(make_record(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
