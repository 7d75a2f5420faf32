"""The console's words: mail pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {
    # refusals
    "email_not_found": {"ko": "그 메일을 찾을 수 없습니다.", "en": "That email was not found."},
    "email_not_retriable": {
        "ko": "발송 실패했거나 발송 불가인 메일만 다시 보낼 수 있습니다 (지금 상태: {email_status}).",
        "en": "Only a failed or undeliverable email can be sent again (it is {email_status}).",
    },
    # the mail page
    "mail.title": {"ko": "메일", "en": "Mail"},
    "mail.status": {"ko": "발송 현황", "en": "Sending status"},
    "mail.log_link": {"ko": "발송 메일 전체 보기", "en": "See every sent mail"},
    "mail.failed": {"ko": "발송 실패한 메일", "en": "Failed mails"},
    "mail.failed.none": {"ko": "발송 실패한 메일이 없습니다.", "en": "No failed mails."},
    "mail.retry": {"ko": "다시 발송", "en": "Send again"},
    "mail.editor": {"ko": "메일 템플릿", "en": "Mail template"},
    "mail.kind": {"ko": "메일 종류", "en": "Kind of mail"},
    "mail.kind.ticket": {"ko": "입장권 메일", "en": "Ticket email"},
    "mail.kind.transferred": {"ko": "양도 안내", "en": "Transfer notice"},
    "mail.kind.cancelled": {"ko": "취소 안내", "en": "Cancellation notice"},
    "mail.language": {"ko": "언어", "en": "Language"},
    "mail.locale.ko": {"ko": "한국어", "en": "Korean"},
    "mail.locale.en": {"ko": "영어", "en": "English"},
    "mail.overridden": {
        "ko": "이 행사에 맞게 고친 템플릿입니다 ({time}, {by}).",
        "en": "This event's own template (changed {time} by {by}).",
    },
    "mail.builtin": {"ko": "기본 템플릿입니다.", "en": "The built-in template."},
    "mail.part.subject": {"ko": "제목", "en": "Subject"},
    "mail.part.html": {"ko": "서식 있는 본문", "en": "Body (HTML)"},
    "mail.part.text": {"ko": "일반 텍스트 본문", "en": "Body (plain text)"},
    "mail.variables": {"ko": "쓸 수 있는 변수:", "en": "Variables you can use:"},
    "mail.save": {"ko": "저장", "en": "Save"},
    "mail.reset": {"ko": "기본 템플릿으로 되돌리기", "en": "Back to the built-in template"},
    "mail.preview": {"ko": "미리 보기", "en": "Preview"},
    "mail.preview.button": {"ko": "미리 보기", "en": "Preview"},
    "mail.preview.sample": {
        "ko": "예시 참가자로 만든 메일입니다. 아직 저장되지 않았습니다.",
        "en": "Made with a sample participant; not saved yet.",
    },
    "mail.notice.saved": {"ko": "템플릿을 저장했습니다.", "en": "The template was saved."},
    "mail.notice.reset": {"ko": "기본 템플릿으로 되돌렸습니다.", "en": "Back to the built-in template."},
    "mail.notice.retried": {
        "ko": "메일을 다시 발송 대기열에 넣었습니다.",
        "en": "The email was queued to be sent again.",
    },
}
