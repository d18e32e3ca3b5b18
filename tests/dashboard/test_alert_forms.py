"""Budget rules and notification channels through their pages: create, edit and delete within the user's
scope, clean validation errors (thresholds, a fixed budget's amount, a member targeting another team or
picking another team's channel), write-only encrypted Slack webhooks that never reach the HTML, the
"Send test message" button, and the admin's channel form."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from dashboard import crypto
from dashboard.models import BudgetRule, Notification, NotificationChannel
from tests.conftest import free_port
from tests.dashboard.test_alerts_pages import WEBHOOK, build_alerts, notify
from tests.dashboard.test_fleet_page import page_clock  # noqa: F401  (fixture)
from tests.support.smtp import SmtpServer

RULES, CHANNELS = "/alerts/rules/", "/alerts/channels/"
NEW_RULE, NEW_CHANNEL = "/alerts/rules/new/", "/alerts/channels/new/"
DEFAULT_RULES = 3  # migration 0009: each account, each team, each endpoint at 150%


@pytest.fixture
def estate(db, team_search, team_vision, page_clock):  # noqa: F811
    return build_alerts(team_search, team_vision)


def rule_data(**fields) -> dict:
    return {"name": "Search monthly", "scope": "team", "basis": "forecast", "currency": "USD",
            "thresholds": "150", "period": "month", "enabled": "on", **fields}  # fmt: skip


def errors_of(response) -> dict[str, list[str]]:
    return {name: [str(e) for e in errs] for name, errs in response.context["form"].errors.items()}


def team_rule(team, **fields) -> BudgetRule:
    return BudgetRule.objects.create(**{"name": f"{team} rule", "scope": "team", "team": team, **fields})


# --- rules ----------------------------------------------------------------------------------------------
def test_member_creates_a_rule_for_their_team_with_thresholds_cleaned(
    client, estate, member_search, team_search
):
    client.force_login(member_search)
    search_email = estate["channels"]["search"]
    response = client.post(
        NEW_RULE, rule_data(team=team_search.pk, thresholds="200, 150 150%", channels=[search_email.pk])
    )
    assert response.status_code == 302 and response["Location"] == RULES
    rule = BudgetRule.objects.get(name="Search monthly")
    assert (rule.scope, rule.team, rule.basis, rule.period) == ("team", team_search, "forecast", "month")
    assert rule.thresholds == [Decimal("150"), Decimal("200")]
    assert list(rule.channels.all()) == [search_email]
    body = client.get(RULES).content.decode()
    assert "Created rule “Search monthly”." in body and "150%, 200%" in body


@pytest.mark.parametrize(
    "thresholds, message",
    [
        ("", "at least one threshold"),
        ("abc", "'abc' is not a number"),
        ("150, -5", "-5 is not a positive percentage"),
        ("0", "0 is not a positive percentage"),
        ("150.125", "at most 2 decimals"),
        ("10000000", "at most 999999.99"),
        ("NaN", "not a positive percentage"),
    ],
)
def test_bad_thresholds_are_refused_with_a_clear_error(client, estate, member_search, team_search, thresholds,
                                                       message):  # fmt: skip
    client.force_login(member_search)
    response = client.post(NEW_RULE, rule_data(team=team_search.pk, thresholds=thresholds))
    assert response.status_code == 400
    assert any(message in e for e in errors_of(response)["thresholds"]), errors_of(response)
    assert not BudgetRule.objects.filter(name="Search monthly").exists()


def test_a_fixed_budget_needs_an_amount_and_a_forecast_takes_none(client, estate, finops_admin):
    client.force_login(finops_admin)
    response = client.post(NEW_RULE, rule_data(scope="fleet", basis="fixed"))
    assert response.status_code == 400
    assert errors_of(response) == {"amount": ["a fixed budget needs a positive amount per period"]}
    assert "a fixed budget needs a positive amount per period" in response.content.decode()
    response = client.post(NEW_RULE, rule_data(scope="fleet", amount="500"))
    assert errors_of(response) == {"amount": ["an amount is only used by a fixed budget"]}
    response = client.post(NEW_RULE, rule_data(scope="fleet", basis="fixed", amount="5000", currency="eur"))
    assert response.status_code == 302
    rule = BudgetRule.objects.get(name="Search monthly")
    assert (rule.amount, rule.currency, rule.team) == (Decimal("5000"), "EUR", None)


def test_a_scope_naming_the_wrong_target_is_refused(client, estate, finops_admin, team_search):
    client.force_login(finops_admin)
    response = client.post(NEW_RULE, rule_data(scope="fleet", team=team_search.pk))
    assert errors_of(response) == {"scope": ["a whole-fleet rule names no account, team or endpoint"]}
    detector = estate["endpoints"]["detector"]
    response = client.post(NEW_RULE, rule_data(scope="endpoint", team=team_search.pk, endpoint=detector.pk))
    assert errors_of(response) == {"endpoint": ["the endpoint does not belong to the rule's team"]}


def test_an_admins_endpoint_rule_is_given_the_endpoints_team(client, estate, finops_admin, team_vision):
    client.force_login(finops_admin)
    detector = estate["endpoints"]["detector"]
    response = client.post(NEW_RULE, rule_data(scope="endpoint", endpoint=detector.pk, thresholds="120"))
    assert response.status_code == 302
    rule = BudgetRule.objects.get(name="Search monthly")
    assert (rule.endpoint, rule.team) == (detector, team_vision)
    assert rule.target_label == "endpoint vision-detector (111111111111/us-east-1)"


def test_member_cannot_target_another_team_or_an_account(client, estate, member_search, team_vision):
    client.force_login(member_search)
    cases = [
        (rule_data(team=team_vision.pk), "team"),
        (rule_data(), "team"),  # "each team" is the FinOps admins'
        (rule_data(scope="fleet"), "scope"),
        (rule_data(scope="account", account=estate["account"].pk), "scope"),
        (
            rule_data(scope="endpoint", team=team_vision.pk, endpoint=estate["endpoints"]["detector"].pk),
            "team",
        ),
    ]
    for data, field in cases:
        response = client.post(NEW_RULE, data)
        assert response.status_code == 400 and field in errors_of(response), (data, errors_of(response))
    assert not BudgetRule.objects.filter(name="Search monthly").exists()


def test_member_cannot_pick_another_endpoint_or_another_teams_channel(client, estate, member_search,
                                                                     team_search):  # fmt: skip
    client.force_login(member_search)
    detector = estate["endpoints"]["detector"]
    response = client.post(NEW_RULE, rule_data(scope="endpoint", team=team_search.pk, endpoint=detector.pk))
    assert "Select a valid choice" in errors_of(response)["endpoint"][0]
    for channel in (estate["channels"]["vision"], estate["channels"]["finops"]):
        response = client.post(NEW_RULE, rule_data(team=team_search.pk, channels=[channel.pk]))
        assert response.status_code == 400 and "Select a valid choice" in errors_of(response)["channels"][0]
    assert not BudgetRule.objects.filter(name="Search monthly").exists()


def test_member_in_two_teams_cannot_mix_one_teams_rule_with_the_others_channel(
    client, estate, member_search, team_search, team_vision
):
    team_vision.members.add(member_search)
    client.force_login(member_search)
    vision = estate["channels"]["vision"]
    response = client.post(NEW_RULE, rule_data(team=team_search.pk, channels=[vision.pk]))
    assert errors_of(response) == {"channels": ["not channels of Search: #vision-costs"]}


def test_the_member_form_offers_only_their_targets(client, estate, member_search):
    client.force_login(member_search)
    form = client.get(NEW_RULE).context["form"]
    assert "account" not in form.fields
    assert [v for v, _ in form.fields["scope"].choices] == ["team", "endpoint"]
    assert [t.slug for t in form.fields["team"].queryset] == ["search"]
    assert [e.name for e in form.fields["endpoint"].queryset] == ["search-ranker"]
    assert [c.name for c in form.fields["channels"].queryset] == ["Search email"]


def test_rules_list_is_scoped(client, estate, member_search, finops_admin, team_search, team_vision):
    mine, theirs = team_rule(team_search), team_rule(team_vision)
    client.force_login(member_search)
    body = client.get(RULES).content.decode()
    assert f'id="rule-{mine.pk}"' in body and f'id="rule-{theirs.pk}"' not in body
    assert "Each team over 150% of its forecast" not in body
    client.force_login(finops_admin)
    body = client.get(RULES).content.decode()
    assert body.count('<tr id="rule-') == DEFAULT_RULES + 2 and "Each team over 150% of its forecast" in body


def test_member_edits_their_rule_and_gets_404_for_others(
    client, estate, member_search, team_search, team_vision
):
    mine, theirs = team_rule(team_search), team_rule(team_vision)
    fleet_wide = BudgetRule.objects.get(scope="team", team=None)
    client.force_login(member_search)
    page = client.get(reverse("alert-rule-edit", args=[mine.pk]))
    assert page.status_code == 200 and 'value="150"' in page.content.decode()
    response = client.post(reverse("alert-rule-edit", args=[mine.pk]),
                           rule_data(name="renamed", team=team_search.pk, thresholds="300"))  # fmt: skip
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.name, mine.thresholds) == ("renamed", [Decimal("300")])
    for rule in (theirs, fleet_wide):
        assert client.get(reverse("alert-rule-edit", args=[rule.pk])).status_code == 404
        assert client.post(reverse("alert-rule-edit", args=[rule.pk]), rule_data()).status_code == 404
        assert client.post(reverse("alert-rule-delete", args=[rule.pk])).status_code == 404
    assert BudgetRule.objects.filter(pk__in=[theirs.pk, fleet_wide.pk]).count() == 2


def test_delete_needs_a_post_and_keeps_the_alerts(client, estate, member_search, team_search):
    rule = team_rule(team_search)
    estate["alerts"]["search"].rule = rule
    estate["alerts"]["search"].save()
    client.force_login(member_search)
    assert client.get(reverse("alert-rule-delete", args=[rule.pk])).status_code == 405
    response = client.post(reverse("alert-rule-delete", args=[rule.pk]))
    assert response.status_code == 302 and not BudgetRule.objects.filter(pk=rule.pk).exists()
    estate["alerts"]["search"].refresh_from_db()
    assert estate["alerts"]["search"].rule_name == "rule for team Search"


def test_anonymous_and_outsider_reach_no_rule_or_channel(client, estate, outsider, team_search):
    rule, channel = team_rule(team_search), estate["channels"]["search"]
    urls = [RULES, NEW_RULE, CHANNELS, NEW_CHANNEL, reverse("alert-rule-edit", args=[rule.pk]),
            reverse("alert-channel-edit", args=[channel.pk])]  # fmt: skip
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert 'id="rule-' not in client.get(RULES).content.decode()
    assert 'id="channel-' not in client.get(CHANNELS).content.decode()
    for name, pk in [("alert-rule-edit", rule.pk), ("alert-channel-edit", channel.pk)]:
        assert client.get(reverse(name, args=[pk])).status_code == 404
    for name, pk in [("alert-rule-delete", rule.pk), ("alert-channel-delete", channel.pk),
                     ("alert-channel-test", channel.pk)]:  # fmt: skip
        assert client.post(reverse(name, args=[pk])).status_code == 404
    response = client.post(NEW_RULE, rule_data(team=team_search.pk))
    assert response.status_code == 400 and not BudgetRule.objects.filter(name="Search monthly").exists()
    assert not Notification.objects.filter(event="test").exists()


# --- channels -------------------------------------------------------------------------------------------
def channel_data(**fields) -> dict:
    return {"name": "Search oncall", "kind": "email", "enabled": "on", **fields}


def test_member_creates_an_email_channel_with_recipients_cleaned(client, estate, member_search, team_search):
    client.force_login(member_search)
    to = "a@search.example.com, b@search.example.com; A@search.example.com"
    response = client.post(NEW_CHANNEL, channel_data(team=team_search.pk, email_to=to))
    assert response.status_code == 302
    channel = NotificationChannel.objects.get(name="Search oncall")
    assert (
        channel.email_to == ["a@search.example.com", "b@search.example.com"] and channel.team == team_search
    )
    response = client.post(
        NEW_CHANNEL, channel_data(name="bad", team=team_search.pk, email_to="a@x.com, nope")
    )
    assert errors_of(response) == {"email_to": ["'nope' is not an email address"]}
    response = client.post(NEW_CHANNEL, channel_data(name="bad", team=team_search.pk))
    assert errors_of(response) == {"email_to": ["an email channel needs at least one recipient"]}


def test_member_channels_belong_to_one_of_their_teams(client, estate, member_search, team_vision):
    client.force_login(member_search)
    for team in ("", team_vision.pk):
        response = client.post(NEW_CHANNEL, channel_data(team=team, email_to="a@x.com"))
        assert response.status_code == 400 and "team" in errors_of(response)
    assert not NotificationChannel.objects.filter(name="Search oncall").exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://hooks.slack.com/services/T0/B0/pathsecret", "must start with https://"),
        ("https://evil.example.com/services/T0/B0/pathsecret", "host evil.example.com is not allowed"),
        ("https://user:pw@hooks.slack.com/services/pathsecret", "no user name or password"),
        ("", "needs its incoming-webhook URL"),
    ],
)
def test_a_bad_webhook_url_is_refused_and_not_echoed(client, estate, finops_admin, url, message):
    client.force_login(finops_admin)
    response = client.post(NEW_CHANNEL, channel_data(kind="slack", webhook_url=url))
    assert response.status_code == 400
    assert any(message in e for e in errors_of(response)["webhook_url"]), errors_of(response)
    assert "pathsecret" not in response.content.decode()
    assert not NotificationChannel.objects.filter(name="Search oncall").exists()


def test_a_webhook_is_stored_encrypted_and_never_rendered(client, estate, member_search, team_search):
    client.force_login(member_search)
    url = "https://hooks.slack.com/services/T111/B222/s3cr3tPathXYZ9"
    # A form sent back with an error must not echo the URL either.
    response = client.post(
        NEW_CHANNEL, channel_data(name="", kind="slack", team=team_search.pk, webhook_url=url)
    )
    assert response.status_code == 400 and "s3cr3t" not in response.content.decode()
    response = client.post(NEW_CHANNEL, channel_data(kind="slack", team=team_search.pk, webhook_url=url))
    assert response.status_code == 302
    channel = NotificationChannel.objects.get(name="Search oncall")
    assert channel.secret and url not in channel.secret and "s3cr3t" not in channel.secret
    assert crypto.decrypt(channel.secret) == url == channel.webhook_url
    assert channel.secret_hint == "hooks.slack.com/…XYZ9" and channel.email_to == []
    for page in (CHANNELS, reverse("alert-channel-edit", args=[channel.pk])):
        body = client.get(page).content.decode()
        assert "s3cr3t" not in body and channel.secret not in body and "hooks.slack.com/…XYZ9" in body


def test_a_blank_webhook_on_edit_keeps_the_stored_one_and_a_new_one_replaces_it(client, estate, finops_admin):
    vision = estate["channels"]["vision"]
    client.force_login(finops_admin)
    edit = reverse("alert-channel-edit", args=[vision.pk])
    data = channel_data(name="#vision-alerts", kind="slack", team=vision.team_id)
    assert client.post(edit, data).status_code == 302
    vision.refresh_from_db()
    assert (vision.name, vision.webhook_url) == ("#vision-alerts", WEBHOOK)
    new = "https://hooks.slack.com/services/T9/B9/another-one"
    assert client.post(edit, {**data, "webhook_url": new}).status_code == 302
    vision.refresh_from_db()
    assert vision.webhook_url == new and vision.secret_hint == "hooks.slack.com/…-one"
    # Turned into an email channel: the webhook is forgotten.
    assert client.post(edit, {**data, "kind": "email", "email_to": "v@example.com"}).status_code == 302
    vision.refresh_from_db()
    assert (vision.secret, vision.secret_hint, vision.email_to) == ("", "", ["v@example.com"])


def test_disabled_reason_is_shown_and_re_enabling_clears_it(client, estate, member_search):
    channel = estate["channels"]["search"]
    NotificationChannel.objects.filter(pk=channel.pk).update(
        enabled=False, disabled_reason="550 no such user"
    )
    client.force_login(member_search)
    body = client.get(CHANNELS).content.decode()
    assert '<div class="disabled-reason" role="alert">550 no such user</div>' in body
    edit = reverse("alert-channel-edit", args=[channel.pk])
    assert 'id="disabled-reason"' in client.get(edit).content.decode()
    data = channel_data(name=channel.name, team=channel.team_id, email_to="oncall@search.example.com")
    client.post(edit, {k: v for k, v in data.items() if k != "enabled"})  # saved, still disabled
    channel.refresh_from_db()
    assert (channel.enabled, channel.disabled_reason) == (False, "550 no such user")
    client.post(edit, data)
    channel.refresh_from_db()
    assert (channel.enabled, channel.disabled_reason) == (True, "")


def test_member_manages_only_their_teams_channels(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(CHANNELS).content.decode()
    assert "Search email" in body and "#vision-costs" not in body and "FinOps email" not in body
    for name in ("vision", "finops"):
        channel = estate["channels"][name]
        assert client.get(reverse("alert-channel-edit", args=[channel.pk])).status_code == 404
        assert client.post(reverse("alert-channel-delete", args=[channel.pk])).status_code == 404
    mine = estate["channels"]["search"]
    assert client.post(reverse("alert-channel-delete", args=[mine.pk])).status_code == 302
    assert not NotificationChannel.objects.filter(pk=mine.pk).exists()


def test_a_channels_page_lists_its_messages_without_naming_alerts_the_member_cannot_see(
    client, estate, member_search
):
    search = estate["channels"]["search"]
    notify(estate["alerts"]["account"], search, "sent", [(True, 250, "")])  # a FinOps rule named it
    client.force_login(member_search)
    body = client.get(reverse("alert-channel-edit", args=[search.pk])).content.decode()
    panel = body[body.index('id="channel-notifications"') :]
    assert "team Search" in panel and "endpoint search-ranker" in panel and "timed out after 20s" in panel
    assert "account prod" not in panel and "an alert of the FinOps admins" in panel


# --- the test button -------------------------------------------------------------------------------------
def test_the_test_button_sends_through_the_channel_and_says_so(client, estate, member_search, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    channel = estate["channels"]["search"]
    client.force_login(member_search)
    assert client.get(reverse("alert-channel-test", args=[channel.pk])).status_code == 405
    response = client.post(reverse("alert-channel-test", args=[channel.pk]), follow=True)
    assert response.redirect_chain[-1][0] == CHANNELS
    assert "Test message sent to “Search email”." in response.content.decode()
    assert [m.to for m in mail.outbox] == [["oncall@search.example.com"]]
    test = Notification.objects.get(event="test")
    assert (test.channel, test.status, test.requested_by) == (channel, "sent", member_search)


def test_a_test_message_that_cannot_be_delivered_yet_says_it_will_be_retried(client, estate, finops_admin,
                                                                             settings):  # fmt: skip
    settings.SLACK_WEBHOOK_HOSTS = ["127.0.0.1"]
    channel = estate["channels"]["vision"]
    channel.set_webhook_url(f"https://127.0.0.1:{free_port()}/services/T0/B0/closed")  # nothing listens
    channel.save()
    client.force_login(finops_admin)
    edit = reverse("alert-channel-edit", args=[channel.pk])
    response = client.post(reverse("alert-channel-test", args=[channel.pk]), {"next": edit}, follow=True)
    assert response.redirect_chain[-1][0] == edit
    test = Notification.objects.get(event="test")
    body = response.content.decode()
    assert test.last_error and test.last_error in body and "closed" not in test.last_error
    # Connection refused is transient: the message stays in the outbox for the next try.
    assert test.status == "pending" and test.attempts == 1
    assert "not sent yet" in body and "it will be retried" in body
    assert 'data-attempt="' in body  # the attempt is listed on the channel page
    assert "test message requested by fiona" in body


def test_a_failed_test_message_shows_the_error(client, estate, member_search, settings):
    smtp = SmtpServer().start()  # a real SMTP server that refuses the recipient for good
    smtp.refuse("550 5.1.1 no such user", at="RCPT")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    try:
        client.force_login(member_search)
        channel = estate["channels"]["search"]
        response = client.post(reverse("alert-channel-test", args=[channel.pk]), follow=True)
    finally:
        smtp.stop()
    body = response.content.decode()
    assert "Test message to “Search email” failed:" in body and "550" in body and "no such user" in body
    assert Notification.objects.get(event="test").status == "failed" and not smtp.received


def test_a_next_url_on_another_host_is_not_followed(client, estate, member_search, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(member_search)
    url = reverse("alert-channel-test", args=[estate["channels"]["search"].pk])
    assert client.post(url, {"next": "https://evil.example.com/"})["Location"] == CHANNELS


# --- admin ------------------------------------------------------------------------------------------------
def test_admin_channel_form_takes_a_write_only_webhook_and_encrypts_it(client, estate, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery")
    client.force_login(root)
    form = client.get("/admin/dashboard/notificationchannel/add/").content.decode()
    assert 'name="webhook_url"' in form and 'type="password"' in form and 'name="secret"' not in form
    url = "https://hooks.slack.com/services/T1/B1/adminsecretAB12"
    add = "/admin/dashboard/notificationchannel/add/"
    refused = client.post(add, {"name": "ops", "kind": "slack", "webhook_url": url.replace("https", "http")})
    assert refused.status_code == 200 and "must start with https://" in refused.content.decode()
    response = client.post(add, {"name": "ops", "kind": "slack", "webhook_url": url, "enabled": "on"})
    assert response.status_code == 302
    channel = NotificationChannel.objects.get(name="ops")
    assert channel.webhook_url == url and "adminsecret" not in channel.secret and channel.team is None
    change = client.get(f"/admin/dashboard/notificationchannel/{channel.pk}/change/").content.decode()
    assert "adminsecret" not in change and channel.secret not in change and "hooks.slack.com/…AB12" in change
    for page in ("alert", "notification", "deliveryattempt", "budgetrule", "forecastbaseline"):
        assert client.get(f"/admin/dashboard/{page}/").status_code in (200, 404), page
    assert client.get("/admin/dashboard/alert/").status_code == 200
    assert client.get("/admin/dashboard/alert/add/").status_code == 403
    alert = estate["alerts"]["search"]
    detail = client.get(f"/admin/dashboard/alert/{alert.pk}/change/")
    assert detail.status_code == 200 and 'name="ratio"' not in detail.content.decode()
