"""Korean and English messages for sagas (ticket transfer, cancellation, closing) and alerts."""

CATALOG: dict[str, dict[str, str]] = {
    "ticket_used": {
        "ko": "이미 입장에 사용된 입장권은 양도할 수 없습니다.",
        "en": "A ticket that was used at a gate cannot be transferred.",
    },
    "saga_in_progress": {
        "ko": "이 참가자에 대한 다른 작업이 진행 중입니다. 잠시 후 다시 시도해 주십시오.",
        "en": "Another saga is working on this participant. Try again shortly.",
    },
    "saga_not_found": {"ko": "작업을 찾을 수 없습니다.", "en": "Saga not found."},
    "saga_finished": {
        "ko": "이미 끝난 작업입니다 (상태: {state}).",
        "en": "This saga has finished already (state: {state}).",
    },
    "alert_not_found": {"ko": "알림을 찾을 수 없습니다.", "en": "Alert not found."},
    "alert_acknowledged": {"ko": "이미 확인된 알림입니다.", "en": "This alert was acknowledged already."},
    "event_closing": {
        "ko": "행사를 마감하는 중입니다.",
        "en": "The event is being closed.",
    },
}
