"""The command line's own words: tables' headers, progress labels, summaries and notices.

The CLI speaks ``TURNOUT_DEFAULT_LOCALE`` when it is set, else the terminal's ``LC_ALL`` /
``LC_MESSAGES`` / ``LANG`` (``ko_KR.UTF-8`` -> Korean), else English; ``--json`` keeps its
English keys and codes. Refusals use the codes' own messages.
"""

CATALOG: dict[str, dict[str, str]] = {
    # a refusal and its field errors (``turnout.entrypoints.cli.fail``)
    "cli.refused": {"ko": "거부됨", "en": "refused"},
    "cli.field_error": {"ko": "{field}: {message} ({code})", "en": "{field}: {message} ({code})"},
    "cli.bad_time": {
        "ko": "ISO 8601 날짜·시각이 아닙니다: {value}",
        "en": "not an ISO 8601 date-time: {value}",
    },
    "cli.bad_age": {
        "ko": "ISO 8601 시각이나 `24h` 같은 기간이 아닙니다: {value}",
        "en": "not an ISO 8601 time or an age like 24h: {value}",
    },
    "cli.bad_methods": {
        "ko": "방식은 `qr`, `ble`, `manual` 중에서 고릅니다: {value}",
        "en": "methods are qr, ble, manual: {value}",
    },
    "cli.bad_on_duplicate": {
        "ko": "`skip`(건너뛰기), `update`(갱신), `fail`(중단) 중 하나입니다",
        "en": "skip, update or fail",
    },
    "cli.yes": {"ko": "예", "en": "yes"},
    "cli.no": {"ko": "아니요", "en": "no"},
    # ``turnout db upgrade`` / ``serve``
    "cli.db_current": {"ko": "데이터베이스가 최신 상태입니다", "en": "database is up to date"},
    "cli.db_not_current": {
        "ko": "데이터베이스 스키마가 최신이 아닙니다: 'turnout db upgrade'를 실행하세요",
        "en": "the database schema is not current: run 'turnout db upgrade'",
    },
    "cli.first_admin_title": {
        "ko": "첫 관리자 키 — 한 번만 보여 드립니다. 지금 보관하세요",
        "en": "First admin key — shown once, store it now",
    },
    "cli.first_admin_help": {
        "ko": "API:      `curl -H 'Authorization: Bearer {key}' {base}/api/v1/events`\n"
        "콘솔:     {base}/  (이 키로 로그인)\n"
        "API 문서: {base}/docs\n"
        "키 추가:  `turnout keys create --role admin|staff|gate --name 이름`",
        "en": "API:      curl -H 'Authorization: Bearer {key}' {base}/api/v1/events\n"
        "Console:  {base}/  (sign in with this key)\n"
        "API docs: {base}/docs\n"
        "More keys: turnout keys create --role admin|staff|gate --name NAME",
    },
    "cli.from_kafka_needs_broker": {
        "ko": "--from-kafka에는 `TURNOUT_BROKER_URL` 설정이 필요합니다",
        "en": "--from-kafka needs TURNOUT_BROKER_URL",
    },
    # keys
    "cli.key_title": {
        "ko": "{role} 키 ‘{name}’ (한 번만 보여 드립니다. 지금 보관하세요)",
        "en": "{role} key ‘{name}’ (shown once; store it now)",
    },
    "cli.key_revoked": {"ko": "폐기함", "en": "revoked"},
    # tables' titles
    "cli.title.event": {"ko": "행사", "en": "event"},
    "cli.title.gate": {"ko": "게이트", "en": "gate"},
    "cli.title.import": {"ko": "가져오기", "en": "import"},
    # columns and rows of the tables (the JSON keys they show)
    "cli.column.id": {"ko": "ID", "en": "id"},
    "cli.column.name": {"ko": "이름", "en": "name"},
    "cli.column.role": {"ko": "역할", "en": "role"},
    "cli.column.event": {"ko": "행사", "en": "event"},
    "cli.column.event_id": {"ko": "행사 ID", "en": "event id"},
    "cli.column.gate": {"ko": "게이트", "en": "gate"},
    "cli.column.created": {"ko": "만든 시각", "en": "created"},
    "cli.column.created_at": {"ko": "만든 시각", "en": "created"},
    "cli.column.updated_at": {"ko": "바뀐 시각", "en": "updated"},
    "cli.column.revoked": {"ko": "폐기 시각", "en": "revoked"},
    "cli.column.status": {"ko": "상태", "en": "status"},
    "cli.column.state": {"ko": "상태", "en": "state"},
    "cli.column.starts_at": {"ko": "시작", "en": "starts"},
    "cli.column.ends_at": {"ko": "종료", "en": "ends"},
    "cli.column.timezone": {"ko": "시간대", "en": "timezone"},
    "cli.column.venue": {"ko": "장소", "en": "venue"},
    "cli.column.capacity": {"ko": "정원", "en": "capacity"},
    "cli.column.min_age": {"ko": "최소 연령(만)", "en": "minimum age"},
    "cli.column.locale": {"ko": "언어", "en": "language"},
    "cli.column.dedup_by_phone": {"ko": "전화번호로 중복 확인", "en": "dedup by phone"},
    "cli.column.allow_reentry": {"ko": "재입장 허용", "en": "re-entry allowed"},
    "cli.column.direction": {"ko": "방향", "en": "direction"},
    "cli.column.methods": {"ko": "확인 방식", "en": "methods"},
    "cli.column.opens_at": {"ko": "여는 시각", "en": "opens"},
    "cli.column.closes_at": {"ko": "닫는 시각", "en": "closes"},
    "cli.column.location": {"ko": "위치", "en": "location"},
    "cli.column.system": {"ko": "시스템", "en": "system"},
    "cli.column.url": {"ko": "URL", "en": "url"},
    "cli.column.enabled": {"ko": "사용", "en": "enabled"},
    "cli.column.disabled_reason": {"ko": "꺼진 이유", "en": "disabled reason"},
    "cli.column.type": {"ko": "메시지 종류", "en": "type"},
    "cli.column.attempts": {"ko": "시도", "en": "attempts"},
    "cli.column.last_error": {"ko": "마지막 응답 / 오류", "en": "last status / error"},
    "cli.column.error": {"ko": "오류", "en": "error"},
    "cli.column.kind": {"ko": "종류", "en": "kind"},
    "cli.column.resource": {"ko": "대상", "en": "resource"},
    "cli.column.step": {"ko": "단계", "en": "step"},
    "cli.column.delivery": {"ko": "전송", "en": "delivery"},
    "cli.column.message": {"ko": "메시지", "en": "message"},
    "cli.column.handler": {"ko": "처리기", "en": "handler"},
    "cli.column.last_failed": {"ko": "마지막 실패", "en": "last failed"},
    "cli.column.consumer": {"ko": "소비자", "en": "consumer"},
    "cli.column.position": {"ko": "위치", "en": "position"},
    "cli.column.handled": {"ko": "처리함", "en": "handled"},
    "cli.column.behind": {"ko": "밀림", "en": "behind"},
    "cli.column.pending": {"ko": "대기", "en": "pending"},
    "cli.column.done": {"ko": "완료", "en": "done"},
    "cli.column.dead": {"ko": "포기", "en": "dead"},
    "cli.column.participants": {"ko": "참가자", "en": "participants"},
    "cli.column.scans": {"ko": "스캔", "en": "scans"},
    "cli.column.staff_key": {"ko": "스태프 키", "en": "staff key"},
    "cli.column.gate_key": {"ko": "게이트 키", "en": "gate key"},
    "cli.column.dashboard": {"ko": "대시보드", "en": "dashboard"},
    "cli.column.registration": {"ko": "신청 페이지", "en": "registration"},
    "cli.column.scanner": {"ko": "스캐너", "en": "scanner"},
    "cli.column.ticket_example": {"ko": "입장권 예시", "en": "ticket example"},
    # the import summary (``turnout import``)
    "cli.import.total": {"ko": "전체 행", "en": "total"},
    "cli.import.created": {"ko": "새로 저장", "en": "created"},
    "cli.import.updated": {"ko": "갱신", "en": "updated"},
    "cli.import.duplicates": {"ko": "중복", "en": "duplicates"},
    "cli.import.invalid": {"ko": "오류", "en": "invalid"},
    "cli.import.rows": {"ko": "{rows}행", "en": "{rows} rows"},
    "cli.import.not_saved": {
        "ko": "{count}개 행을 저장하지 않았습니다 (--errors 파일.csv로 목록을 받을 수 있습니다)",
        "en": "{count} rows not saved (use --errors FILE.csv for the list)",
    },
    "cli.import.not_saved_listed": {
        "ko": "{count}개 행을 저장하지 않았습니다 -> {path}",
        "en": "{count} rows not saved -> {path}",
    },
    # ``turnout messages``
    "cli.messages.summary": {
        "ko": "아웃박스: 메시지 {messages}개 (최신 순번 {newest}), 밀림 {lag}, 대기 {pending}, 포기 {dead}",
        "en": "outbox: {messages} messages (newest seq {newest}); lag {lag}; pending {pending}; dead {dead}",
    },
    "cli.messages.not_subscribed": {"ko": "{consumer} (구독 안 함)", "en": "{consumer} (not subscribed)"},
    "cli.messages.replayed": {
        "ko": "전송 {count}건을 다시 시도합니다",
        "en": "{count} deliveries will be retried",
    },
    # ``turnout secrets rotate``
    "cli.secrets.short_key": {
        "ko": "--new-key는 32자 이상이어야 합니다",
        "en": "--new-key must be at least 32 characters",
    },
    "cli.secrets.give_old_key": {
        "ko": "(또는 --old-key로 지금 키를 주세요)",
        "en": "(or give the current key with --old-key)",
    },
    "cli.secrets.new_key": {
        "ko": "새 키 (한 번만 보여 드립니다): {key}",
        "en": "New key (shown once): {key}",
    },
    "cli.secrets.sessions_end": {
        "ko": "이전 키로 서명된 웹 세션은 끝납니다: 다시 로그인해야 합니다.",
        "en": "Web sessions signed with the old key end: people sign in again.",
    },
    "cli.secrets.resealed": {
        "ko": "입장권 서명 키 {ticket_keys}개와 연동 비밀 {integration_secrets}개를 다시 봉인했습니다"
        " ({already_new}개는 이미 새 키로 봉인되어 있었습니다).",
        "en": "Resealed {ticket_keys} ticket signing keys and {integration_secrets} integration secrets"
        " ({already_new} were under the new key already).",
    },
    "cli.secrets.step_file": {
        "ko": "{path}에 새 키가 있습니다: Turnout의 모든 프로세스를 다시 시작하세요.",
        "en": "{path} holds the new key: restart Turnout (every process).",
    },
    "cli.secrets.step_env": {
        "ko": "모든 서버에서 `TURNOUT_SECRET_KEY`를 새 키로 바꾼 뒤 모든 프로세스를 다시 시작하세요.",
        "en": "Set TURNOUT_SECRET_KEY to the new key on every machine, then restart every process.",
    },
    # ``turnout demo``
    "cli.demo.title": {
        "ko": "Turnout 데모 (키는 한 번만 보여 드립니다)",
        "en": "Turnout demo (keys are shown once)",
    },
}
