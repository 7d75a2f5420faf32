"""Korean and English messages for the privacy notice: its refusals, the privacy page and the consent
block of the registration form (PIPA's headings: 수집·이용 목적, 수집 항목, 보유·이용 기간, …)."""

CATALOG: dict[str, dict[str, str]] = {
    # refusals of an organiser's notice (PUT /api/v1/events/{event_id}/privacy-notice)
    "notice_text_required": {
        "ko": "행사 언어({locale})로 된 문구가 필요합니다.",
        "en": "A text in the event's language ({locale}) is required.",
    },
    "unknown_item": {
        "ko": "알 수 없는 항목입니다: {item} (쓸 수 있는 항목: {known})",
        "en": "Unknown item: {item} (known items: {known})",
    },
    "duplicate_item": {"ko": "같은 항목이 두 번 있습니다: {item}", "en": "The item is listed twice: {item}"},
    "item_must_be_required": {
        "ko": "이 행사에서는 필수 항목이어야 합니다: {item}",
        "en": "This item must be required for this event: {item}",
    },
    "item_required_and_optional": {
        "ko": "필수 항목과 선택 항목에 함께 있습니다: {item}",
        "en": "The item is both required and optional: {item}",
    },
    "notice_changed": {
        "ko": "신청서를 여는 동안 개인정보 처리 안내가 바뀌었습니다. 바뀐 안내를 읽고 다시 동의해 주세요.",
        "en": "The privacy notice changed while the form was open; please read it and consent again.",
    },
    # item names as a notice lists them
    "notice.item_name": {"ko": "이름", "en": "Name"},
    "notice.item_email": {"ko": "이메일", "en": "Email"},
    "notice.item_phone": {"ko": "전화번호", "en": "Phone number"},
    "notice.item_birth_date": {"ko": "생년월일", "en": "Date of birth"},
    "notice.item_region": {"ko": "지역", "en": "Region"},
    "notice.item_organization": {"ko": "소속", "en": "Organisation"},
    "notice.item_gender": {"ko": "성별", "en": "Gender"},
    "notice.item_custom_fields": {"ko": "추가 항목", "en": "Additional answers"},
    "notice.item_ticket": {"ko": "입장권", "en": "Ticket"},
    "notice.item_check_in_status": {"ko": "입장 여부", "en": "Check-in status"},
    "notice.role_recipient": {"ko": "제3자 제공", "en": "Provided to a third party"},
    "notice.role_processor": {"ko": "처리 위탁", "en": "Processing entrusted"},
    # the privacy page
    "notice.page_title": {"ko": "개인정보 수집·이용 안내", "en": "Privacy notice"},
    "notice.intro": {
        "ko": "'{event}' 주최자는 참가 신청에 필요한 개인정보를 아래와 같이 수집·이용합니다.",
        "en": "The organiser of '{event}' collects and uses personal information for registration "
        "as follows.",
    },
    "notice.version_line": {
        "ko": "버전 {version} · {date}부터 적용",
        "en": "Version {version} · in force from {date}",
    },
    "notice.old_version": {
        "ko": "지난 버전을 보고 있습니다. 지금 적용되는 안내는 버전 {version}입니다.",
        "en": "This is an earlier version. The notice in force is version {version}.",
    },
    "notice.see_current": {"ko": "지금 적용되는 안내 보기", "en": "See the notice in force"},
    "notice.purpose": {"ko": "수집·이용 목적", "en": "Why we collect it"},
    "notice.items": {"ko": "수집 항목", "en": "What we collect"},
    "notice.required": {"ko": "필수", "en": "Required"},
    "notice.optional": {"ko": "선택", "en": "Optional"},
    "notice.none": {"ko": "없음", "en": "None"},
    "notice.retention": {"ko": "보유·이용 기간", "en": "How long we keep it"},
    "notice.retention_days": {
        "ko": "행사 종료 후 {days}일이 지나면 파기합니다.",
        "en": "It is destroyed {days} days after the event ends.",
    },
    "notice.recipients": {"ko": "제3자 제공 및 처리 위탁", "en": "Who else receives it"},
    "notice.no_recipients": {
        "ko": "개인정보를 제3자에게 제공하거나 처리를 위탁하지 않습니다.",
        "en": "Your personal information is not provided to anyone else, nor is its processing entrusted.",
    },
    "notice.recipient_name": {"ko": "받는 자", "en": "Who"},
    "notice.recipient_role": {"ko": "구분", "en": "Role"},
    "notice.recipient_purpose": {"ko": "목적", "en": "Purpose"},
    "notice.recipient_items": {"ko": "항목", "en": "Items"},
    "notice.marketing": {"ko": "마케팅 정보 수신 (선택)", "en": "Marketing messages (optional)"},
    "notice.refusal": {"ko": "동의를 거부할 권리 및 거부 시 불이익", "en": "Your right to refuse"},
    "notice.refusal_required": {
        "ko": "개인정보 수집·이용에 동의하지 않을 수 있습니다. "
        "다만 필수 항목에 동의하지 않으면 참가 신청을 할 수 없습니다.",
        "en": "You may refuse. If you refuse the required items, you cannot register.",
    },
    "notice.refusal_optional": {
        "ko": "선택 항목과 마케팅 정보 수신에 동의하지 않아도 참가 신청에 불이익이 없습니다. "
        "동의하지 않은 선택 항목은 저장하지 않습니다.",
        "en": "Refusing the optional items or marketing costs you nothing; "
        "optional items you do not consent to are not stored.",
    },
    "notice.children": {"ko": "만 14세 미만 아동", "en": "Children under 14"},
    "notice.children_text": {
        "ko": "만 14세 미만 아동의 개인정보는 법정대리인의 동의를 받아 수집합니다.",
        "en": "A child under 14 may register only with a legal guardian's consent.",
    },
    "notice.children_min_age": {
        "ko": "이 행사는 만 {age}세 이상만 신청할 수 있습니다.",
        "en": "This event is for people aged {age} or over.",
    },
    "notice.contact": {"ko": "개인정보 보호 담당자 연락처", "en": "Whom to ask"},
    "notice.history": {"ko": "변경 이력", "en": "Versions"},
    "notice.history_version": {"ko": "버전", "en": "Version"},
    "notice.history_date": {"ko": "적용일", "en": "In force from"},
    "notice.history_hash": {"ko": "해시값", "en": "Hash (SHA-256)"},
    "notice.history_current": {"ko": "현재", "en": "in force"},
    "notice.version_missing": {"ko": "해당 버전이 없습니다.", "en": "There is no such version."},
    # the consent block of the registration form
    "notice.consent_legend": {
        "ko": "개인정보 수집·이용 동의",
        "en": "Consent to the use of your personal information",
    },
    "notice.consent_summary": {
        "ko": "목적: {purpose} · 보유 기간: {retention}",
        "en": "Purpose: {purpose} · Kept: {retention}",
    },
    "notice.consent_full": {"ko": "개인정보 처리 안내 전문 보기", "en": "Read the full privacy notice"},
    "notice.consent_required": {
        "ko": "[필수] 필수 항목({items}) 수집·이용에 동의합니다.",
        "en": "[Required] I consent to the collection and use of the required items ({items}).",
    },
    "notice.consent_optional": {
        "ko": "[선택] 선택 항목({items}) 수집·이용에 동의합니다.",
        "en": "[Optional] I consent to the collection and use of the optional items ({items}).",
    },
    "notice.consent_marketing": {
        "ko": "[선택] 마케팅 정보 수신에 동의합니다: {purpose}",
        "en": "[Optional] I agree to receive marketing messages: {purpose}",
    },
    "notice.consent_recipients": {"ko": "제공·위탁: {recipients}", "en": "Also received by: {recipients}"},
    "notice.guardian_legend": {"ko": "법정대리인 동의 (만 14세 미만)", "en": "Guardian's consent (under 14)"},
    "notice.guardian_intro": {
        "ko": "신청자가 만 14세 미만이면 법정대리인(부모 등)의 이름과 연락처를 적고 동의해 주십시오.",
        "en": "If you are under 14, a legal guardian (a parent, for instance) gives their name and "
        "contact and consents.",
    },
    "notice.guardian_name": {"ko": "법정대리인 이름", "en": "Guardian's name"},
    "notice.guardian_contact": {
        "ko": "법정대리인 연락처 (전화번호 또는 이메일)",
        "en": "Guardian's phone or email",
    },
    "notice.guardian_consent": {
        "ko": "법정대리인으로서 위 개인정보 수집·이용에 동의합니다.",
        "en": "As the legal guardian, I consent to the use of this personal information.",
    },
}
