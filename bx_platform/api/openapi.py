"""The committed OpenAPI 3 document of the API (`bx api --write-openapi` regenerates it)."""

from __future__ import annotations

import json
from pathlib import Path

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"


def openapi_document() -> dict:
    from bx_platform.api.app import build_app

    return build_app().openapi()


def write_openapi(path: Path = OPENAPI_PATH) -> Path:
    path.write_text(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
    return path
