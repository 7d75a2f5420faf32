"""Integrations: configuring the external systems an event talks to (errors and console page)."""

CATALOG: dict[str, dict[str, str]] = {
    "integration_system_not_found": {
        "ko": "알 수 없는 외부 시스템입니다: '{system}' "
        "(gate-management, analytics-platform, attendee-app, alerts 중 하나).",
        "en": "Unknown system '{system}' (one of gate-management, analytics-platform, attendee-app, alerts).",
    },
    "integration_not_found": {
        "ko": "이 행사에는 '{system}' 연동이 설정되어 있지 않습니다.",
        "en": "This event has no '{system}' integration.",
    },
    # field-level codes
    "invalid_url": {
        "ko": "전송할 수 없는 URL입니다 ({reason}): 호스트가 있는 http 또는 https 주소여야 합니다.",
        "en": "This URL cannot receive deliveries ({reason}): it must be http or https with a host.",
    },
    "private_address": {
        "ko": "'{host}'은(는) 공개 주소가 아닙니다 ({kind}): "
        "내부망, 루프백, 링크 로컬, 메타데이터 주소로는 보낼 수 없습니다.",
        "en": "'{host}' is not a public address ({kind}): deliveries never go to loopback, private, "
        "link-local or metadata addresses.",
    },
    "invalid_secret": {
        "ko": "Standard Webhooks 비밀 키가 아닙니다 ({reason}): "
        "'whsec_' 뒤에 24~64바이트의 base64가 와야 합니다.",
        "en": "Not a Standard Webhooks secret ({reason}): 'whsec_' followed by base64 of 24 to 64 bytes.",
    },
    "required": {"ko": "필수 항목입니다.", "en": "This field is required."},
    # the console page
    "web.integrations": {"ko": "외부 연동", "en": "Integrations"},
    "web.integrations.none": {
        "ko": "설정된 연동이 없습니다. "
        "API(PUT …/integrations/SYSTEM) 또는 'turnout integrations set'으로 설정하세요.",
        "en": "No integrations yet. "
        "Set one with the API (PUT …/integrations/SYSTEM) or 'turnout integrations set'.",
    },
    "web.integrations.system": {"ko": "시스템", "en": "System"},
    "web.integrations.url": {"ko": "URL", "en": "URL"},
    "web.integrations.enabled": {"ko": "사용", "en": "Enabled"},
    "web.integrations.on": {"ko": "사용 중", "en": "On"},
    "web.integrations.off": {"ko": "꺼짐", "en": "Off"},
    "web.integrations.not_set": {"ko": "설정 안 됨", "en": "Not set"},
    "web.integrations.disabled_reason": {"ko": "꺼진 이유", "en": "Why it is off"},
    "web.integrations.updated": {"ko": "변경 시각", "en": "Updated"},
    "web.integrations.system.gate-management": {"ko": "게이트 관리 시스템", "en": "Gate management"},
    "web.integrations.system.analytics-platform": {"ko": "분석 플랫폼", "en": "Analytics platform"},
    "web.integrations.system.attendee-app": {"ko": "참가자 앱", "en": "Attendee app"},
    "web.integrations.system.alerts": {"ko": "운영 알림", "en": "Operator alerts"},
}
