"""schemathesis against the committed OpenAPI document, on a real server on 127.0.0.1: no server error and no
response that breaks the document (status codes, content types, headers, schemas)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bx_platform.api.openapi import OPENAPI_PATH

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(platform, tmp_path):
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", str(OPENAPI_PATH), "--url", platform.url,
        "--header", f"Authorization: Bearer {platform.keys['a']}",
        "--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "--max-examples", "25",
        "--seed", "20261201", "--workers", "1", "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    report = done.stdout + done.stderr
    (tmp_path / "schemathesis.txt").write_text(report)
    assert done.returncode == 0, report[-6000:]
    cases = re.search(r"(\d+) generated", report)
    assert cases and int(cases.group(1)) >= 100, report[-3000:]
    print(f"schemathesis: {cases.group(1)} generated cases, 0 failures")
