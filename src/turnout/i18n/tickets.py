CATALOG: dict[str, dict[str, str]] = {
    "malformed_token": {"ko": "티켓 코드를 읽을 수 없습니다.", "en": "The ticket code cannot be read."},
    "invalid_signature": {"ko": "위조되었거나 변조된 티켓입니다.", "en": "Forged or altered ticket."},
    "wrong_event": {"ko": "다른 행사의 티켓입니다.", "en": "This ticket is for another event."},
    "unknown_token": {"ko": "등록되지 않은 티켓입니다.", "en": "Unknown ticket."},
    "revoked": {"ko": "취소되었거나 재발급된 티켓입니다.", "en": "This ticket was revoked or reissued."},
    "template_error": {
        "ko": "템플릿을 렌더링할 수 없습니다: {error}",
        "en": "The template does not render: {error}",
    },
    # ticket page
    "ticket_title": {"ko": "입장 티켓", "en": "Ticket"},
    "ticket_status_valid": {"ko": "유효한 티켓", "en": "Valid ticket"},
    "ticket_status_checked_in": {"ko": "입장 완료", "en": "Checked in"},
    "ticket_status_cancelled": {"ko": "취소된 티켓", "en": "Cancelled"},
    "ticket_status_replaced": {
        "ko": "재발급되어 더 이상 쓸 수 없는 티켓입니다. 최신 메일의 티켓을 사용하세요.",
        "en": "This ticket was replaced by a newer one: use the ticket from your latest email.",
    },
    "ticket_show_qr": {
        "ko": "입장할 때 이 QR 코드를 보여 주세요.",
        "en": "Show this QR code at the entrance.",
    },
    "ticket_when": {"ko": "일시", "en": "When"},
    "ticket_where": {"ko": "장소", "en": "Where"},
    "ticket_holder": {"ko": "참가자", "en": "Name"},
    "ticket_not_found": {
        "ko": "이 티켓을 찾을 수 없습니다. 링크를 다시 확인해 주세요.",
        "en": "This ticket cannot be found. Please check the link.",
    },
    "ticket_download_png": {"ko": "QR 이미지 저장", "en": "Save QR image"},
}
