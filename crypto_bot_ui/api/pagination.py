"""Pages of `{count, next, previous, results}`: 50 by default, `page_size` up to 500."""

from rest_framework.pagination import PageNumberPagination


class TradePagination(PageNumberPagination):
    """Page-number pagination with a bounded, client-chosen page size."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
