CATALOG: dict[str, dict[str, str]] = {
    "error": {"ko": "요청을 처리하지 못했습니다.", "en": "The request could not be processed."},
    "internal_error": {"ko": "서버 내부 오류가 발생했습니다.", "en": "Internal server error."},
    "not_found": {"ko": "찾을 수 없습니다.", "en": "Not found."},
    "event_not_found": {"ko": "행사를 찾을 수 없습니다.", "en": "Event not found."},
    "gate_not_found": {"ko": "게이트를 찾을 수 없습니다.", "en": "Gate not found."},
    "participant_not_found": {"ko": "참가자를 찾을 수 없습니다.", "en": "Participant not found."},
    "conflict": {"ko": "현재 상태와 충돌합니다.", "en": "Conflicts with the current state."},
    "event_not_closed": {
        "ko": "종료된 행사의 개인정보만 삭제할 수 있습니다 (현재 상태: {status}).",
        "en": "Only a closed event's personal data can be erased (the event is {status}).",
    },
    "invalid_transition": {
        "ko": "행사 상태를 ‘{current}’에서 ‘{target}’ 상태로 바꿀 수 없습니다. "
        "지금 바꿀 수 있는 상태: {allowed}.",
        "en": "The event cannot go from ‘{current}’ to ‘{target}’. It can go to: {allowed}.",
        "ko_plain": "행사 상태를 지금 상태에서 그 상태로 바꿀 수 없습니다.",
        "en_plain": "The event cannot go to that status from the one it is in.",
    },
    "validation_failed": {"ko": "입력값을 확인해 주세요.", "en": "Some fields are invalid."},
    "unauthenticated": {
        "ko": "API 키가 없거나 올바르지 않습니다.",
        "en": "A valid API key is required.",
    },
    "forbidden": {"ko": "이 작업을 할 권한이 없습니다.", "en": "This key may not do that."},
    "csrf_failed": {
        "ko": "보안 토큰이 없거나 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.",
        "en": "The security token is missing or wrong; reload the page and try again.",
    },
    "origin_refused": {
        "ko": "다른 사이트에서 보낸 요청은 받지 않습니다.",
        "en": "Requests sent from another site are refused.",
    },
    "http_method_not_allowed": {"ko": "허용되지 않는 HTTP 메서드입니다.", "en": "HTTP method not allowed."},
    "payload_too_large": {
        "ko": "요청이 너무 큽니다 (최대 {max_mb} MB).",
        "en": "The request is too large (at most {max_mb} MB).",
        "ko_plain": "요청이 너무 큽니다.",
        "en_plain": "The request is too large.",
    },
    "rate_limited": {
        "ko": "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
        "en": "Too many requests; please try again shortly.",
    },
    # secrets (turnout secrets rotate)
    "secret_key_unchanged": {
        "ko": "새 키가 지금 키와 같습니다. 다른 키를 주거나 --new-key 없이 실행해 새 키를 만드세요.",
        "en": "The new key is the current key; give another one, or leave out --new-key to generate one.",
    },
    "secret_key_mismatch": {
        "ko": "봉인된 비밀 {count}개(처음: {first})가 이전 키로도 새 키로도 열리지 않습니다."
        " 이전 키가 맞는지 확인하세요 (--old-key). 아무것도 바꾸지 않았습니다.",
        "en": "{count} sealed secrets (first: {first}) open under neither the old nor the new key;"
        " check the old key (--old-key). Nothing was changed.",
    },
    # starting without a usable secret key (``config.SecretKeyRequired``)
    "secret_key_required": {
        "ko": "PostgreSQL을 쓸 때는 TURNOUT_SECRET_KEY를 설정해야 합니다. 배포의 모든 서버가 같은 키를 씁니다"
        " (만들기: `python -c 'import secrets; print(secrets.token_urlsafe(48))'`).",
        "en": "TURNOUT_SECRET_KEY must be set with PostgreSQL: every machine of the deployment needs"
        " the same key (generate one with: `python -c 'import secrets; print(secrets.token_urlsafe(48))'`).",
    },
    "secret_key_file_empty": {
        "ko": "{path} 파일이 비어 있습니다. 키를 되살리거나 TURNOUT_SECRET_KEY를 설정하세요.",
        "en": "{path} is empty: restore the key or set TURNOUT_SECRET_KEY.",
    },
    # field-level codes
    "invalid_json": {"ko": "JSON 형식이 올바르지 않습니다.", "en": "The body is not valid JSON."},
    "missing_field": {"ko": "필수 항목입니다.", "en": "This field is required."},
    "unknown_field": {"ko": "알 수 없는 항목입니다.", "en": "Unknown field."},
    "invalid_type": {"ko": "값의 형식이 올바르지 않습니다.", "en": "The value has the wrong type or format."},
    "invalid_value": {"ko": "허용되지 않는 값입니다.", "en": "The value is not allowed."},
    "too_short": {
        "ko": "너무 짧습니다. {min}{unit} 이상 입력해 주세요.",
        "en": "Too short: at least {min} {unit}.",
        "ko_plain": "너무 짧습니다.",
        "en_plain": "Too short.",
    },
    "too_long": {
        "ko": "너무 깁니다. {max}{unit} 이하로 입력해 주세요.",
        "en": "Too long: at most {max} {unit}.",
        "ko_plain": "너무 깁니다.",
        "en_plain": "Too long.",
    },
    "too_small": {
        "ko": "값이 너무 작습니다. {min} 이상이어야 합니다.",
        "en": "The value is too small: it must be at least {min}.",
        "ko_plain": "값이 너무 작습니다.",
        "en_plain": "The value is too small.",
    },
    "too_large": {
        "ko": "값이 너무 큽니다. {max} 이하여야 합니다.",
        "en": "The value is too large: it must be at most {max}.",
        "ko_plain": "값이 너무 큽니다.",
        "en_plain": "The value is too large.",
    },
    "too_deep": {"ko": "값이 너무 깊게 중첩되어 있습니다.", "en": "The value is nested too deeply."},
    "invalid_characters": {
        "ko": "제어 문자나 짝이 없는 서로게이트 등 허용되지 않는 문자가 있습니다.",
        "en": "Contains characters that are not allowed (control characters or unpaired surrogates).",
    },
    "invalid_datetime": {
        "ko": "날짜와 시간은 ISO 8601 형식이어야 합니다 (예: 2026-05-01T09:00:00+09:00).",
        "en": "Dates and times must be ISO 8601 (e.g. 2026-05-01T09:00:00+09:00).",
    },
    "naive_datetime": {"ko": "시간대가 필요합니다.", "en": "A timezone is required."},
    "invalid_timezone": {"ko": "알 수 없는 시간대입니다.", "en": "Unknown timezone."},
    "ends_before_start": {
        "ko": "종료 시각은 시작 시각보다 뒤여야 합니다.",
        "en": "The end must come after the start.",
    },
    "negative_capacity": {"ko": "정원은 0 이상이어야 합니다.", "en": "Capacity cannot be negative."},
    "invalid_min_age": {
        "ko": "최소 연령은 0에서 150 사이여야 합니다.",
        "en": "Minimum age must be 0 to 150.",
    },
    "invalid_locale": {
        "ko": "언어는 한국어(ko) 또는 영어(en)여야 합니다.",
        "en": "Locale must be ko or en.",
    },
    "no_methods": {"ko": "허용 방식을 하나 이상 지정해 주세요.", "en": "Allow at least one method."},
    "admin_key_unscoped": {
        "ko": "관리자 키는 행사나 게이트에 묶을 수 없습니다.",
        "en": "An admin key cannot be scoped to an event or gate.",
    },
    "key_needs_event": {
        "ko": "스태프와 게이트 키에는 행사가 필요합니다.",
        "en": "Staff and gate keys need an event.",
    },
    "key_needs_gate": {"ko": "게이트 키에는 게이트가 필요합니다.", "en": "A gate key needs a gate."},
    "staff_key_not_gate": {
        "ko": "스태프 키는 게이트에 묶을 수 없습니다.",
        "en": "A staff key cannot be scoped to a gate.",
    },
    "gate_wrong_event": {"ko": "이 행사의 게이트가 아닙니다.", "en": "The gate belongs to another event."},
    "invalid_cursor": {
        "ko": "목록의 다음 쪽 위치(cursor)가 올바르지 않습니다.",
        "en": "Invalid cursor.",
    },
    # --- values shown inside messages and on pages (see ENUM_PARAMS in turnout.i18n) -------------
    # event statuses (pages: use these, not web.status.*)
    "event_status.draft": {"ko": "준비 중", "en": "Draft"},
    "event_status.open": {"ko": "신청 접수 중", "en": "Open"},
    "event_status.live": {"ko": "진행 중", "en": "Live"},
    "event_status.closed": {"ko": "종료", "en": "Closed"},
    "event_status.archived": {"ko": "보관됨", "en": "Archived"},
    "event_status.cancelled": {"ko": "취소됨", "en": "Cancelled"},
    # key roles
    "role.admin": {"ko": "관리자", "en": "admin"},
    "role.staff": {"ko": "스태프", "en": "staff"},
    "role.gate": {"ko": "게이트", "en": "gate"},
    # participant fields (and import columns)
    "field.name": {"ko": "이름", "en": "name"},
    "field.email": {"ko": "이메일", "en": "email"},
    "field.phone": {"ko": "전화번호", "en": "phone"},
    "field.birth_date": {"ko": "생년월일", "en": "birth date"},
    "field.region": {"ko": "지역", "en": "region"},
    "field.organization": {"ko": "소속", "en": "organization"},
    "field.gender": {"ko": "성별", "en": "gender"},
    "field.locale": {"ko": "언어", "en": "language"},
    "field.custom_fields": {"ko": "추가 항목", "en": "custom fields"},
    "field.consents": {"ko": "동의", "en": "consents"},
    # scan methods and directions
    "method.qr": {"ko": "QR", "en": "QR"},
    "method.ble": {"ko": "BLE", "en": "BLE"},
    "method.manual": {"ko": "수동", "en": "manual"},
    "direction.in": {"ko": "입장", "en": "entry"},
    "direction.out": {"ko": "퇴장", "en": "exit"},
    "direction.both": {"ko": "입장·퇴장", "en": "entry and exit"},
    # a participant's ticket email (its latest email job; ``none`` before any)
    "email_status.none": {"ko": "발송 전", "en": "Not sent yet"},
    "email_status.queued": {"ko": "발송 대기", "en": "Queued"},
    "email_status.sending": {"ko": "발송 중", "en": "Sending"},
    "email_status.sent": {"ko": "발송 완료", "en": "Sent"},
    "email_status.failed": {"ko": "발송 실패(재시도 예정)", "en": "Failed (will retry)"},
    "email_status.dead": {"ko": "발송 불가", "en": "Undeliverable"},
    # participants: registration state and check-in state
    "participant_status.registered": {"ko": "신청 완료", "en": "Registered"},
    "participant_status.cancelled": {"ko": "취소됨", "en": "Cancelled"},
    "participant_status.transferring": {"ko": "양도 중", "en": "Being transferred"},
    "participant_status.pending_transfer": {"ko": "양도받는 중", "en": "Receiving a transfer"},
    "participant_status.transferred": {"ko": "양도됨", "en": "Transferred"},
    "check_in_status.not_checked_in": {"ko": "입장 전", "en": "Not checked in"},
    "check_in_status.inside": {"ko": "입장함", "en": "Inside"},
    "check_in_status.exited": {"ko": "퇴장함", "en": "Exited"},
    # scan results
    "scan_result.admitted": {"ko": "입장", "en": "Admitted"},
    "scan_result.exited": {"ko": "퇴장", "en": "Exited"},
    "scan_result.denied": {"ko": "거부", "en": "Denied"},
    # outbound deliveries and sagas
    "delivery_status.pending": {"ko": "대기", "en": "pending"},
    "delivery_status.sending": {"ko": "전송 중", "en": "sending"},
    "delivery_status.delivered": {"ko": "전송 완료", "en": "delivered"},
    "delivery_status.dead": {"ko": "실패 확정", "en": "dead"},
    "saga_state.running": {"ko": "진행 중", "en": "running"},
    "saga_state.compensating": {"ko": "되돌리는 중", "en": "compensating"},
    "saga_state.completed": {"ko": "완료", "en": "completed"},
    "saga_state.compensated": {"ko": "되돌림 완료", "en": "compensated"},
    "saga_state.failed": {"ko": "되돌리기 실패", "en": "failed"},
    # (in English the systems keep the names the API and the CLI take)
    "system.gate-management": {"ko": "게이트 관리 시스템", "en": "gate-management"},
    "system.analytics-platform": {"ko": "분석 플랫폼", "en": "analytics-platform"},
    "system.attendee-app": {"ko": "참가자 앱", "en": "attendee-app"},
    "system.alerts": {"ko": "운영 알림", "en": "alerts"},
    # units of the length limits (too_long / too_short)
    "unit.characters": {"ko": "자", "en": "characters"},
    "unit.items": {"ko": "개", "en": "items"},
    "list.none": {"ko": "없음", "en": "none"},
    # locales
    "locale.ko": {"ko": "한국어", "en": "Korean"},
    "locale.en": {"ko": "영어", "en": "English"},
}
