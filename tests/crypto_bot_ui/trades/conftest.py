"""Fixtures of the records' tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def admin_client() -> Client:
    """A client logged in as a superuser (pytest-django's own, with this project's password rules)."""
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-root-12345"))
    return client
