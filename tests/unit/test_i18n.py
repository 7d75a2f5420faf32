from turnout.i18n import catalog, pick_locale, translate


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
    assert "draft" in translate("invalid_transition", "en", {"current": "draft", "target": "live"})
    assert translate("invalid_transition", "ko", {}) != ""
    assert translate("no_such_code", "ko") == "no_such_code"
