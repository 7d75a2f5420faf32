"""How pages show stored values: phones, times in the event's zone, sizes, codes through the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from turnout.domain.access import Role
from turnout.domain.events import GateDirection, ScanMethod
from turnout.domain.participants import display_phone
from turnout.entrypoints.web.dashboard_pages import dashboard_strings
from turnout.entrypoints.web.scanner import scanner_strings
from turnout.entrypoints.web.templating import REASONS, format_local, megabytes
from turnout.i18n import catalog, translate
from turnout.ports import EmailStatus

MOMENT = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+821012345678", "010-1234-5678"),
        ("+82212345678", "02-1234-5678"),
        ("+82311234567", "031-123-4567"),
        ("+819012345678", "+81 90-1234-5678"),
        ("+14155552671", "+1 415-555-2671"),
        ("not a phone", "not a phone"),
        (None, ""),
        ("", ""),
    ],
)
def test_display_phone_is_national_for_korean_numbers_and_international_for_others(
    stored: str | None, shown: str
) -> None:
    assert display_phone(stored) == shown


def test_times_in_seoul_show_no_zone_and_other_zones_are_named() -> None:
    assert format_local(MOMENT, "Asia/Seoul") == "2026-05-01 09:00"
    assert format_local(MOMENT, "Asia/Seoul", seconds=True) == "2026-05-01 09:00:00"
    assert format_local(MOMENT, "Asia/Seoul", seconds=True, date=False) == "09:00:00"
    assert format_local(MOMENT, "Asia/Tokyo") == "2026-05-01 09:00 JST"
    assert format_local(MOMENT, "Europe/Paris") == "2026-05-01 02:00 CEST"
    # a zone whose abbreviation is only an offset is named by its id
    assert format_local(MOMENT, "America/Sao_Paulo") == "2026-04-30 21:00 America/Sao_Paulo"
    assert format_local(None, "Asia/Seoul") == ""


def test_sizes_are_shown_in_megabytes() -> None:
    assert megabytes(1_500_000) == "1.5 MB"
    assert megabytes(25_000_000) == "25 MB"


def test_every_role_method_direction_and_email_state_has_a_korean_name() -> None:
    values = [
        *(f"web.role.{r.value}" for r in Role),
        *(f"web.method.{m.value}" for m in ScanMethod),
        *(f"web.direction.{d.value}" for d in GateDirection),
        *(f"web.email_status.{s}" for s in ("none", *EmailStatus.ALL)),
        *REASONS.values(),
    ]
    for code in values:
        assert code in catalog(), code
    assert translate("web.method.manual", "ko") == "수동"
    assert translate("web.method.ble", "ko") == "BLE 비콘"
    assert translate("web.role.staff", "ko") == "스태프"


def test_the_scripts_get_every_text_they_show_from_the_catalogue() -> None:
    scanner = scanner_strings("ko")
    assert scanner["exit_denied"] == "퇴장 불가"
    assert scanner["denied"] == "입장 불가"
    assert set(scanner["camera_errors"]) >= {
        "NotAllowedError",
        "NotFoundError",
        "NotReadableError",
        "OverconstrainedError",
        "SecurityError",
        "insecure",
    }
    assert set(scanner["http_errors"]) >= {"401", "403", "404", "429", "5xx"}
    dashboard = dashboard_strings("ko")
    assert dashboard["methods"] == {"qr": "QR", "ble": "BLE 비콘", "manual": "수동"}
    assert dashboard["emails"]["none"] == "발송 전"
    assert dashboard["emails"]["sent"] == "발송 완료"
    # nothing falls back to its code
    for texts in (scanner, dashboard):
        stack: list[object] = [texts]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            else:
                assert not str(item).startswith("web."), item
