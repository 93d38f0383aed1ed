"""Every REST error as `{code, message}` with a stable code, like the socket's error frames."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler


def _first(detail: Any) -> tuple[str, str]:
    """(code, message) of DRF's nested error details: the first one, with its field's name."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        code, message = _first(value)
        return code, message if field in ("detail", "non_field_errors") else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return _first(detail[0])
    return str(getattr(detail, "code", "error")), str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with its body reshaped to `{code, message}` (e.g. not_authenticated, invalid)."""
    response = exception_handler(exc, context)
    if response is not None:
        code, message = _first(getattr(exc, "detail", response.data))
        response.data = {"code": code, "message": message}
    return response
