"""Query parameters a view does not read are refused (400), never silently ignored."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class KnownQueryParamsMixin:
    """Answers 400 `unknown_parameter` to a query naming anything the view does not read: a misspelt
    filter (`?symbl=BTCUSDT`) would otherwise return every trade as if it had matched."""

    query_serializer: type[serializers.Serializer] | None = None  # type: ignore[type-arg]
    """The serializer that validates the view's own parameters, if it has any."""

    def known_query_params(self) -> set[str]:
        """The names the view reads: its query serializer's, its filters' and its paginator's."""
        known: set[str] = set()
        if self.query_serializer is not None:
            known |= set(self.query_serializer().fields)
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            known |= set(filterset_class.base_filters)
        paginator = getattr(self, "paginator", None)
        for attribute in ("page_query_param", "page_size_query_param", "limit_query_param"):
            name = getattr(paginator, attribute, None)
            if name:
                known.add(name)
        return known

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After authentication and permissions (a stranger learns 401, not which names exist)."""
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        unknown = sorted(set(request.query_params) - self.known_query_params())
        if unknown:
            reads = ", ".join(sorted(self.known_query_params())) or "none"
            noun = "parameters" if len(unknown) > 1 else "parameter"
            raise ValidationError(
                f"unknown query {noun} {', '.join(unknown)} (this endpoint reads: {reads})", code="unknown_parameter"
            )
