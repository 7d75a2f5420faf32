CATALOG: dict[str, dict[str, str]] = {
    "message_not_found": {
        "ko": "메시지 {message_id}을(를) 찾을 수 없습니다.",
        "en": "Message {message_id} not found.",
    },
}
