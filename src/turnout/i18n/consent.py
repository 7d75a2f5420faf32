"""Consent: refusals for a missing consent (registration and import), the consent inputs of the
registration form, and the export's consent columns."""

CATALOG: dict[str, dict[str, str]] = {
    # refusals
    "consent_required": {
        "ko": "개인정보 수집·이용에 대한 필수 동의가 필요합니다. 안내를 읽고 필수 항목에 동의해 주십시오.",
        "en": "Consent to the collection and use of the required personal information is needed. "
        "Please read the notice and agree to the required items.",
    },
    "guardian_consent_required": {
        "ko": "만 {age}세 미만은 법정대리인(보호자)의 동의가 필요합니다. 보호자 이름, 연락처와 동의를 "
        "입력해 주십시오.",
        "en": "A participant under {age} needs a legal guardian's consent: give the guardian's name, "
        "contact and consent.",
    },
    "consent_missing": {
        "ko": "파일에 개인정보 동의 열이 없습니다. '개인정보 동의' 열(값: 동의/미동의)을 추가하거나, "
        "올릴 때 참가자의 동의를 다른 곳에서 받았음을 확인해 주십시오.",
        "en": "The file has no consent column. Add a 'consent' column (e.g. Y/N), or confirm that "
        "consent was collected elsewhere (API: consent_basis=collected_elsewhere, command line: "
        "--consent-collected-elsewhere).",
    },
    "invalid_consent_basis": {
        "ko": "동의 근거는 '다른 곳에서 받은 동의'만 지정할 수 있습니다.",
        "en": "The consent basis can only be collected_elsewhere.",
    },
    # the registration form's consent block
    "consent.heading": {"ko": "개인정보 수집·이용 동의", "en": "Consent to the use of personal information"},
    "consent.notice_link": {"ko": "개인정보 처리 안내 전문 보기", "en": "Read the full privacy notice"},
    "consent.required_label": {
        "ko": "[필수] 이름, 이메일{birth}의 수집·이용에 동의합니다.",
        "en": "[Required] I agree to the collection and use of my name, email{birth}.",
    },
    "consent.required_birth": {"ko": ", 생년월일", "en": " and birth date"},
    "consent.optional_label": {
        "ko": "[선택] 선택 항목(전화번호, 지역, 소속, 성별 등)의 수집·이용에 동의합니다. 동의하지 않으면 "
        "선택 항목은 저장하지 않습니다.",
        "en": "[Optional] I agree to the collection and use of the optional items (phone, region, "
        "organization, gender ...). Without it they are not stored.",
    },
    "consent.marketing_label": {
        "ko": "[선택] 행사 소식과 마케팅 정보 수신에 동의합니다.",
        "en": "[Optional] I agree to receive news and marketing about events.",
    },
    "consent.refuse_note": {
        "ko": "동의를 거부할 수 있으며, 필수 항목에 동의하지 않으면 신청할 수 없습니다.",
        "en": "You may refuse; without the required consent you cannot register.",
    },
    "consent.guardian_heading": {
        "ko": "만 14세 미만 참가자의 법정대리인(보호자) 동의",
        "en": "Legal guardian's consent (participants under 14)",
    },
    "consent.guardian_name": {"ko": "보호자 이름", "en": "Guardian's name"},
    "consent.guardian_contact": {"ko": "보호자 연락처", "en": "Guardian's contact"},
    "consent.guardian_consent": {
        "ko": "보호자로서 위 개인정보 수집·이용에 동의합니다.",
        "en": "As the legal guardian, I agree to the collection and use above.",
    },
    # the export's consent columns
    "consent.col_required": {"ko": "필수 항목 동의", "en": "Consent to the required items"},
    "consent.col_guardian": {"ko": "법정대리인 동의", "en": "Legal guardian's consent"},
    "consent.col_channel": {"ko": "동의 경로", "en": "Consent channel"},
    "consent.col_basis": {"ko": "동의 근거", "en": "Consent basis"},
    "consent.col_optional": {"ko": "선택 동의", "en": "Optional consent"},
    "consent.col_marketing": {"ko": "마케팅 동의", "en": "Marketing consent"},
    "consent.col_given_at": {"ko": "동의 일시", "en": "Consent given at"},
    "consent.col_notice_version": {"ko": "안내 버전", "en": "Notice version"},
    "consent.channel_form": {"ko": "신청 페이지", "en": "Registration page"},
    "consent.channel_api": {"ko": "외부 프로그램으로 신청", "en": "Registration API"},
    "consent.channel_staff": {"ko": "스태프 등록", "en": "Staff"},
    "consent.channel_import": {"ko": "파일 가져오기", "en": "File import"},
    "consent.channel_transfer": {"ko": "입장권 양도", "en": "Ticket transfer"},
    "consent.basis_consent": {"ko": "본인 동의", "en": "Own consent"},
    "consent.basis_collected_elsewhere": {
        "ko": "다른 곳에서 받은 동의 (주최자 확인)",
        "en": "Collected elsewhere (confirmed by the organiser)",
    },
    "consent.yes": {"ko": "예", "en": "Yes"},
    "consent.no": {"ko": "아니오", "en": "No"},
}
