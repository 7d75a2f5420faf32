"""The console's words: the live dashboard, its projector view and crowd safety (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {
    "web.dash.projector": {"ko": "프로젝터 화면", "en": "Projector view"},
    "web.dash.projector_hint": {
        "ko": "큰 화면에 띄우는 전체 화면 보기입니다.",
        "en": "A full-screen view for a large screen.",
    },
    "web.dash.back": {"ko": "대시보드로 돌아가기", "en": "Back to the dashboard"},
    "web.dash.fullscreen": {"ko": "전체 화면", "en": "Full screen"},
    "web.dash.figures": {"ko": "현재 수치", "en": "Figures now"},
    "web.dash.charts": {"ko": "차트", "en": "Charts"},
    "web.dash.as_table": {"ko": "표로 보기", "en": "Show as a table"},
    "web.dash.no_data": {"ko": "아직 자료가 없습니다.", "en": "No data yet."},
    "web.dash.time": {"ko": "시각", "en": "Time"},
    "web.dash.count": {"ko": "건수", "en": "Count"},
    "web.dash.gate": {"ko": "게이트", "en": "Gate"},
    "web.dash.method": {"ko": "확인 방식", "en": "Method"},
    "web.dash.reason": {"ko": "사유", "en": "Reason"},
    "web.dash.admitted": {"ko": "입장", "en": "Entries"},
    "web.dash.exited": {"ko": "퇴장", "en": "Exits"},
    "web.dash.denied": {"ko": "입장 불가", "en": "Refused"},
    "web.dash.denied_other": {"ko": "기타 입장 불가", "en": "Other refusals"},
    "web.dash.inside_series": {"ko": "현재 입장 중", "en": "Inside"},
    "web.dash.capacity_series": {"ko": "정원", "en": "Capacity"},
    "web.dash.chart.arrivals": {"ko": "5분 단위 입장", "en": "Arrivals per 5 minutes"},
    "web.dash.chart.inside": {"ko": "시간대별 입장 중 인원", "en": "Inside over time"},
    "web.dash.chart.by_gate": {"ko": "게이트별 입장", "en": "Entries by gate"},
    "web.dash.chart.by_method": {"ko": "확인 방식별 입장", "en": "Entries by method"},
    "web.dash.chart.denied": {"ko": "사유별 입장 불가", "en": "Refusals by reason"},
    "web.dash.chart.inside_note": {
        "ko": "각 5분 구간이 끝날 때의 인원입니다 (입장 수에서 퇴장 수를 뺀 값).",
        "en": "People inside at the end of each 5 minutes (entries minus exits).",
    },
    # crowd safety
    "web.crowd.title": {"ko": "혼잡도", "en": "Crowd safety"},
    "web.crowd.event_area": {"ko": "행사장 전체", "en": "Whole venue"},
    "web.crowd.gate_area": {"ko": "{name} 구역", "en": "{name} area"},
    "web.crowd.figure": {
        "ko": "{inside}명 / 정원 {capacity}명 ({percent} %)",
        "en": "{inside} of {capacity} ({percent} %)",
    },
    "web.crowd.no_capacity": {
        "ko": "정원이 정해지지 않았습니다. 현재 {inside}명 입장 중입니다.",
        "en": "No capacity is set. {inside} people are inside now.",
    },
    "web.crowd.level.ok": {"ko": "정상", "en": "Normal"},
    "web.crowd.level.amber": {"ko": "주의 (80 % 이상)", "en": "Amber (80 % or more)"},
    "web.crowd.level.red": {"ko": "위험 (95 % 이상)", "en": "Red (95 % or more)"},
    "web.crowd.how": {
        "ko": (
            "80 %에 이르면 주의, 95 %에 이르면 위험으로 표시하고 알림을 보냅니다. 게이트 구역의 인원은 "
            "그 게이트로 입장한 수에서 그 게이트로 퇴장한 수를 뺀 값입니다."
        ),
        "en": (
            "Amber from 80 %, red from 95 %; an alert is sent when a level is reached. People in a "
            "gate's area are the entries through that gate minus the exits through it."
        ),
    },
    # alerts raised by crowd safety (services/crowd.py), on the banner, the alerts page and here
    "web.alerts.code.crowd_amber": {"ko": "혼잡 주의 (정원의 80 %)", "en": "Crowd amber (80 % of capacity)"},
    "web.alerts.code.crowd_red": {"ko": "혼잡 위험 (정원의 95 %)", "en": "Crowd red (95 % of capacity)"},
    "web.alerts.message.crowd_amber": {
        "ko": "{area}: {inside}명 / 정원 {capacity}명 ({percent} %). 입장 속도를 늦추고 현장을 확인하십시오.",
        "en": "{area}: {inside} of {capacity} ({percent} %). Slow the entries down and check the area.",
    },
    "web.alerts.message.crowd_red": {
        "ko": "{area}: {inside}명 / 정원 {capacity}명 ({percent} %). 입장을 멈추고 즉시 현장을 확인하십시오.",
        "en": "{area}: {inside} of {capacity} ({percent} %). Stop the entries and check the area now.",
    },
}
