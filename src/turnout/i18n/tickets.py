CATALOG: dict[str, dict[str, str]] = {
    "malformed_token": {"ko": "티켓 코드를 읽을 수 없습니다.", "en": "The ticket code cannot be read."},
    "invalid_signature": {"ko": "위조되었거나 변조된 티켓입니다.", "en": "Forged or altered ticket."},
    "wrong_event": {"ko": "다른 행사의 티켓입니다.", "en": "This ticket is for another event."},
    "unknown_token": {"ko": "등록되지 않은 티켓입니다.", "en": "Unknown ticket."},
    "revoked": {"ko": "취소되었거나 재발급된 티켓입니다.", "en": "This ticket was revoked or reissued."},
}
