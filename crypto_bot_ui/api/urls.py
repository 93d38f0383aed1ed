"""Routes of the REST API (mounted under /api/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from crypto_bot_ui.api import alerts, analytics, notes, views
from crypto_bot_ui.api.docs import ApiDocsView

urlpatterns = [
    path("health", views.HealthView.as_view(), name="api-health"),
    path("bots", views.BotsView.as_view(), name="api-bots"),
    path("dashboard", views.DashboardView.as_view(), name="api-dashboard"),
    path("positions", views.PositionsView.as_view(), name="api-positions"),
    path("candles", views.CandlesView.as_view(), name="api-candles"),
    path("trades", views.TradeListView.as_view(), name="api-trades"),
    path("trades.csv", views.TradeCsvView.as_view(), name="api-trades-csv"),
    path("trades/<int:pk>", notes.TradeNoteView.as_view(), name="api-trade"),
    path("equity", views.EquityView.as_view(), name="api-equity"),
    path("performance", analytics.PerformanceView.as_view(), name="api-performance"),
    path("performance.csv", analytics.PerformanceCsvView.as_view(), name="api-performance-csv"),
    path("breakdown", analytics.BreakdownView.as_view(), name="api-breakdown"),
    path("distribution", analytics.DistributionView.as_view(), name="api-distribution"),
    path("curve", analytics.CurveView.as_view(), name="api-curve"),
    path("allocation", analytics.AllocationView.as_view(), name="api-allocation"),
    path("portfolio.csv", analytics.PortfolioCsvView.as_view(), name="api-portfolio-csv"),
    path("alerts", alerts.AlertListView.as_view(), name="api-alerts"),
    path("alerts/firings", alerts.AlertFiringsView.as_view(), name="api-alert-firings"),
    path("alerts/<int:alert_id>", alerts.AlertDetailView.as_view(), name="api-alert"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(), name="api-docs"),
]
