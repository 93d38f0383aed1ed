"""Every stored amount below what a money column holds (1E+20 in magnitude), as a database constraint
(the contract admits less: 1E+18).

Rows from before the contract had the bound (SQLite kept them as floats that no longer read back as
decimals, and every page listing them failed) move to the dead letters first, with their values as
the database holds them: adding the constraint cannot fail, and nothing disappears silently.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.db import migrations, models
from django.db.models.functions import Cast

LIMIT = Decimal("100000000000000000000")  # trades.models.COLUMN_LIMIT when written (migrations are frozen)
TRADE_MONEY = ("qty", "price", "quote_qty", "fee", "realized_pnl")
EQUITY_MONEY = ("equity", "cash", "realized_pnl", "unrealized_pnl", "total_pnl")


def in_range(*names: str) -> models.Q:
    """Each of `names` strictly between -LIMIT and LIMIT."""
    q = models.Q()
    for name in names:
        q &= models.Q(**{f"{name}__lt": LIMIT, f"{name}__gt": -LIMIT})
    return q


def bury_out_of_range(apps: Any, schema_editor: Any) -> None:
    """Move the rows the new constraints would refuse to the dead letters."""
    dead_letter = apps.get_model("trades", "DeadLetter")
    for model_name, names, key in (("Trade", TRADE_MONEY, "trade_id"), ("EquitySnapshot", EQUITY_MONEY, "seq")):
        model = apps.get_model("trades", model_name)
        bad = model.objects.exclude(in_range(*names))
        # As text: reading these columns as decimals is exactly what fails.
        texts = {f"{name}_text": Cast(name, models.TextField()) for name in names}
        for row in bad.annotate(**texts).values("id", "bot_id", key, *texts):
            payload = {name.removesuffix("_text"): str(value) for name, value in row.items()}
            dead_letter.objects.get_or_create(
                bot_id=row["bot_id"], entry_id=f"{model_name.lower()}:{row['id']}",
                defaults={"payload": json.dumps(payload),
                          "reason": f"a stored {model_name} with an amount of 1E+20 or more (migration 0008)"},
            )
        bad.delete()


class Migration(migrations.Migration):
    dependencies = [("trades", "0007_dead_letters")]

    operations = [
        migrations.RunPython(bury_out_of_range, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="equitysnapshot",
            constraint=models.CheckConstraint(condition=in_range(*EQUITY_MONEY), name="equity_money_in_range"),
        ),
        migrations.AddConstraint(
            model_name="trade",
            constraint=models.CheckConstraint(condition=in_range(*TRADE_MONEY), name="trade_money_in_range"),
        ),
    ]
