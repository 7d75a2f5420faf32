"""Korean and English messages for check-in: scan answers, refusal codes and the scanner page."""

CATALOG: dict[str, dict[str, str]] = {
    # scan answers
    "admitted": {"ko": "입장 확인", "en": "Admitted"},
    "exited": {"ko": "퇴장 확인", "en": "Exit recorded"},
    "denied": {"ko": "입장 불가", "en": "Denied"},
    "denied_exit": {"ko": "퇴장 불가", "en": "Exit refused"},
    # refusal codes (the token codes are in the tickets catalogue)
    "participant_cancelled": {"ko": "취소된 참가 신청입니다.", "en": "This registration was cancelled."},
    "transfer_in_progress": {
        "ko": "이 입장권은 양도 처리 중입니다. 잠시 후 다시 시도해 주십시오.",
        "en": "This ticket is being transferred. Try again shortly.",
    },
    "ticket_transferred": {
        "ko": "다른 사람에게 양도된 입장권입니다.",
        "en": "This ticket was transferred to another person.",
    },
    "event_not_live": {"ko": "행사가 진행 중이 아닙니다.", "en": "The event is not live."},
    "gate_closed": {"ko": "지금은 이 게이트가 닫혀 있습니다.", "en": "This gate is closed now."},
    "method_not_allowed": {
        "ko": "이 게이트에서 허용되지 않는 확인 방식입니다 ({method}).",
        "en": "This gate does not accept this check-in method ({method}).",
        "ko_plain": "이 게이트에서 허용되지 않는 확인 방식입니다.",
        "en_plain": "This gate does not accept this check-in method.",
    },
    "direction_not_allowed": {
        "ko": "이 게이트에서는 {direction} 처리를 할 수 없습니다.",
        "en": "This gate does not allow {direction}.",
        "ko_plain": "이 게이트는 이 방향으로 통과할 수 없습니다.",
        "en_plain": "This gate does not allow this direction.",
    },
    "already_admitted": {"ko": "이미 입장한 참가자입니다.", "en": "Already admitted."},
    "reentry_not_allowed": {
        "ko": "이 행사는 재입장이 허용되지 않습니다.",
        "en": "Re-entry is not allowed at this event.",
    },
    "not_inside": {"ko": "입장 기록이 없어 퇴장할 수 없습니다.", "en": "Not inside: no entry recorded."},
    "gate_not_found": {"ko": "게이트를 찾을 수 없습니다.", "en": "Gate not found."},
    "participant_not_found": {"ko": "참가자를 찾을 수 없습니다.", "en": "Participant not found."},
    "token_or_participant_required": {
        "ko": "입장권 코드(token) 또는 참가자 ID(participant_id) 중 하나가 필요합니다.",
        "en": "Give either token or participant_id.",
    },
    "too_many_records": {
        "ko": "한 번에 최대 {limit}건까지 올릴 수 있습니다.",
        "en": "At most {limit} records per upload.",
    },
    # scanner page
    "scan_title": {"ko": "게이트 스캐너", "en": "Gate scanner"},
    "scan_sign_in": {"ko": "게이트 키로 로그인", "en": "Sign in with a gate key"},
    "scan_key_label": {"ko": "게이트 키", "en": "Gate key"},
    "scan_sign_in_button": {"ko": "로그인", "en": "Sign in"},
    "scan_sign_out": {"ko": "로그아웃", "en": "Sign out"},
    "scan_bad_key": {"ko": "게이트 키가 올바르지 않습니다.", "en": "That gate key is not valid."},
    "scan_input_label": {"ko": "입장권 코드 (스캐너로 읽기)", "en": "Ticket code (scan it)"},
    "scan_camera": {"ko": "카메라로 스캔", "en": "Scan with camera"},
    "scan_camera_stop": {"ko": "카메라 끄기", "en": "Stop camera"},
    "scan_direction_in": {"ko": "입장", "en": "Entry"},
    "scan_direction_out": {"ko": "퇴장", "en": "Exit"},
    "scan_ready": {"ko": "스캔 대기 중", "en": "Ready to scan"},
    "scan_offline": {"ko": "서버에 연결할 수 없습니다.", "en": "Cannot reach the server."},
    "scan_tap_to_continue": {"ko": "화면을 누르면 계속합니다", "en": "Tap to continue"},
    "scan_manual": {"ko": "이름·이메일·전화번호로 찾기", "en": "Find by name, email or phone"},
    "scan_search": {"ko": "검색", "en": "Search"},
    "scan_check_in": {"ko": "입장 처리", "en": "Check in"},
    "scan_gate": {"ko": "게이트", "en": "Gate"},
}
