"""The "Operators" group, holding `trades.control_bot`: add a user to it to let them steer the bot."""

from django.db import migrations


def create_operators(apps, schema_editor):  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group")
    # Permissions are normally created after all migrations run; this one is needed now.
    ct, _ = content_type.objects.get_or_create(app_label="trades", model="botcommand")
    control, _ = permission.objects.get_or_create(
        codename="control_bot", content_type=ct,
        defaults={"name": "Can start and stop the bot and close positions"},
    )
    operators, _ = group.objects.get_or_create(name="Operators")
    operators.permissions.add(control)


def remove_operators(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("auth", "Group").objects.filter(name="Operators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trades", "0004_control_bot_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_operators, remove_operators)]
