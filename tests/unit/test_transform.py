"""The JavaScript transform file: what the generator writes, within the SMT limits, plain ECMAScript."""

from __future__ import annotations

import re
import subprocess
import sys

from functions import catalogue
from functions.transform import FUNCTION_NAME, UDF_FILE, render, schema_data
from local.transform_runner import Call, TransformRunner
from tests.support.paths import ROOT

SMT_CODE_LIMIT_BYTES = 20 * 1024  # Pub/Sub's limit for a JavaScript UDF's code


def test_the_committed_udf_is_what_the_generator_writes():
    assert UDF_FILE.read_text() == render(), "run: python -m functions.transform"
    check = subprocess.run(
        [sys.executable, "-m", "functions.transform", "--check"], cwd=ROOT, capture_output=True
    )
    assert check.returncode == 0, check.stderr


def test_the_udf_holds_every_table_of_the_catalogue():
    data = schema_data()
    assert set(data["types"]) == set(catalogue.event_tables())
    assert data["unknown"][0] == catalogue.UNKNOWN_TABLE
    for event_type, (table, fields) in data["types"].items():
        assert [field[0] for field in fields] == [
            f["name"] for f in catalogue.event_tables()[event_type].own_fields
        ]
        assert table == catalogue.event_tables()[event_type].name


def test_the_udf_stays_far_below_the_smt_code_limit():
    size = len(UDF_FILE.read_bytes())
    assert size < 0.8 * SMT_CODE_LIMIT_BYTES, f"{size} bytes"


def test_the_udf_is_plain_ecmascript_without_require_and_names_its_function():
    code = UDF_FILE.read_text()
    assert not re.search(r"\brequire\s*\(", code)
    assert f"function {FUNCTION_NAME}(message, metadata)" in code
    assert "typeof module !== 'undefined'" in code  # the only Node-aware line: an export guard


def test_a_message_that_is_not_a_dt_event_makes_the_udf_throw_its_reason():
    with TransformRunner() as udf:
        [outcome] = udf.run([Call('{"event": []}')])
    assert outcome.error is not None and outcome.error.startswith(
        "not a DT event: event is missing or not an object"
    )
    assert outcome.data is None and not outcome.filtered
