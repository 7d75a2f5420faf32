"""The participant export: its column headers (``export.column.<code>``, the codes being
``adapters.participant_export.COLUMNS``) and the ``turnout export`` command's words (see
docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {
    "export.column.id": {"ko": "참가자 ID", "en": "Participant ID"},
    "export.column.name": {"ko": "이름", "en": "Name"},
    "export.column.email": {"ko": "이메일", "en": "Email"},
    "export.column.phone": {"ko": "전화번호", "en": "Phone"},
    "export.column.birth_date": {"ko": "생년월일", "en": "Birth date"},
    "export.column.region": {"ko": "지역", "en": "Region"},
    "export.column.organization": {"ko": "소속", "en": "Organization"},
    "export.column.gender": {"ko": "성별", "en": "Gender"},
    "export.column.locale": {"ko": "언어", "en": "Language"},
    "export.column.status": {"ko": "신청 상태", "en": "Registration status"},
    "export.column.check_in_status": {"ko": "입장 상태", "en": "Check-in status"},
    "export.column.first_checked_in_at": {"ko": "첫 입장 시각", "en": "First check-in"},
    "export.column.last_scan_at": {"ko": "마지막 스캔 시각", "en": "Last scan"},
    "export.column.registered_at": {"ko": "신청 일시", "en": "Registered at"},
    "export.column.consent_channel": {"ko": "동의 경로", "en": "Consent channel"},
    "export.column.consent_basis": {"ko": "동의 근거", "en": "Consent basis"},
    "export.column.consent_optional": {"ko": "선택 동의", "en": "Optional consent"},
    "export.column.consent_marketing": {"ko": "마케팅 동의", "en": "Marketing consent"},
    "export.column.consent_given_at": {"ko": "동의 일시", "en": "Consent given at"},
    "export.column.notice_version": {"ko": "안내 버전", "en": "Notice version"},
    # turnout export EVENT_ID FILE
    "cli.export.done": {
        "ko": "참가자 {rows}명을 {path}에 저장했습니다 ({format}, {seconds}초).",
        "en": "Exported {rows} participants to {path} ({format}, {seconds} s).",
    },
    "cli.export.unknown_format": {
        "ko": "파일 형식을 알 수 없습니다: {suffix}. `--format csv` 또는 `--format xlsx`를 지정해 주십시오.",
        "en": "Unknown file format: {suffix}. Give `--format csv` or `--format xlsx`.",
    },
    "cli.export.cannot_write": {
        "ko": "파일을 쓸 수 없습니다: {path} ({reason})",
        "en": "Cannot write the file: {path} ({reason})",
    },
}
