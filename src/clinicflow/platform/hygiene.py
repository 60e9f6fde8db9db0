"""Input PostgreSQL cannot store, refused at the edge with the field it came in.

PostgreSQL text cannot hold NUL (U+0000), and UTF-8 cannot encode a lone
surrogate (U+D800-U+DFFF, which JSON can spell as `\\ud800`). Either would
reach the database as a driver error long after validation, so the request is
refused first, naming the parameter or the body field. Bodies nested deeper
than `MAX_BODY_DEPTH` are refused too: no endpoint takes one, and Python's
JSON parser would otherwise give up with a RecursionError (a 500).

The common case costs one regular-expression scan of the query string and of
the body; only a suspicious request is parsed to find the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from clinicflow.errors import FieldProblem, ValidationFailed

#: Deeper JSON bodies are refused. Our deepest schema nests three levels.
MAX_BODY_DEPTH = 32

_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
_SUSPICIOUS_QUERY = re.compile(rb"%00|\x00")
# A JSON escape of NUL or of a surrogate, or a raw NUL byte; an escaped backslash
# before "u0000" also matches, and the slow path then finds nothing.
_SUSPICIOUS_BODY = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00")
# Containers a body may open before its depth is worth measuring.
_CHEAP_DEPTH = MAX_BODY_DEPTH


def unstorable_text_problem(field: str) -> FieldProblem:
    return FieldProblem(
        field=field, message="contains a character that cannot be stored (NUL or a surrogate)"
    )


def check_path_and_query(path: str, query_string: bytes) -> None:
    """Raise ValidationFailed if the path or a query parameter carries unstorable text."""
    problems: list[FieldProblem] = []
    if _UNSTORABLE_TEXT.search(path):
        problems.append(unstorable_text_problem("path"))
    if _SUSPICIOUS_QUERY.search(query_string):
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if _UNSTORABLE_TEXT.search(value) or _UNSTORABLE_TEXT.search(name):
                problems.append(unstorable_text_problem(name.replace("\x00", "\\u0000") or "query"))
    if problems:
        raise ValidationFailed("Some parameters contain characters that cannot be stored", errors=problems)


def check_body(body: bytes) -> None:
    """Raise ValidationFailed if a JSON body holds unstorable text or nests too deeply.

    A body that is not JSON is left for the route's own parsing to refuse.
    """
    suspicious = _SUSPICIOUS_BODY.search(body) is not None
    deep = body.count(b"[") + body.count(b"{") > _CHEAP_DEPTH
    if not suspicious and not deep:
        return
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError:  # not JSON (or not UTF-8): the route's parser says so
        return
    if deep and _depth(document) > MAX_BODY_DEPTH:
        raise _too_deep()
    problems = [unstorable_text_problem(field) for field in _unstorable_fields(document, "")]
    if problems:
        raise ValidationFailed("Some fields contain characters that cannot be stored", errors=problems)


def _too_deep() -> ValidationFailed:
    return ValidationFailed(
        f"The request body nests deeper than {MAX_BODY_DEPTH} levels",
        errors=[FieldProblem(field="body", message=f"nested deeper than {MAX_BODY_DEPTH} levels")],
    )


def _depth(value: Any) -> int:
    depth = 0
    level = [value]
    while level:
        containers = [v for v in level if isinstance(v, dict | list)]
        if not containers:
            break
        depth += 1
        if depth > MAX_BODY_DEPTH:
            return depth
        level = [child for c in containers for child in (c.values() if isinstance(c, dict) else c)]
    return depth


def _unstorable_fields(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if _UNSTORABLE_TEXT.search(value):
            yield path or "body"
    elif isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE_TEXT.search(key):
                yield child_path
            else:
                yield from _unstorable_fields(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _unstorable_fields(child, f"{path}.{index}" if path else str(index))
