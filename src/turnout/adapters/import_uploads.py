"""Files uploaded in the console and kept on the server between their preview and the import's start.

An upload is stored under ``var/imports/pending/`` as ``<upload id><suffix>`` with a small JSON
record beside it (the event, the name the user gave it, who uploaded it, its size and digest, when).
The upload id is random (unguessable) and names the file: the browser never sends the file again.
Starting the import moves the file into the import folder (``var/imports/``, where the import's
runner deletes it when the job ends); an upload not started within ``max_age`` is deleted by the
next upload's sweep, and is gone for its preview meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from turnout.domain.ids import new_id
from turnout.domain.imports import FileRefused
from turnout.ports import FileDigest

#: how long an upload waits for its import to start
MAX_AGE = timedelta(hours=2)
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """A stored upload: where it is, and what the preview and the import need to know of it."""

    upload_id: str
    event_id: str
    filename: str
    actor: str
    size: int
    sha256: str
    uploaded_at: str  # ISO 8601
    suffix: str

    @property
    def digest(self) -> FileDigest:
        return FileDigest(sha256=self.sha256, size=self.size)


class PendingUploads:
    """The console's uploads awaiting their import (see the module)."""

    def __init__(self, folder: Path, *, max_age: timedelta = MAX_AGE) -> None:
        self.folder = folder
        self.max_age = max_age

    def _file(self, upload_id: str, suffix: str) -> Path:
        return self.folder / f"{upload_id}{suffix}"

    def _record(self, upload_id: str) -> Path:
        return self.folder / f"{upload_id}.json"

    def save(
        self,
        chunks: Iterable[bytes],
        *,
        event_id: str,
        filename: str,
        actor: str,
        max_bytes: int,
        now: datetime,
    ) -> PendingUpload:
        """Store ``chunks`` as a new upload; ``file_too_large`` (nothing kept) past ``max_bytes``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        upload_id = secrets.token_hex(16)
        suffix = Path(filename).suffix.lower()[:10]
        target = self._file(upload_id, suffix)
        digest = hashlib.sha256()
        size = 0
        try:
            with target.open("wb") as handle:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileRefused("file_too_large", max_bytes=max_bytes)
                    digest.update(chunk)
                    handle.write(chunk)
            upload = PendingUpload(
                upload_id=upload_id,
                event_id=event_id,
                filename=filename,
                actor=actor,
                size=size,
                sha256=digest.hexdigest(),
                uploaded_at=now.isoformat(),
                suffix=suffix,
            )
            self._record(upload_id).write_text(json.dumps(asdict(upload)), encoding="utf-8")
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return upload

    def path(self, upload: PendingUpload) -> str:
        return str(self._file(upload.upload_id, upload.suffix))

    def get(self, upload_id: str, *, event_id: str, now: datetime) -> PendingUpload | None:
        """The upload, if it is this event's and has not expired (an expired one is deleted)."""
        if not _ID.match(upload_id):
            return None
        try:
            upload = PendingUpload(**json.loads(self._record(upload_id).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if upload.event_id != event_id:
            return None
        if self._expired(upload, now) or not self._file(upload.upload_id, upload.suffix).exists():
            self.discard(upload)
            return None
        return upload

    def _expired(self, upload: PendingUpload, now: datetime) -> bool:
        try:
            return datetime.fromisoformat(upload.uploaded_at) + self.max_age < now
        except ValueError:
            return True

    def take(self, upload: PendingUpload, folder: Path) -> Path | None:
        """Move the upload's file into ``folder`` (under a new name) for its import; None when it is
        gone (another request took it first)."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{new_id()}{upload.suffix}"
        try:
            os.replace(self._file(upload.upload_id, upload.suffix), target)
        except FileNotFoundError:
            return None
        self._record(upload.upload_id).unlink(missing_ok=True)
        return target

    def give_back(self, upload: PendingUpload, taken: Path) -> None:
        """Undo :meth:`take` (the import could not be queued): the upload can be started again."""
        os.replace(taken, self._file(upload.upload_id, upload.suffix))
        self._record(upload.upload_id).write_text(json.dumps(asdict(upload)), encoding="utf-8")

    def discard(self, upload: PendingUpload) -> None:
        self._file(upload.upload_id, upload.suffix).unlink(missing_ok=True)
        self._record(upload.upload_id).unlink(missing_ok=True)

    def sweep(self, *, now: datetime) -> int:
        """Delete the uploads that expired; how many."""
        if not self.folder.exists():
            return 0
        removed = 0
        for record in self.folder.glob("*.json"):
            upload_id = record.stem
            if not _ID.match(upload_id):
                continue
            try:
                upload = PendingUpload(**json.loads(record.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                record.unlink(missing_ok=True)
                continue
            if self._expired(upload, now):
                self.discard(upload)
                removed += 1
        return removed
