"""``kiban localgov list`` through the real entry point, in this process.

test_usage runs ``kiban localgov`` in a process of its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from sqlalchemy import Engine

from kiban.core.identifiers import validate_local_government_code
from kiban_command import run_kiban_in_process


def test_csv_lists_every_body_with_valid_codes(engine: Engine, database_url: str) -> None:
    result = run_kiban_in_process("localgov", "list", "--format", "csv", database_url=database_url)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["code", "name", "kana", "kind", "prefecture_code", "parent_code"]
    bodies = rows[1:]
    for code, *_ in bodies:
        validate_local_government_code(code)
    kinds = Counter(row[3] for row in bodies)
    assert kinds["prefecture"] == 47
    municipal = ("designated_city", "city", "special_ward", "town", "village")
    assert sum(kinds[kind] for kind in municipal) == 1741
    by_code = {row[0]: row for row in bodies}
    assert by_code["271276"] == [
        "271276",
        "大阪市北区",
        "オオサカシキタク",
        "ward",
        "270008",
        "271004",
    ]
    assert by_code["131016"][1:4] == ["千代田区", "チヨダク", "special_ward"]


def test_ndjson_and_search(engine: Engine, database_url: str) -> None:
    result = run_kiban_in_process(
        "localgov", "list", "--format", "ndjson", "-q", "寒川", database_url=database_url
    )
    assert result.returncode == 0, result.stderr
    (samukawa,) = (json.loads(line) for line in result.stdout.splitlines())
    assert samukawa["code"] == "143219"
    assert samukawa["county"] == "高座郡"
