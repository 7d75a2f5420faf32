CATALOG: dict[str, dict[str, str]] = {
    "message_not_found": {
        "ko": "메시지 {message_id}을(를) 찾을 수 없습니다.",
        "en": "Message {message_id} not found.",
    },
    # external systems (services/gate_sync.py)
    "integration_not_enabled": {
        "ko": "이 행사에는 사용 중인 ‘{system}’ 연동이 없습니다.",
        "en": "This event has no enabled {system} integration.",
    },
}
