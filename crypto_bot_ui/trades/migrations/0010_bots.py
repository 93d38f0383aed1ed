"""The bots the records know of, with their own operators; one row for each bot that already has
records (their earliest record is when it was first seen)."""

import re

import django.core.validators
from django.conf import settings
from django.db import migrations, models

BOT_ID_PATTERN = "^[A-Za-z0-9_-]{1,32}$"  # bot_api.models.BOT_ID_PATTERN as of this migration

RECORDS = (("Trade", "executed_at"), ("EquitySnapshot", "taken_at"), ("BotCommand", "issued_at"))


def note_recorded_bots(apps, schema_editor):  # type: ignore[no-untyped-def]
    bot = apps.get_model("trades", "Bot")
    earliest = {}  # bot id -> its earliest record
    for model_name, time_field in RECORDS:
        rows = (apps.get_model("trades", model_name).objects.order_by().values("bot_id")
                .annotate(first=models.Min(time_field)))
        for row in rows:
            if re.match(BOT_ID_PATTERN, row["bot_id"]):  # anything else names no bot (and the CHECK refuses it)
                first = row["first"]
                earliest[row["bot_id"]] = min(first, earliest.get(row["bot_id"], first))
    bot.objects.bulk_create([bot(bot_id=bot_id) for bot_id in sorted(earliest)], ignore_conflicts=True)
    for bot_id, first in earliest.items():  # first_seen is auto_now_add: set afterwards
        bot.objects.filter(bot_id=bot_id).update(first_seen=first)


class Migration(migrations.Migration):

    dependencies = [
        ('trades', '0009_trade_fee_quote'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Bot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bot_id', models.CharField(help_text="The bot's BOT_ID: letters, digits, - and _, at most 32", max_length=32, unique=True, validators=[django.core.validators.RegexValidator('^[A-Za-z0-9_-]{1,32}$')])),
                ('first_seen', models.DateTimeField(auto_now_add=True)),
                ('retired_at', models.DateTimeField(blank=True, help_text='Removed from the bot list; cleared when the bot runs again', null=True)),
                ('operators', models.ManyToManyField(blank=True, help_text='operators of this bot only (everyone with the control_bot permission operates every bot)', related_name='operated_bots', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['bot_id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('bot_id__regex', '^[A-Za-z0-9_-]{1,32}$')), name='bot_id_valid')],
            },
        ),
        migrations.RunPython(note_recorded_bots, migrations.RunPython.noop),
    ]
