"""Pages of `{count, next, previous, results}`: 50 by default, `page_size` (or `limit`) up to 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


def _positive(request: Request, name: str) -> int | None:
    """The query parameter `name` as a whole number from 1 to 999999999, None when absent; else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    # Nine digits at most: int() of thousands of digits is slow, then refused by Python itself.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
        raise ValidationError({name: "must be a whole number from 1 to 999999999"}, code="invalid")
    return int(raw)


class TradePagination(PageNumberPagination):
    """Page-number pagination with a bounded, client-chosen page size; a malformed number is a 400."""

    page_size = 50
    page_size_query_param = "page_size"
    limit_query_param = "limit"
    """Another name for the page size: what offset-style clients (and scripts) ask for first."""
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        """`page_size` or `limit` (capped at max_page_size), else the default; a malformed one is a 400."""
        size = _positive(request, self.page_size_query_param)
        if size is None:
            size = _positive(request, self.limit_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        """One page; `page` must be a positive number or `last` (a page past the end stays a 404)."""
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:
            _positive(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)
