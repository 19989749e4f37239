"""Cases fixtures: the notify tests' loopback SMTP server, for escalation and outcome e-mail."""

from tests.notify.conftest import smtp_server  # noqa: F401  (shared fixture)
