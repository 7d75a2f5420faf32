"""Intake: registration refusals, field rules, import file problems, the registration page."""

CATALOG: dict[str, dict[str, str]] = {
    # registration refusals
    "registration_closed": {
        "ko": "이 행사는 지금 등록을 받지 않습니다.",
        "en": "This event is not taking registrations now.",
    },
    "event_full": {"ko": "정원이 모두 찼습니다.", "en": "The event is full."},
    "already_registered": {
        "ko": "이미 등록된 참가자입니다.",
        "en": "This participant is already registered.",
    },
    "idempotency_conflict": {
        "ko": "같은 Idempotency-Key로 다른 요청이 이미 처리되었습니다.",
        "en": "This Idempotency-Key was already used with a different request.",
    },
    "import_not_found": {"ko": "가져오기 작업을 찾을 수 없습니다.", "en": "Import not found."},
    # field rules
    "name_too_short": {
        "ko": "이름은 {min}자 이상이어야 합니다.",
        "en": "The name needs at least {min} characters.",
    },
    "invalid_email": {"ko": "이메일 주소가 올바르지 않습니다.", "en": "The email address is not valid."},
    "invalid_phone": {
        "ko": "전화번호가 올바르지 않습니다 (예: 010-1234-5678).",
        "en": "The phone number is not valid (e.g. 010-1234-5678).",
    },
    "invalid_birth_date": {
        "ko": "생년월일이 올바르지 않습니다 (예: 1990-01-31).",
        "en": "The birth date is not valid (e.g. 1990-01-31).",
    },
    "under_min_age": {
        "ko": "행사일 기준 만 {min_age}세 이상만 등록할 수 있습니다.",
        "en": "Participants must be at least {min_age} on the day of the event.",
    },
    "invalid_locale": {"ko": "언어는 ko 또는 en이어야 합니다.", "en": "The language must be ko or en."},
    "formula_not_allowed": {
        "ko": "수식(=로 시작하는 값)은 사용할 수 없습니다.",
        "en": "Formulas (values starting with =) are not accepted.",
    },
    "cell_too_long": {
        "ko": "'{column}' 값이 너무 깁니다 (최대 {max}자).",
        "en": "The value of '{column}' is too long (at most {max} characters).",
    },
    "too_many_fields": {
        "ko": "추가 항목이 너무 많습니다 (최대 {max}개).",
        "en": "Too many custom fields (at most {max}).",
    },
    "duplicate_in_file": {
        "ko": "파일 안에서 {first_row}행과 중복됩니다.",
        "en": "Duplicate of row {first_row} in the file.",
    },
    # row structure
    "wrong_field_count": {
        "ko": "이 행의 칸 수({got})가 머리글의 칸 수({expected})와 다릅니다.",
        "en": "This row has {got} fields; the header has {expected}.",
    },
    "encoding_error": {
        "ko": "이 행에 파일의 문자 인코딩({encoding})으로 읽을 수 없는 문자가 있습니다.",
        "en": "This row has characters that are not valid in the file's encoding ({encoding}).",
    },
    "unbalanced_quote": {
        "ko": "{line}번째 줄에서 시작한 따옴표가 닫히지 않았습니다. 그 이후는 읽을 수 없습니다.",
        "en": "The quote opened on line {line} is never closed; the file cannot be read past it.",
    },
    "event_full_row": {"ko": "정원이 차서 등록하지 못했습니다.", "en": "Not saved: the event is full."},
    # whole-file refusals
    "empty_file": {"ko": "파일이 비어 있습니다.", "en": "The file is empty."},
    "no_data_rows": {
        "ko": "머리글만 있고 데이터 행이 없습니다.",
        "en": "The file has a header but no data rows.",
    },
    "missing_column": {
        "ko": "필수 열 '{column}'이(가) 없습니다. 찾은 열: {found}",
        "en": "The required column '{column}' is missing. Columns found: {found}",
    },
    "duplicate_column": {
        "ko": "열 '{column}'이(가) 두 번 이상 있습니다.",
        "en": "The column '{column}' appears more than once.",
    },
    "too_many_columns": {
        "ko": "열이 너무 많습니다 ({count}개, 최대 {max}개).",
        "en": "Too many columns ({count}; at most {max}).",
    },
    "unsupported_file_type": {
        "ko": "지원하지 않는 파일 형식입니다 ({extension}). CSV, TSV, TXT 또는 XLSX 파일을 올려 주세요.",
        "en": "Unsupported file type ({extension}). Upload a CSV, TSV, TXT or XLSX file.",
    },
    "binary_file": {
        "ko": "텍스트나 엑셀 파일이 아닙니다.",
        "en": "This is not a text or Excel file.",
    },
    "unreadable_file": {
        "ko": "파일을 읽을 수 없습니다: {reason}",
        "en": "The file cannot be read: {reason}",
    },
    "unknown_encoding": {
        "ko": "알 수 없는 문자 인코딩입니다: {encoding}",
        "en": "Unknown character encoding: {encoding}",
    },
    "file_too_large": {
        "ko": "파일이 너무 큽니다 (최대 {max_bytes} 바이트).",
        "en": "The file is too large (at most {max_bytes} bytes).",
    },
    "spreadsheet_too_large": {
        "ko": "스프레드시트가 허용 한도를 넘어 읽지 않았습니다 ({what}: {found}, 최대 {limit}).",
        "en": "The spreadsheet is over the limits and was not read ({what}: {found}, at most {limit}).",
    },
    "invalid_mapping": {
        "ko": "열 지정이 올바르지 않습니다: {mapping}",
        "en": "Invalid column mapping: {mapping}",
    },
    "duplicates_found": {
        "ko": "중복된 참가자가 {count}명 있어 아무것도 저장하지 않았습니다 (on_duplicate=fail).",
        "en": "{count} duplicate participants found; nothing was saved (on_duplicate=fail).",
    },
    "import_failed": {"ko": "가져오기에 실패했습니다.", "en": "The import failed."},
    "import_attempts_exhausted": {
        "ko": "가져오기가 {attempts}번 시작되었지만 끝나지 않아 중단했습니다 (읽던 작업자가 멈춤).",
        "en": "The import was started {attempts} times and never finished (its worker stopped).",
    },
    "import_taken_over": {
        "ko": "다른 실행자가 이 가져오기를 이어받아 계속합니다 (이 실행의 임대가 만료됨).",
        "en": "Another runner took this import over (this run's lease had ended) and carries it on.",
    },
    # registration page
    "intake.register_title": {"ko": "참가 등록", "en": "Registration"},
    "intake.register_intro": {
        "ko": "아래 정보를 입력하면 입장권(QR 코드)을 이메일로 보내 드립니다.",
        "en": "Fill in the form and we will email you your ticket (a QR code).",
    },
    "intake.register_submit": {"ko": "등록하기", "en": "Register"},
    "intake.register_done": {
        "ko": "등록되었습니다. {email}(으)로 입장권을 보내 드립니다.",
        "en": "You are registered. Your ticket is on its way to {email}.",
    },
    "intake.register_closed": {
        "ko": "지금은 이 행사의 등록을 받지 않습니다.",
        "en": "This event is not taking registrations right now.",
    },
    "intake.field_name": {"ko": "이름", "en": "Name"},
    "intake.field_email": {"ko": "이메일", "en": "Email"},
    "intake.field_phone": {"ko": "전화번호", "en": "Phone"},
    "intake.field_birth_date": {"ko": "생년월일", "en": "Birth date"},
    "intake.field_region": {"ko": "지역", "en": "Region"},
    "intake.field_organization": {"ko": "소속", "en": "Organization"},
    "intake.field_gender": {"ko": "성별", "en": "Gender"},
    "intake.optional": {"ko": "선택", "en": "optional"},
    "intake.gender_male": {"ko": "남성", "en": "Male"},
    "intake.gender_female": {"ko": "여성", "en": "Female"},
    "intake.gender_other": {"ko": "기타/응답 안 함", "en": "Other / prefer not to say"},
}
