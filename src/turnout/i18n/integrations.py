"""Integrations: configuring the external systems an event talks to (errors and console page)."""

CATALOG: dict[str, dict[str, str]] = {
    "integration_system_not_found": {
        "ko": "알 수 없는 외부 시스템입니다: ‘{system}’ "
        "(gate-management, analytics-platform, attendee-app, alerts 중 하나).",
        "en": "Unknown system '{system}' (one of gate-management, analytics-platform, attendee-app, alerts).",
    },
    "integration_not_found": {
        "ko": "이 행사에는 ‘{system}’ 연동이 설정되어 있지 않습니다.",
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
        "ko": "웹훅 서명용 비밀 키(Standard Webhooks 형식)가 아닙니다 ({reason}): "
        "'whsec_' 뒤에 24~64바이트의 base64가 와야 합니다.",
        "en": "Not a Standard Webhooks secret ({reason}): 'whsec_' followed by base64 of 24 to 64 bytes.",
    },
    "required": {"ko": "필수 항목입니다.", "en": "This field is required."},
    # why (the ``reason`` and ``kind`` params above)
    "invalid_url.reason.too_long": {"ko": "주소가 너무 깁니다", "en": "too long"},
    "invalid_url.reason.characters": {"ko": "허용되지 않는 문자가 있습니다", "en": "characters not allowed"},
    "invalid_url.reason.malformed": {"ko": "주소 형식이 잘못되었습니다", "en": "malformed"},
    "invalid_url.reason.scheme": {"ko": "http나 https 주소가 아닙니다", "en": "not http or https"},
    "invalid_url.reason.host": {"ko": "호스트가 없습니다", "en": "no host"},
    "invalid_url.reason.credentials": {
        "ko": "주소에 사용자 이름이나 비밀번호를 넣을 수 없습니다",
        "en": "a user name or password in the address",
    },
    "invalid_url.reason.unresolvable": {
        "ko": "호스트 이름을 주소로 바꿀 수 없습니다(DNS)",
        "en": "the host name does not resolve (DNS)",
    },
    "invalid_secret.reason.prefix": {"ko": "whsec_로 시작하지 않습니다", "en": "no whsec_ prefix"},
    "invalid_secret.reason.base64": {"ko": "base64로 읽을 수 없습니다", "en": "not base64"},
    "invalid_secret.reason.length": {"ko": "길이가 맞지 않습니다", "en": "wrong length"},
    "private_address.kind.metadata": {"ko": "클라우드 메타데이터 주소", "en": "metadata"},
    "private_address.kind.unspecified": {"ko": "지정되지 않은 주소", "en": "unspecified"},
    "private_address.kind.loopback": {"ko": "루프백 주소", "en": "loopback"},
    "private_address.kind.link_local": {"ko": "링크 로컬 주소", "en": "link-local"},
    "private_address.kind.multicast": {"ko": "멀티캐스트 주소", "en": "multicast"},
    "private_address.kind.reserved": {"ko": "예약된 주소", "en": "reserved"},
    "private_address.kind.shared": {"ko": "통신사 공유 주소", "en": "shared (carrier-grade NAT)"},
    "private_address.kind.private": {"ko": "내부망 주소", "en": "private"},
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
