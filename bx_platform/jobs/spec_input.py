"""Reading a job spec from untrusted bytes: a file or a request body, before any validation of its fields.

Everything here bounds what bad input can cost (docs/conventions.md, "Reading a spec"): a file is checked to
be a regular file and read up to the size limit and never past it, so a device, a FIFO or a huge file is
refused without hanging or filling memory; the text is parsed as JSON or YAML by loaders that refuse
duplicated keys (naming the key and its lines), YAML anchors and aliases, non-finite JSON numbers and
nesting deeper than any spec needs.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from bx_platform.errors import InputError

MAX_SPEC_BYTES = 64 * 1024
# A spec is at most four levels deep (spec > markets > list > market); this leaves room and stops the
# recursive parsers long before Python's recursion limit.
MAX_NESTING = 32


def read_spec_file(path: str | Path) -> bytes:
    """The bytes of a spec file, or InputError naming the file. Never blocks and never reads more than
    MAX_SPEC_BYTES + 1 bytes (enough to know the file is too large)."""
    where = str(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise InputError(where, "no such file") from None
    except OSError as exc:
        raise InputError(where, f"cannot open: {exc.strerror}") from None
    except ValueError as exc:  # a path no file can have (an embedded NUL byte)
        raise InputError(where, f"cannot open: {exc}") from None
    try:
        info = os.fstat(fd)  # of the opened file, so it cannot be swapped between the check and the read
        if not stat.S_ISREG(info.st_mode):
            raise InputError(where, f"not a regular file ({_file_kind(info.st_mode)}); a job spec is a YAML or JSON file")
        if info.st_size > MAX_SPEC_BYTES:
            raise InputError(where, _too_large(f"{info.st_size:,} bytes"))
        data = read_at_most(fd, MAX_SPEC_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SPEC_BYTES:  # it grew after the stat, or its size is not what stat said
        raise InputError(where, _too_large(f"more than {MAX_SPEC_BYTES:,} bytes"))
    return data


def read_at_most(fd: int, limit: int) -> bytes:
    """Read until end of file or `limit` bytes, whichever comes first (a file may grow after its stat)."""
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(limit - size, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
    return next((name for test, name in kinds.items() if test(mode)), "not a plain file")


def shortened(name: str, limit: int = 80) -> str:
    """A field name as an error shows it: an unknown key may be as long as the spec itself."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _too_large(size: str) -> str:
    return f"too large ({size}); a job spec is at most {MAX_SPEC_BYTES:,} bytes"


def load_document(data: bytes, source: str) -> Any:
    """Parse a spec document (JSON when it parses as JSON, else YAML) into plain values."""
    if len(data) > MAX_SPEC_BYTES:
        raise InputError(source, _too_large(f"{len(data):,} bytes"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text (byte {exc.start})") from None
    try:
        if text.lstrip().startswith("{"):
            try:
                return json.loads(text, object_pairs_hook=_unique_json_keys, parse_constant=_refuse_constant)
            except json.JSONDecodeError:
                pass  # a YAML flow mapping also starts with "{"
        return yaml.load(text, Loader=SpecLoader)  # noqa: S506 (SpecLoader is a SafeLoader)
    except _Refused as exc:
        raise InputError(f"{source}: {shortened(str(exc.key))}" if exc.key is not None else source, exc.problem) from None
    except yaml.YAMLError as exc:
        raise InputError(source, f"malformed YAML: {exc}".replace("\n", " ")) from None
    except RecursionError:
        raise InputError(source, f"nested deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:  # a scalar the parser cannot build: a 13th month, an integer of 5,000 digits
        raise InputError(source, f"a value cannot be read ({str(exc).split(';')[0]})") from None


class _Refused(Exception):
    """Refused while parsing; `key` names the mapping key at fault when there is one."""

    def __init__(self, key: Any, problem: str):
        super().__init__(problem)
        self.key, self.problem = key, problem


def _unique_json_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(key, "key given twice; a spec names each field once")
        seen[key] = value
    return seen


def _refuse_constant(name: str) -> None:
    raise _Refused(None, f"{name} is not a number a spec may hold: numbers must be finite")


# YAML 1.1 reads `1e6` as a string; JSON and YAML 1.2 read it as a number, and so do we.
_FLOAT_WITH_EXPONENT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter: duplicated keys, anchors and aliases, deep nesting are refused."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"anchors and aliases (&{event.anchor}, *{event.anchor}) are not allowed in a job spec",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise RecursionError
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise _Refused(
                        key, f"key given twice (lines {first_line[key]} and {line}); a spec names each field once"
                    )
                first_line[key] = line
        return mapping


SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_WITH_EXPONENT, list("-+0123456789"))
