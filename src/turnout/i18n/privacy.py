"""Korean and English messages for personal data: the participant's data page, erasure requests and
the organiser's decisions."""

CATALOG: dict[str, dict[str, str]] = {
    # refusals
    "erasure_request_not_found": {
        "ko": "삭제 요청을 찾을 수 없습니다.",
        "en": "Erasure request not found.",
    },
    "erasure_request_decided": {
        "ko": "이미 처리된 삭제 요청입니다 (상태: {status}). 다시 승인하거나 거절할 수 없습니다.",
        "en": "This erasure request was decided already (status: {status}); it cannot be decided again.",
    },
    # the console's alerts
    "web.alerts.code.erasure_requested": {"ko": "개인정보 삭제 요청", "en": "Erasure request"},
    # the participant's data page
    "data.title": {"ko": "내 개인정보", "en": "My personal data"},
    "data.intro": {
        "ko": "{event}에 등록하면서 Turnout이 보관하고 있는 회원님의 정보입니다.",
        "en": "This is what Turnout holds about you for {event}.",
    },
    "data.link": {"ko": "내 개인정보 보기 및 삭제 요청", "en": "See my personal data or ask for its erasure"},
    "data.back": {"ko": "입장권으로 돌아가기", "en": "Back to my ticket"},
    "data.personal": {"ko": "개인정보", "en": "Personal details"},
    "data.field.name": {"ko": "이름", "en": "Name"},
    "data.field.email": {"ko": "이메일", "en": "Email"},
    "data.field.phone": {"ko": "전화번호", "en": "Phone"},
    "data.field.birth_date": {"ko": "생년월일", "en": "Birth date"},
    "data.field.region": {"ko": "지역", "en": "Region"},
    "data.field.organization": {"ko": "소속", "en": "Organisation"},
    "data.field.gender": {"ko": "성별", "en": "Gender"},
    "data.field.locale": {"ko": "언어", "en": "Language"},
    "data.field.registered_at": {"ko": "신청 일시", "en": "Registered at"},
    "data.custom": {"ko": "추가 항목", "en": "Other answers"},
    "data.none": {"ko": "없음", "en": "None"},
    "data.ticket": {"ko": "입장권", "en": "Ticket"},
    "data.ticket_status": {"ko": "입장권 상태", "en": "Ticket status"},
    "data.scans": {"ko": "입장 기록", "en": "Gate scans"},
    "data.scans.none": {"ko": "입장 기록이 없습니다.", "en": "No scans."},
    "data.scan.when": {"ko": "일시", "en": "When"},
    "data.scan.gate": {"ko": "게이트", "en": "Gate"},
    "data.scan.direction": {"ko": "입장/퇴장", "en": "In/out"},
    "data.scan.outcome": {"ko": "결과", "en": "Outcome"},
    "data.direction.in": {"ko": "입장", "en": "In"},
    "data.direction.out": {"ko": "퇴장", "en": "Out"},
    "data.result.admitted": {"ko": "입장 허용", "en": "Admitted"},
    "data.result.exited": {"ko": "퇴장", "en": "Exited"},
    "data.result.denied": {"ko": "거부", "en": "Refused"},
    "data.emails": {"ko": "보낸 메일", "en": "Emails sent to you"},
    "data.emails.none": {"ko": "보낸 메일이 없습니다.", "en": "No emails."},
    "data.email.kind": {"ko": "종류", "en": "Kind"},
    "data.email.status": {"ko": "상태", "en": "Status"},
    "data.email.when": {"ko": "일시", "en": "When"},
    "data.email_kind.ticket": {"ko": "입장권", "en": "Ticket"},
    "data.email_kind.transferred": {"ko": "양도 안내", "en": "Transfer notice"},
    "data.email_kind.cancelled": {"ko": "취소 안내", "en": "Cancellation notice"},
    "data.email_status.queued": {"ko": "발송 대기", "en": "Queued"},
    "data.email_status.sending": {"ko": "발송 중", "en": "Sending"},
    "data.email_status.sent": {"ko": "발송 완료", "en": "Sent"},
    "data.email_status.failed": {"ko": "발송 실패 (재시도 예정)", "en": "Failed (to be retried)"},
    "data.email_status.dead": {"ko": "발송 안 함", "en": "Not sent"},
    "data.consent": {"ko": "동의 기록", "en": "Consent record"},
    "data.consent.none": {"ko": "동의 기록 없음", "en": "No consent record"},
    "data.erasure": {"ko": "개인정보 삭제 요청", "en": "Ask for erasure"},
    "data.erasure.help": {
        "ko": "삭제를 요청하면 행사 주최자가 검토합니다. 승인되면 신청이 취소되고 입장권을 더 이상 쓸 수 "
        "없으며, 위의 개인정보가 삭제됩니다. 통계에는 개인을 알아볼 수 없는 수치만 남습니다.",
        "en": "The organiser reviews your request. Once approved, your registration is cancelled, the "
        "ticket no longer admits you, and the personal data above is erased; only figures that name "
        "no one stay in the statistics.",
    },
    "data.erasure.reason": {
        "ko": "사유 (선택, {limit}자 이내)",
        "en": "Reason (optional, up to {limit} characters)",
    },
    "data.erasure.submit": {"ko": "삭제 요청하기", "en": "Ask for erasure"},
    "data.erasure.received": {
        "ko": "삭제 요청을 접수했습니다 ({when}). 행사 주최자가 검토한 뒤 처리합니다.",
        "en": "Your erasure request was received ({when}). The organiser will review it.",
    },
    "data.erasure.too_long": {
        "ko": "사유는 {limit}자 이내로 적어 주십시오.",
        "en": "Please keep the reason to {limit} characters.",
    },
}
