"""Messages of the outbound delivery log (``services/deliveries.py``) and its console page."""

CATALOG: dict[str, dict[str, str]] = {
    "delivery_not_found": {
        "ko": "전송 {delivery_id}을(를) 찾을 수 없습니다.",
        "en": "Delivery {delivery_id} not found.",
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
}
