"""Reading request bodies and query strings, validated, with clear 400/413 answers."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import falcon
import jsonschema

from artifortress.blobs.request_body import read_body
from artifortress.errors import BadRequest, ValidationFailed

Responder = TypeVar("Responder", bound=Callable[..., Any])

#: Attribute holding a responder's request body schema, read by the OpenAPI builder.
SCHEMA_ATTR = "__artifortress_body_schema__"
#: Keyword of a (sub)schema naming the stable error code its violations answer with
#: (``validation_failed`` otherwise), so a rule moved into the schema keeps its code.
ERROR_CODE = "x-artifortress-error-code"


def json_body(schema: dict[str, Any]) -> Callable[[Responder], Responder]:
    """Parse and validate the JSON body before the responder; result in ``req.context.body``."""
    validator = BodyValidator(schema)

    def hook(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        req.context.body = _validated(validator, _read_json(req))

    def decorate(responder: Responder) -> Responder:
        wrapped = falcon.before(hook)(responder)
        setattr(wrapped, SCHEMA_ATTR, schema)
        return wrapped

    return decorate


def read_json(req: falcon.Request, schema: dict[str, Any]) -> Any:
    """The request's JSON body, within the size limit and valid against *schema*.

    What :func:`json_body` does before a responder, for one that reads its body
    itself (a plugin's): 400 for a malformed or invalid body, 413 for a large one.
    """
    return _validated(BodyValidator(schema), _read_json(req))


def _read_json(req: falcon.Request) -> Any:
    raw = read_body(req, req.context.services.settings.max_json_body, "JSON body")
    if not raw.strip():
        raise BadRequest("this endpoint needs a JSON body")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        # A megabyte of "[" nests deeper than the parser can recurse: bad input, not a 500.
        raise BadRequest("the JSON body is nested too deeply") from None
    if _has_unstorable_text(doc):
        raise BadRequest(UNSTORABLE_MESSAGE)
    return doc


#: NUL, which PostgreSQL cannot store in text, and lone surrogates (JSON allows
#: "\ud800"), which no database driver can encode: refused up front, they stay a 400.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "strings must not contain NUL (U+0000) or unpaired surrogates"


def _has_unstorable_text(doc: Any) -> bool:
    """True if any string (key or value) of the parsed JSON document cannot be stored."""
    stack = [doc]
    while stack:  # iterative: the document may nest up to the parser's limit
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def reject_nul_params(req: falcon.Request, params: dict[str, Any]) -> None:
    """400 when a URL path or query parameter contains NUL (``%00``) or a lone surrogate."""
    values: list[Any] = [*params.values(), *req.params.values()]
    for value in values:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and _UNSTORABLE.search(text) for text in texts):
            raise BadRequest(f"URL parameters: {UNSTORABLE_MESSAGE}")


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """``pattern`` as JSON Schema (ECMA 262) reads it: ``$`` ends the string.

    Python's ``$`` also matches before a final newline, so ``"key\\n"`` would
    pass ``^[a-z]+$`` here while every other reader of the document refuses it.
    """
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


#: The validator of every JSON body: draft 2020-12 with ECMA 262 patterns.
BodyValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)


def _validated(validator: Any, doc: Any) -> Any:
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "body"
        message = error.message
        if any(secret in message for secret in _secrets(validator.schema, doc)):
            message = "invalid (the value is not shown: it holds a secret)"
        failure = ValidationFailed(f"{where}: {message}")
        if isinstance(error.schema, dict) and ERROR_CODE in error.schema:
            failure.code = error.schema[ERROR_CODE]
        raise failure
    return doc


def _secrets(schema: Any, doc: Any) -> Iterator[str]:
    """Strings of *doc* that *schema* marks ``writeOnly`` (passwords), as given and as repr."""
    if not isinstance(schema, dict):
        return
    if schema.get("writeOnly") and isinstance(doc, str) and doc:
        yield from (doc, repr(doc))
    elif isinstance(doc, dict):
        for name, subschema in schema.get("properties", {}).items():
            if name in doc:
                yield from _secrets(subschema, doc[name])


T = TypeVar("T")


def query_param(req: falcon.Request, name: str, parse: Callable[[str], T]) -> T | None:
    """An optional query parameter, parsed; 400 naming the parameter if it does not parse."""
    raw = req.get_param(name)
    if raw is None or raw == "":
        return None
    try:
        return parse(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name}={raw!r} is invalid") from None


def parse_timestamp(raw: str) -> dt.datetime:
    """ISO 8601, returned in UTC; a time without offset is taken as UTC."""
    value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00 lies after datetime.max in UTC
        raise ValueError(f"{raw!r} is out of range") from None


def send_json(resp: falcon.Response, doc: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(doc)
