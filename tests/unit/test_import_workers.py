"""Import workers: the cleaning and tokens of in-process, in order; they end with the importer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from turnout.adapters.import_workers import (
    ImportWorkers,
    LocalCleaning,
    TokenSigner,
    WorkerStopped,
    _one_by_one,
    split_tokens,
)
from turnout.adapters.parallel_signing import fast_signer, token_maker
from turnout.domain.ids import sequential_ids
from turnout.domain.imports import RowCleaning
from turnout.domain.participants import ParticipantInput, Rules
from turnout.domain.tickets import TicketClaims, encode_token

CLEANING = RowCleaning(
    fields=(("name", 0), ("email", 1), ("phone", 2), ("birth_date", 3), ("gender", 4)),
    custom=((5, "티셔츠"),),
    columns={
        "name": "이름",
        "email": "이메일",
        "phone": "휴대폰",
        "birth_date": "생년월일",
        "gender": "성별",
    },
    rules=Rules(starts_on=date(2026, 6, 1)),
)


def rows(n: int, start: int = 2) -> list[tuple[int, list[Any]]]:
    out: list[tuple[int, list[Any]]] = []
    for i in range(n):
        email = "broken" if i % 7 == 3 else f"P{i}@Example.com"
        birth = "2020-01-01" if i % 11 == 5 else f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}"
        out.append(
            (start + i, [f" 참가자 {i} ", email, f"010-{1000 + i:04d}-{i % 10000:04d}", birth, "남", "M"])
        )
    return out


def private_key() -> tuple[Ed25519PrivateKey, bytes]:
    key = Ed25519PrivateKey.generate()
    return key, key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def test_token_signer_makes_the_tokens_encode_token_makes() -> None:
    key, raw = private_key()
    event_id = str(uuid.uuid4())
    ids = [*sequential_ids(40), str(uuid.uuid4())]
    signer = TokenSigner(event_id, raw)
    expected = [
        encode_token(TicketClaims(event_id=event_id, participant_id=pid, version=1), key.sign) for pid in ids
    ]
    assert split_tokens(signer.tokens([uuid.UUID(i).bytes for i in ids])) == expected
    assert signer.tokens([]) == b""
    one_by_one = TokenSigner(event_id, raw)
    one_by_one._sign_all = _one_by_one(fast_signer(raw))  # without libsodium's buffer
    assert split_tokens(one_by_one.tokens([uuid.UUID(i).bytes for i in ids])) == expected


def test_workers_answer_batches_in_order_with_the_in_process_results() -> None:
    key, raw = private_key()
    event_id = str(uuid.uuid4())
    local = LocalCleaning(CLEANING, token_maker(event_id, key.sign))
    batches = [rows(300, 2), rows(5, 302), [], rows(5000, 307), rows(40, 5307)]
    ids = [sequential_ids(len(batch)) for batch in batches]
    workers = ImportWorkers(2)
    try:
        workers.start(CLEANING, event_id, raw)
        pending = [workers.submit(batch, batch_ids) for batch, batch_ids in zip(batches, ids, strict=True)]
        answers = [wait() for wait in pending]
    finally:
        workers.close()
    expected = [local.submit(batch, batch_ids)() for batch, batch_ids in zip(batches, ids, strict=True)]
    assert answers == expected
    outcomes, tokens = answers[0]
    assert any(type(o) is list for o in outcomes)
    assert any(type(o) is ParticipantInput for o in outcomes)
    assert len(tokens) == sum(1 for o in outcomes if type(o) is ParticipantInput)


def test_workers_clean_without_signing_when_no_ids_are_given() -> None:
    workers = ImportWorkers(1)
    try:
        workers.start(CLEANING, str(uuid.uuid4()), None)
        outcomes, tokens = workers.submit(rows(20), [])()
    finally:
        workers.close()
    assert tokens == []
    assert outcomes == CLEANING.clean(rows(20))


def test_a_dead_worker_is_reported_not_waited_for() -> None:
    workers = ImportWorkers(1)
    try:
        workers.start(CLEANING, str(uuid.uuid4()), None)
        os.kill(workers.pids[0], signal.SIGKILL)
        with pytest.raises(WorkerStopped):
            _submit_until_stopped(workers)
    finally:
        workers.close()


def _submit_until_stopped(workers: ImportWorkers) -> None:
    for _ in range(50):  # the pipe may take a batch or two before it breaks
        workers.submit(rows(10), [])()
        time.sleep(0.05)


def test_workers_end_when_the_importing_process_is_killed() -> None:
    script = (
        "import sys, time\n"
        "from turnout.adapters.import_workers import ImportWorkers\n"
        "workers = ImportWorkers(2)\n"
        "print(*workers.pids, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        assert all(_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "a worker outlived the importing process"


def test_close_ends_the_workers() -> None:
    workers = ImportWorkers(2)
    pids = workers.pids
    workers.close()
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, reaped by init only later, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
