"""API tests: Django's test client, the test database, and the machine's Redis under a test prefix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def viewer(db: None) -> Client:
    """A logged-in user with no special rights."""
    user = User.objects.create_user("vera", password="pw-vera-12345")
    client = Client()
    client.force_login(user)
    return client
