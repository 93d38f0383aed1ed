"""`manage.py ensure_admin`: make sure the admin account from the environment exists."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from crypto_bot_ui.env import AdminSettings, load


class Command(BaseCommand):
    """Create ADMIN_USERNAME (default admin) with ADMIN_PASSWORD, or a generated password."""

    help = "Ensure a superuser exists (ADMIN_USERNAME / ADMIN_PASSWORD)."

    def handle(self, *args: Any, **options: Any) -> None:
        """Create or update the admin; print a generated password exactly once."""
        admin = load(AdminSettings)  # per run, like the command itself: the environment of this call
        username, password = admin.admin_username, admin.admin_password
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            generated = not password
            password = password or secrets.token_urlsafe(12)
            user_model.objects.create_superuser(username=username, email="", password=password)
            if generated:
                self.stdout.write(
                    f"Created admin user {username!r} with password: {password}\n"
                    "  (shown once; set ADMIN_PASSWORD or run `manage.py changepassword` to change it)"
                )
            else:
                self.stdout.write(f"Created admin user {username!r} (password from ADMIN_PASSWORD)")
            return
        if password and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"Updated the password of {username!r} from ADMIN_PASSWORD")
        else:
            self.stdout.write(f"Admin user {username!r} exists")
