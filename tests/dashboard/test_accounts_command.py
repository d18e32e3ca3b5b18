import pytest
from django.core.management import CommandError, call_command

from dashboard.models import AwsAccount

ROLE = "arn:aws:iam::222222222222:role/SageMakerDashboardReadOnly"


@pytest.mark.django_db
def test_add_update_disable_list_remove(capsys):
    call_command(
        "accounts",
        "add",
        "222222222222",
        "--label",
        "prod",
        "--role-arn",
        ROLE,
        "--regions",
        "us-east-1, eu-west-1",
    )
    account = AwsAccount.objects.get(account_id="222222222222")
    assert (account.label, account.role_arn, account.regions, account.enabled) == (
        "prod", ROLE, ["us-east-1", "eu-west-1"], True,
    )  # fmt: skip
    call_command("accounts", "update", "222222222222", "--regions", "eu-central-1")
    call_command("accounts", "disable", "222222222222")
    account.refresh_from_db()
    assert account.regions == ["eu-central-1"] and account.enabled is False
    capsys.readouterr()
    call_command("accounts", "list")
    assert "222222222222  prod  eu-central-1  " + ROLE + "  disabled" in capsys.readouterr().out
    call_command("accounts", "remove", "222222222222")
    assert not AwsAccount.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,message",
    [
        (["add", "12345"], "account_id: An AWS account id is 12 digits"),
        (["add", "222222222222", "--role-arn", "arn:aws:iam::1:user/x"], "role_arn: Not an IAM role ARN"),
        (["add", "222222222222", "--regions", "mars-1"], "regions"),
        (["update", "999999999999"], "no account 999999999999"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_stored(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("accounts", *args)
    assert not AwsAccount.objects.exists()
