"""A minimal webhook receiver for the benchmarks: an ASGI app (run by uvicorn in its own process)
that answers 204 to every POST, keeps the distinct ``webhook-id``s it saw, and answers ``GET /count``
with ``{"requests": n, "distinct": m}``. ``RECEIVER_VERIFY=whsec_...`` verifies every signature
(with the reference ``standardwebhooks`` package) and counts the bad ones.

    .venv/bin/python -m uvicorn --app-dir bench receiver:app --port 9000 --log-level warning
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_seen: set[str] = set()
_counts = {"requests": 0, "bad_signatures": 0, "bytes": 0}
_verifier = Webhook(os.environ["RECEIVER_VERIFY"]) if os.environ.get("RECEIVER_VERIFY") else None


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "GET":
        answer = json.dumps({**_counts, "distinct": len(_seen)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer})
        return
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    _counts["requests"] += 1
    _counts["bytes"] += len(body)
    if _verifier is not None:
        try:
            _verifier.verify(body, headers)
        except WebhookVerificationError:
            _counts["bad_signatures"] += 1
    _seen.add(headers.get("webhook-id", ""))
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
