"""The console's words: gates pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {
    # the forms
    "console.gates.fix_errors": {
        "ko": "입력한 내용을 확인해 주세요. 항목 옆에 이유가 있습니다.",
        "en": "Please check the form: the reasons are beside the fields.",
    },
    "console.gates.cancel": {"ko": "취소", "en": "Cancel"},
    # gates
    "console.gates.title": {"ko": "게이트", "en": "Gates"},
    "console.gates.new": {"ko": "게이트 추가", "en": "Add a gate"},
    "console.gates.new_title": {"ko": "새 게이트", "en": "New gate"},
    "console.gates.edit_title": {"ko": "게이트 수정", "en": "Edit gate"},
    "console.gates.edit": {"ko": "수정", "en": "Edit"},
    "console.gates.create": {"ko": "게이트 만들기", "en": "Create gate"},
    "console.gates.save": {"ko": "저장", "en": "Save"},
    "console.gates.none": {
        "ko": "아직 게이트가 없습니다. 게이트를 추가하면 게이트 키를 만들 수 있습니다.",
        "en": "No gates yet. Add a gate to make gate keys for it.",
    },
    "console.gates.field.name": {"ko": "이름", "en": "Name"},
    "console.gates.field.direction": {"ko": "방향", "en": "Direction"},
    "console.gates.field.methods": {"ko": "확인 방식", "en": "Methods"},
    "console.gates.field.opens_at": {"ko": "여는 시각", "en": "Opens at"},
    "console.gates.field.closes_at": {"ko": "닫는 시각", "en": "Closes at"},
    "console.gates.field.location": {"ko": "위치", "en": "Location"},
    "console.gates.location_hint": {
        "ko": "예: 1층 정문 앞. 비워 두어도 됩니다.",
        "en": "For example: ground floor, main entrance. May be left empty.",
    },
    "console.gates.hours": {"ko": "운영 시간", "en": "Opening hours"},
    "console.gates.hours_hint": {
        "ko": "행사 시간대의 시각으로 입력합니다. 비워 두면 항상 열려 있습니다.",
        "en": "Times in the event's time zone. Leave empty to keep the gate always open.",
    },
    "console.gates.timezone": {"ko": "행사 시간대", "en": "The event's time zone"},
    "console.gates.always_open": {"ko": "항상 열림", "en": "Always open"},
    "console.gates.keys": {"ko": "게이트 키", "en": "Gate keys"},
    "console.gates.actions": {"ko": "작업", "en": "Actions"},
    # keys
    "console.keys.title": {"ko": "키", "en": "Keys"},
    "console.keys.intro": {
        "ko": "이 행사의 스태프 키와 게이트 키입니다. 키 자체는 만들 때 한 번만 보여 줍니다.",
        "en": "This event's staff and gate keys. A key itself is shown once, when it is made.",
    },
    "console.keys.none": {"ko": "아직 이 행사의 키가 없습니다.", "en": "This event has no keys yet."},
    "console.keys.field.name": {"ko": "키 이름", "en": "Key name"},
    "console.keys.field.gate_id": {"ko": "게이트", "en": "Gate"},
    "console.keys.role": {"ko": "종류", "en": "Kind"},
    "console.keys.created": {"ko": "만든 시각", "en": "Created"},
    "console.keys.state": {"ko": "상태", "en": "State"},
    "console.keys.active": {"ko": "사용 중", "en": "Active"},
    "console.keys.revoked": {"ko": "폐기됨", "en": "Revoked"},
    "console.keys.last_used_note": {
        "ko": "마지막 사용 시각은 기록하지 않습니다.",
        "en": "When a key was last used is not recorded.",
    },
    "console.keys.make": {"ko": "게이트 키 만들기", "en": "Make a gate key"},
    "console.keys.make_intro": {
        "ko": "게이트 키로는 그 게이트의 스캐너에만 로그인할 수 있습니다.",
        "en": "A gate key signs in to the scanner of its gate only.",
    },
    "console.keys.make_button": {"ko": "키 만들기", "en": "Make key"},
    "console.keys.pick_gate": {"ko": "게이트를 고르세요", "en": "Choose a gate"},
    "console.keys.name_hint": {
        "ko": "누가 어느 기기에서 쓰는지 알아볼 수 있게 적어 주세요. 예: 정문 1번 휴대전화",
        "en": "So you can tell who uses it on which device. For example: main gate, phone 1",
    },
    "console.keys.no_gates": {
        "ko": "게이트 키를 만들려면 먼저 게이트를 추가하세요.",
        "en": "Add a gate first to make a gate key.",
    },
    "console.keys.issued_title": {"ko": "새 게이트 키", "en": "New gate key"},
    "console.keys.once_warning": {
        "ko": "이 키는 지금 한 번만 보여 줍니다. 다시 볼 수 없으니 지금 복사하거나 QR 코드로 로그인하세요.",
        "en": (
            "This key is shown only now. It cannot be shown again: copy it or sign in with the QR code now."
        ),
    },
    "console.keys.the_key": {"ko": "게이트 키", "en": "Gate key"},
    "console.keys.copy": {"ko": "키 복사", "en": "Copy key"},
    "console.keys.copied": {"ko": "복사했습니다.", "en": "Copied."},
    "console.keys.copy_failed": {
        "ko": "자동으로 복사하지 못했습니다. 선택된 키를 직접 복사하세요.",
        "en": "Could not copy automatically: copy the selected key yourself.",
    },
    "console.keys.qr_heading": {"ko": "휴대전화로 로그인", "en": "Sign in on a phone"},
    "console.keys.qr_help": {
        "ko": "게이트에서 쓸 휴대전화의 카메라로 이 QR 코드를 찍으면 스캐너에 바로 로그인합니다.",
        "en": "Scan this QR code with the camera of the gate's phone: it opens the scanner, signed in.",
    },
    "console.keys.qr_reach": {
        "ko": "휴대전화가 이 주소에 접속할 수 있어야 합니다. 주소를 바꾸려면 다음 설정을 쓰세요:",
        "en": "The phone must be able to reach this address. To change it, set:",
    },
    "console.keys.qr_title": {"ko": "스캐너 로그인 QR 코드", "en": "Scanner sign-in QR code"},
    "console.keys.done": {"ko": "키 목록으로", "en": "Back to keys"},
    "console.keys.revoke": {"ko": "폐기", "en": "Revoke"},
    "console.keys.revoke_title": {"ko": "키 폐기", "en": "Revoke key"},
    "console.keys.revoke_warning": {
        "ko": "폐기한 키로는 더 이상 로그인하거나 스캔할 수 없습니다. 되돌릴 수 없습니다.",
        "en": "A revoked key can no longer sign in or scan. This cannot be undone.",
    },
    "console.keys.revoke_confirm": {"ko": "이 키 폐기", "en": "Revoke this key"},
    "console.keys.already_revoked": {"ko": "이미 폐기된 키입니다.", "en": "This key is already revoked."},
    "key_not_found": {"ko": "키를 찾을 수 없습니다.", "en": "Key not found."},
    # the scanner's sign-in link (/scan/link)
    "console.scan_link.intro": {
        "ko": "게이트 키로 스캐너에 로그인합니다.",
        "en": "Signing in to the scanner with a gate key.",
    },
    "console.scan_link.signing_in": {"ko": "로그인하는 중입니다…", "en": "Signing in…"},
    "console.gates.field.capacity": {"ko": "구역 수용 인원", "en": "Area capacity"},
    "console.gates.capacity_hint": {
        "ko": "이 게이트 구역에 동시에 있을 수 있는 최대 인원입니다. 비워 두면 구역 경보를 쓰지 않습니다.",
        "en": "The most people the gate's area may hold at once. Leave empty for no area alarm.",
    },
}
