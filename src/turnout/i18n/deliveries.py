"""Messages of the outbound delivery log (``services/deliveries.py``) and its console page."""

CATALOG: dict[str, dict[str, str]] = {
    "delivery_not_found": {
        "ko": "전송 {delivery_id}을(를) 찾을 수 없습니다.",
        "en": "Delivery {delivery_id} not found.",
    },
    "delivery_superseded": {
        "ko": (
            "전송 {delivery_id} 이후에 같은 참가자의 더 최근 전송({later_id})이 있어 다시 보낼 수 없습니다. "
            "이전 상태가 최신 상태 뒤에 도착하게 됩니다."
        ),
        "en": (
            "Delivery {delivery_id} has a later delivery of the same key ({later_id}); sending it "
            "again would put an older state after a newer one."
        ),
    },
    "delivery_not_finished": {
        "ko": (
            "전송 {delivery_id}은(는) 아직 진행 중입니다({status}). "
            "끝난(전송됨·실패 확정) 전송만 다시 보낼 수 있습니다."
        ),
        "en": (
            "Delivery {delivery_id} is still in progress ({status}); "
            "only a delivered or dead one can be sent again."
        ),
    },
    # the command line (``turnout deliveries``)
    "cli.deliveries.none": {
        "ko": "조건에 맞는 전송이 없습니다.",
        "en": "No deliveries match.",
    },
    "cli.deliveries.more": {
        "ko": "이전 전송이 더 있습니다: --before {cursor}",
        "en": "Older deliveries: --before {cursor}",
    },
    "cli.deliveries.retried": {
        "ko": "전송 {delivery_id}({system})을(를) 다시 보냅니다: 지금 상태는 {status}입니다.",
        "en": "Delivery {delivery_id} ({system}) will be sent again; it is {status} now.",
    },
    # the console page (read-only; never a payload: payloads hold tokens)
    "web.deliveries": {"ko": "전송 기록", "en": "Delivery log"},
    "web.deliveries.back": {"ko": "외부 연동으로", "en": "Back to integrations"},
    "web.deliveries.counts": {"ko": "시스템별 전송", "en": "Deliveries by system"},
    "web.deliveries.total": {"ko": "합계", "en": "Total"},
    "web.deliveries.filter": {"ko": "보기", "en": "Show"},
    "web.deliveries.all_systems": {"ko": "모든 시스템", "en": "All systems"},
    "web.deliveries.all_statuses": {"ko": "모든 상태", "en": "All states"},
    "web.deliveries.none": {"ko": "조건에 맞는 전송이 없습니다.", "en": "No deliveries match."},
    "web.deliveries.created": {"ko": "생성 시각", "en": "Created"},
    "web.deliveries.system": {"ko": "시스템", "en": "System"},
    "web.deliveries.type": {"ko": "메시지", "en": "Message"},
    "web.deliveries.state": {"ko": "상태", "en": "State"},
    "web.deliveries.attempts": {"ko": "시도", "en": "Attempts"},
    "web.deliveries.next_attempt": {"ko": "다음 시도 {time}", "en": "next attempt {time}"},
    "web.deliveries.delivered_at": {"ko": "전송 완료 {time}", "en": "delivered {time}"},
    "web.deliveries.attempt_time": {"ko": "시각", "en": "Time"},
    "web.deliveries.outcome": {"ko": "결과", "en": "Outcome"},
    "web.deliveries.status_code": {"ko": "응답 코드", "en": "Status code"},
    "web.deliveries.latency": {"ko": "응답 시간", "en": "Latency"},
    "web.deliveries.error": {"ko": "오류", "en": "Error"},
    "web.deliveries.no_attempts": {"ko": "아직 시도하지 않았습니다.", "en": "Not attempted yet."},
    "web.deliveries.older": {"ko": "이전 전송 보기", "en": "Older deliveries"},
    "web.deliveries.newest": {"ko": "최신 전송으로", "en": "Newest deliveries"},
    "web.deliveries.status.pending": {"ko": "대기", "en": "Pending"},
    "web.deliveries.status.sending": {"ko": "전송 중", "en": "Sending"},
    "web.deliveries.status.delivered": {"ko": "전송됨", "en": "Delivered"},
    "web.deliveries.status.dead": {"ko": "실패 확정", "en": "Dead"},
    "web.deliveries.outcome.delivered": {"ko": "성공", "en": "Delivered"},
    "web.deliveries.outcome.failed": {"ko": "실패(재시도)", "en": "Failed (retried)"},
    "web.deliveries.outcome.dead": {"ko": "실패 확정", "en": "Dead"},
}
