"""Who may steer which bot, and write its trades' notes: the global right (own permission, a group's,
superuser) on every bot, a per-bot grant that bot only; inactive users none. A grant that changes
re-checks the sockets of the users concerned."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crypto_bot_ui.core.roles import can_control, can_note, controlled_bots, controllers, controllers_by_bot, noted_bots
from crypto_bot_ui.trades.models import Bot
from tests.conftest import make_operator

pytestmark = [pytest.mark.db, pytest.mark.django_db]


@pytest.fixture
def users() -> dict[str, User]:
    made = {name: User.objects.create_user(name) for name in ("viewer", "only_a", "a_and_b", "group", "own", "off")}
    made["root"] = User.objects.create_superuser("root")
    make_operator(made["group"])
    made["own"].user_permissions.add(Permission.objects.get(codename="control_bot"))
    a, b = Bot.objects.create(bot_id="a"), Bot.objects.create(bot_id="b")
    a.operators.add(made["only_a"], made["a_and_b"], made["off"])
    b.operators.add(made["a_and_b"])
    made["off"].is_active = False
    made["off"].save()
    return made


def names(users: dict[str, User], ids: set[int]) -> set[str]:
    return {name for name, user in users.items() if user.pk in ids}


def test_the_global_right_steers_every_bot_and_a_grant_its_bot_only(users: dict[str, User]) -> None:
    everyone = [u.pk for u in users.values()]
    assert names(users, controllers(everyone)) == {"group", "own", "root"}  # no bot named: the global right only
    assert names(users, controllers(everyone, "a")) == {"group", "own", "root", "only_a", "a_and_b"}
    assert names(users, controllers(everyone, "b")) == {"group", "own", "root", "a_and_b"}
    assert names(users, controllers(everyone, "c")) == {"group", "own", "root"}
    assert can_control(users["only_a"].pk, "a") and not can_control(users["only_a"].pk, "b")
    assert not can_control(users["only_a"].pk)
    assert not can_control(users["off"].pk, "a")  # deactivated: nothing
    assert not can_control(None, "a")


def test_one_query_however_many_users(users: dict[str, User]) -> None:
    with CaptureQueriesContext(connection) as queries:
        controllers([u.pk for u in users.values()], "a")
    assert len(queries) == 1


@pytest.mark.parametrize(("listed", "may"), [(controlled_bots, can_control), (noted_bots, can_note)])
def test_the_bots_listed_agree_with_the_answer_for_each(
    users: dict[str, User], listed: Callable[[int | None, list[str]], set[str]], may: Callable[[int, str], bool],
) -> None:
    bots = ["a", "b", "c", "main"]
    for name, user in users.items():
        expected = {bot for bot in bots if may(user.pk, bot)}
        with CaptureQueriesContext(connection) as queries:
            assert listed(user.pk, bots) == expected, name
        assert len(queries) <= 2
    assert listed(None, bots) == set() and listed(users["root"].pk, []) == set()


@pytest.fixture
def changed(monkeypatch: pytest.MonkeyPatch) -> list[set[int]]:
    """The users each access-changed hook was called with."""
    calls: list[set[int]] = []
    monkeypatch.setattr("crypto_bot_ui.dashboard.signals.access_changed_on_commit", lambda *ids: calls.append(set(ids)))
    return calls


def test_a_grant_that_changes_rechecks_its_users(changed: list[set[int]]) -> None:
    ann, bob, cy = (User.objects.create_user(name) for name in ("ann", "bob", "cy"))
    bot = Bot.objects.create(bot_id="a")
    changed.clear()
    bot.operators.add(ann, bob)  # from the bot
    assert changed == [{ann.pk, bob.pk}]
    bot.operators.remove(bob)
    cy.operated_bots.add(bot)  # from the user
    bot.operators.add(ann)  # already there: nothing changes, nothing to re-check
    assert changed == [{ann.pk, bob.pk}, {bob.pk}, {cy.pk}]
    changed.clear()
    bot.operators.clear()  # who was in it is no longer known afterwards: everyone is re-checked
    assert changed == [{ann.pk, bob.pk, cy.pk}]


def test_controllers_by_bot_answers_as_controllers_does_for_each_bot() -> None:
    boss = User.objects.create_superuser("boss", password="pw-boss-12345")
    ann = User.objects.create_user("ann2", password="pw-ann-123456")
    bea = User.objects.create_user("bea2", password="pw-bea-123456")
    Bot.objects.create(bot_id="a").operators.add(ann)
    Bot.objects.create(bot_id="b").operators.add(ann, bea)
    users = [boss.pk, ann.pk, bea.pk]
    with CaptureQueriesContext(connection) as queries:
        answer = controllers_by_bot(users, ["a", "b", "c", None])
    assert len(queries) == 2
    assert answer == {bot: controllers(users, bot) for bot in ("a", "b", "c", None)}
    assert answer["b"] == {boss.pk, ann.pk, bea.pk} and answer[None] == {boss.pk}


def test_notes_are_written_by_the_note_permission_or_the_bots_own_operators(users: dict[str, User]) -> None:
    noter = User.objects.create_user("noter")
    noter.user_permissions.add(Permission.objects.get(codename="change_trade_note"))
    for name in ("group", "root"):  # the Operators group holds the note permission too; a superuser all
        assert can_note(users[name].pk, "a") and can_note(users[name].pk, "c"), name
    assert can_note(noter.pk, "c") and not can_control(noter.pk, "c")  # one right does not bring the other
    assert not can_note(users["own"].pk, "c")  # control_bot alone: steering is not keeping the journal
    assert can_note(users["only_a"].pk, "a") and not can_note(users["only_a"].pk, "b")  # a bot's own operator
    assert not can_note(users["viewer"].pk, "a") and not can_note(users["off"].pk, "a") and not can_note(None, "a")

