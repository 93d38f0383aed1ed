"""Query filters of the trade endpoints (shared by the JSON list and the CSV export)."""

from __future__ import annotations

import django_filters

from crypto_bot_ui.trades.models import Side, Trade


class TradeFilter(django_filters.FilterSet):
    """`symbol`, `side`, and a time window `since` <= executed_at < `until` (ISO-8601)."""

    symbol = django_filters.CharFilter(field_name="symbol", lookup_expr="exact", max_length=20)
    side = django_filters.ChoiceFilter(field_name="side", choices=Side.choices)
    since = django_filters.IsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="executed_at", lookup_expr="lt")

    class Meta:
        model = Trade
        fields = ["symbol", "side", "since", "until"]
