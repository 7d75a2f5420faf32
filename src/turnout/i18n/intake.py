"""Intake: registration refusals, field rules, import file problems, the registration page."""

CATALOG: dict[str, dict[str, str]] = {
    # registration refusals
    "registration_closed": {
        "ko": "이 행사는 지금 신청을 받지 않습니다.",
        "en": "This event is not taking registrations now.",
    },
    "event_full": {"ko": "정원이 모두 찼습니다.", "en": "The event is full."},
    "already_registered": {
        "ko": "이미 신청한 참가자입니다 (일치한 항목: {field}). 참가자 목록에서 그 참가자를 찾아 "
        "입장권을 다시 발송하거나, 다른 사람이라면 일치한 항목을 확인해 주세요. "
        "참가자 본인이라면 처음 받은 입장권 메일을 쓰거나 주최자에게 문의해 주세요.",
        "en": "This person is already registered (same {field}). Find them in the participant list "
        "and send the ticket again, or, if this is someone else, check the {field}. "
        "A participant can use the ticket email they first received, or contact the organiser.",
        "ko_plain": "이미 신청한 참가자입니다. 참가자 목록에서 찾아 입장권을 다시 발송하거나 "
        "주최자에게 문의해 주세요.",
        "en_plain": "This person is already registered. Find them in the participant list and send "
        "the ticket again, or contact the organiser.",
    },
    "idempotency_conflict": {
        "ko": "같은 멱등 키(Idempotency-Key 헤더)로 다른 요청이 이미 처리되었습니다.",
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
        "ko": "생년월일이 올바르지 않습니다 (예: 1990-01-31 또는 900131).",
        "en": "The birth date is not valid (e.g. 1990-01-31, or 900131 as YYMMDD).",
    },
    "ambiguous_birth_date": {
        "ko": "생년월일의 연·월·일 순서를 알 수 없습니다. 연도를 네 자리로 써 주세요 (예: 1990-01-31).",
        "en": "The order of year, month and day in this birth date is unclear; "
        "write the year with four digits (e.g. 1990-01-31).",
    },
    "under_min_age": {
        "ko": "행사일 기준 만 {min_age}세 이상만 신청할 수 있습니다.",
        "en": "Participants must be at least {min_age} on the day of the event.",
    },
    "invalid_locale": {
        "ko": "언어는 한국어(ko) 또는 영어(en)여야 합니다.",
        "en": "The language must be ko or en.",
    },
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
        "ko": "이 행에 파일의 문자 인코딩({encoding})으로 읽을 수 없는 문자가 있습니다. "
        "Excel에서는 [다른 이름으로 저장]에서 파일 형식을 ‘CSV UTF-8(쉼표로 분리)’로 골라 다시 저장하거나, "
        "CP949(완성형 한글)로 저장한 파일이면 인코딩을 cp949로 지정해 다시 올려 주세요.",
        "en": "This row has characters that are not valid in the file's encoding ({encoding}). "
        "In Excel, use Save As and pick ‘CSV UTF-8 (Comma delimited)’, then upload the file again; "
        "for a file saved as CP949 (Korean Windows), give the encoding cp949.",
    },
    "unbalanced_quote": {
        "ko": "{line}번째 줄에서 시작한 따옴표가 닫히지 않았습니다. 그 이후는 읽을 수 없습니다.",
        "en": "The quote opened on line {line} is never closed; the file cannot be read past it.",
    },
    "event_full_row": {"ko": "정원이 차서 저장하지 못했습니다.", "en": "Not saved: the event is full."},
    # whole-file refusals
    "empty_file": {"ko": "파일이 비어 있습니다.", "en": "The file is empty."},
    "no_data_rows": {
        "ko": "머리글만 있고 데이터 행이 없습니다.",
        "en": "The file has a header but no data rows.",
    },
    "missing_column": {
        "ko": "필수 열 ‘{column}’이(가) 없습니다. 찾은 열: {found}",
        "en": "The required column '{column}' is missing. Columns found: {found}",
    },
    "duplicate_column": {
        "ko": "열 ‘{column}’이(가) 두 번 이상 있습니다.",
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
        "ko": "텍스트나 Excel 파일이 아닙니다.",
        "en": "This is not a text or Excel file.",
    },
    "unreadable_file": {
        "ko": "파일을 읽을 수 없습니다: {reason}.",
        "en": "The file cannot be read: {reason}.",
        "ko_plain": "파일을 읽을 수 없습니다.",
        "en_plain": "The file cannot be read.",
    },
    # why (the ``reason`` param of unreadable_file)
    "unreadable_file.reason.unbalanced_quote": {
        "ko": "{line}번째 줄에서 시작한 따옴표가 닫히지 않았습니다",
        "en": "the quote opened on line {line} is never closed",
    },
    "unreadable_file.reason.encoding_error": {
        "ko": "{line}번째 줄(머리글)에 문자 인코딩({encoding})으로 읽을 수 없는 문자가 있습니다. "
        "Excel에서 ‘CSV UTF-8(쉼표로 분리)’ 형식으로 다시 저장해 주세요",
        "en": "line {line} (the header) has characters not valid in the encoding ({encoding}); "
        "save it again from Excel as ‘CSV UTF-8 (Comma delimited)’",
    },
    "unreadable_file.reason.file_gone": {
        "ko": "올린 파일이 서버에 더 이상 없습니다. 다시 올려 주세요",
        "en": "the uploaded file is no longer on the server; upload it again",
    },
    "unreadable_file.reason.invalid_xlsx": {
        "ko": "올바른 XLSX 통합 문서가 아닙니다. Excel에서 열어 다시 저장해 주세요",
        "en": "not a valid XLSX workbook; open it in Excel and save it again",
    },
    "unreadable_file.reason.damaged_xlsx": {
        "ko": "손상된 XLSX 파일입니다. Excel에서 열어 다시 저장해 주세요",
        "en": "a damaged XLSX file; open it in Excel and save it again",
    },
    "unknown_encoding": {
        "ko": "알 수 없는 문자 인코딩입니다: {encoding}",
        "en": "Unknown character encoding: {encoding}",
    },
    "file_too_large": {
        "ko": "파일이 너무 큽니다 (최대 {max_mb} MB).",
        "en": "The file is too large (at most {max_mb} MB).",
        "ko_plain": "파일이 너무 큽니다.",
        "en_plain": "The file is too large.",
    },
    "spreadsheet_too_large": {
        "ko": "스프레드시트가 허용 한도를 넘어 읽지 않았습니다 ({what}: {found}, 최대 {limit}).",
        "en": "The spreadsheet is over the limits and was not read ({what}: {found}, at most {limit}).",
    },
    "spreadsheet_too_large.what.rows": {"ko": "행 수", "en": "rows"},
    "spreadsheet_too_large.what.columns": {"ko": "열 수", "en": "columns"},
    "spreadsheet_too_large.what.compression_ratio": {"ko": "압축률", "en": "compression ratio"},
    "spreadsheet_too_large.what.shared_strings": {
        "ko": "공유 문자열 크기(바이트)",
        "en": "shared strings (bytes)",
    },
    "invalid_mapping": {
        "ko": "열 지정 ‘{mapping}’이(가) 올바르지 않습니다: {reason}.",
        "en": "Invalid column mapping ‘{mapping}’: {reason}.",
        "ko_plain": "열 지정이 올바르지 않습니다.",
        "en_plain": "Invalid column mapping.",
    },
    "invalid_mapping.reason.no_such_column": {
        "ko": "파일에 그런 열이 없습니다",
        "en": "the file has no such column",
    },
    "invalid_mapping.reason.unknown_target": {
        "ko": "‘열=항목’ 꼴로, 항목은 다음 중 하나여야 합니다: {fields}",
        "en": "write COLUMN=FIELD, FIELD being one of {fields}",
    },
    "duplicates_found": {
        "ko": "중복된 참가자가 {count}명 있어 아무것도 저장하지 않았습니다 (중복 처리: 실패로 중단).",
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
    # the four columns errors.csv adds to a refused row's cells
    "errors_csv.row": {"ko": "행", "en": "row"},
    "errors_csv.column": {"ko": "열", "en": "column"},
    "errors_csv.code": {"ko": "오류 코드", "en": "code"},
    "errors_csv.message": {"ko": "오류 내용", "en": "message"},
    # registration page
    "intake.register_title": {"ko": "참가 신청", "en": "Registration"},
    "intake.register_intro": {
        "ko": "아래 정보를 입력해 신청하면 입장권(QR 코드)을 이메일로 발송합니다.",
        "en": "Fill in the form and we will email you your ticket (a QR code).",
    },
    "intake.register_submit": {"ko": "신청하기", "en": "Register"},
    "intake.register_done": {
        "ko": "신청되었습니다. {email} 주소로 입장권을 발송합니다.",
        "en": "You are registered. Your ticket is on its way to {email}.",
    },
    "intake.register_closed": {
        "ko": "지금은 이 행사의 신청을 받지 않습니다.",
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
