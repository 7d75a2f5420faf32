CATALOG: dict[str, dict[str, str]] = {
    "malformed_token": {"ko": "입장권 코드를 읽을 수 없습니다.", "en": "The ticket code cannot be read."},
    "invalid_signature": {"ko": "위조되었거나 변조된 입장권입니다.", "en": "Forged or altered ticket."},
    "wrong_event": {"ko": "다른 행사의 입장권입니다.", "en": "This ticket is for another event."},
    "unknown_token": {"ko": "발급 기록이 없는 입장권입니다.", "en": "Unknown ticket."},
    "revoked": {"ko": "취소되었거나 재발급된 입장권입니다.", "en": "This ticket was revoked or reissued."},
    "invalid_template": {
        "ko": "메일 템플릿을 저장할 수 없습니다: 렌더링되지 않거나 한도(시간, 크기)를 넘는 부분이 있습니다.",
        "en": "The mail template cannot be saved: a part does not render or is over the limits.",
    },
    "template_error": {
        "ko": "템플릿을 렌더링할 수 없습니다: {error}",
        "en": "The template does not render: {error}",
    },
    # our own reasons (the template engine's own explanations are shown as it gives them)
    "template_error.error.subject_empty": {"ko": "제목이 비어 있습니다", "en": "the subject is empty"},
    "template_error.error.subject_too_long": {
        "ko": "제목이 너무 깁니다 (최대 {max}자)",
        "en": "the subject is too long (at most {max} characters)",
    },
    # ticket page
    "ticket_title": {"ko": "입장권", "en": "Ticket"},
    "ticket_status_valid": {"ko": "유효한 입장권", "en": "Valid ticket"},
    "ticket_status_checked_in": {"ko": "입장 완료", "en": "Checked in"},
    "ticket_status_cancelled": {"ko": "취소된 입장권", "en": "Cancelled"},
    "ticket_status_replaced": {
        "ko": "재발급되어 더 이상 쓸 수 없는 입장권입니다. 가장 최근 메일의 입장권을 사용하세요.",
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
        "ko": "이 입장권을 찾을 수 없습니다. 링크를 다시 확인해 주세요.",
        "en": "This ticket cannot be found. Please check the link.",
    },
    "ticket_download_png": {"ko": "QR 이미지 저장", "en": "Save QR image"},
    # sent-mail list (console)
    "mail_log_title": {"ko": "발송 메일", "en": "Sent mail"},
    "mail_log_empty": {"ko": "아직 메일이 없습니다.", "en": "No mail yet."},
    "mail_log_time": {"ko": "시각", "en": "Time"},
    "mail_log_to": {"ko": "받는 사람", "en": "To"},
    "mail_log_subject": {"ko": "제목", "en": "Subject"},
    "mail_log_status": {"ko": "상태", "en": "Status"},
    "mail_log_attempts": {"ko": "시도", "en": "Attempts"},
    "mail_log_error": {"ko": "마지막 오류", "en": "Last error"},
    "mail_status_all": {"ko": "전체", "en": "All"},
    "mail_status_queued": {"ko": "발송 대기", "en": "Queued"},
    "mail_status_sending": {"ko": "발송 중", "en": "Sending"},
    "mail_status_sent": {"ko": "발송 완료", "en": "Sent"},
    "mail_status_failed": {"ko": "발송 실패(재시도 예정)", "en": "Failed (will retry)"},
    "mail_status_dead": {"ko": "발송 불가", "en": "Undeliverable"},
}
