from turnout.i18n import catalog, label, megabytes, pick_locale, translate


def test_pick_locale_honours_quality_values() -> None:
    assert pick_locale("ko-KR,ko;q=0.9,en;q=0.8") == "ko"
    assert pick_locale("en-US,en;q=0.9,ko;q=0.5") == "en"
    assert pick_locale("fr-FR,ko;q=0.3") == "ko"
    assert pick_locale("fr-FR") == "en"
    assert pick_locale(None, "ko") == "ko"
    assert pick_locale("ko;q=abc,en") == "en"


def test_every_catalogue_entry_has_korean_and_english() -> None:
    for code, entry in catalog().items():
        assert entry.get("ko"), code
        assert entry.get("en"), code


def test_translate_fills_params_and_survives_missing_ones() -> None:
    given = {"current": "draft", "target": "live", "allowed": ["open"]}
    assert "Draft" in translate("invalid_transition", "en", given)
    assert translate("invalid_transition", "ko", {}) != ""
    assert translate("no_such_code", "ko") == "no_such_code"


def test_code_valued_params_are_shown_translated_not_raw() -> None:
    moved = translate(
        "invalid_transition", "ko", {"current": "draft", "target": "closed", "allowed": ["open"]}
    )
    assert (
        moved
        == "행사 상태를 ‘준비 중’에서 ‘종료’ 상태로 바꿀 수 없습니다. 지금 바꿀 수 있는 상태: 신청 접수 중."
    )
    stuck = translate("invalid_transition", "en", {"current": "archived", "target": "open", "allowed": []})
    assert stuck.endswith("It can go to: none.")
    assert "‘이메일’" in translate("missing_column", "ko", {"column": "email", "found": "이름"})
    # a file's own column name, unknown to the catalogue, is shown as it is
    assert "‘참가비’" in translate("missing_column", "ko", {"column": "참가비", "found": "이름"})
    reason = translate("unreadable_file", "ko", {"reason": "unbalanced_quote", "line": 3})
    assert reason == "파일을 읽을 수 없습니다: 3번째 줄에서 시작한 따옴표가 닫히지 않았습니다."
    assert "(전송 중)" in translate("delivery_not_finished", "ko", {"delivery_id": "1", "status": "sending"})
    assert label("method", "manual", "ko") == "수동"
    assert label("method", "carrier-pigeon", "ko") == "carrier-pigeon"


def test_sizes_are_shown_in_megabytes() -> None:
    assert (
        translate("file_too_large", "ko", {"max_bytes": 20 * 1024 * 1024})
        == "파일이 너무 큽니다 (최대 20 MB)."
    )
    assert "1.5 MB" in translate("payload_too_large", "en", {"max_bytes": 1572864})
    assert megabytes(65536) == "0.06"


def test_a_message_without_its_params_falls_back_to_its_plain_form() -> None:
    assert translate("payload_too_large", "ko") == "요청이 너무 큽니다."
    assert translate("too_long", "ko", {"max": 200}) == "너무 깁니다. 200자 이하로 입력해 주세요."
    assert translate("too_long", "en", {"max": 100, "unit": "items"}) == "Too long: at most 100 items."
    assert translate("too_long", "ko") == "너무 깁니다."


def test_pydantic_limits_become_the_params_of_our_codes() -> None:
    from turnout.entrypoints.api.errors import limit_params

    assert limit_params("string_too_long", {"max_length": 200}) == {"max": 200, "unit": "characters"}
    assert limit_params("too_long", {"max_length": 100, "actual_length": 101}) == {
        "max": 100,
        "unit": "items",
    }
    assert limit_params("string_too_short", {"min_length": 1}) == {"min": 1, "unit": "characters"}
    assert limit_params("greater_than_equal", {"ge": 0}) == {"min": 0}
    assert limit_params("greater_than", {"gt": 0}) == {"min": 1}  # an exclusive integer bound
    assert limit_params("less_than_equal", {"le": 150}) == {"max": 150}
    assert limit_params("less_than", {"lt": 0.5}) == {"max": 0.5}
    assert limit_params("enum", None) == {}
    message = translate("too_long", "ko", limit_params("string_too_long", {"max_length": 200}))
    assert message == "너무 깁니다. 200자 이하로 입력해 주세요."
