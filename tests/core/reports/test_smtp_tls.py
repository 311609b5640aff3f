"""Mail over TLS, for real: aiosmtpd with STARTTLS and with TLS from the first byte, its
certificate issued for the test by a local CA (trustme), verified by the client."""

from __future__ import annotations

import io
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.reports.book import ReportBook
from core.reports.mail import MailError, smtp_config
from core.reports.schedules import parse_schedule
from core.reports.service import ReportService, RunResult
from core.settings import Settings
from core.stores.embedded import EmbeddedStore
from tests.core.reports.conftest import SMTP_PASSWORD, SMTP_USER, Inbox, free_port, report_settings

# The day the reports are sent on: the day after the sample's last day.
SENT = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
OCTOBER = {"start": ["2026-10-01"], "end": ["2026-10-31"]}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Retries in tests wait milliseconds, not minutes.
FAST = (0.01, 0.02)

StartServer = Callable[..., tuple[int, Inbox, list[bytes]]]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """The test's own certificate authority: trusted only where a test names its file."""
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    """A server's TLS context with a certificate `ca` issued for `names`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture()
def start_server(ca: trustme.CA) -> Iterator[StartServer]:
    """Start aiosmtpd on a free loopback port: `starttls` (required) or `smtps`.

    Returns the port, the inbox and the logins the server accepted; every server is
    stopped after the test.
    """
    controllers: list[Controller] = []

    def start(
        mode: str, auth: bool = False, issuer: trustme.CA | None = None, name: str = "127.0.0.1"
    ) -> tuple[int, Inbox, list[bytes]]:
        port, inbox, logins = free_port(), Inbox(), []
        context = server_context(issuer or ca, name)
        # STARTTLS on a plain port, required before MAIL; or TLS from the first byte.
        options: dict[str, Any] = (
            {"tls_context": context, "require_starttls": True}
            if mode == "starttls"
            else {"ssl_context": context}
        )
        if auth:

            def known(server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
                ok = auth_data.login == SMTP_USER.encode() and auth_data.password == (
                    SMTP_PASSWORD.encode()
                )
                if ok:
                    logins.append(auth_data.login)
                return AuthResult(success=ok, handled=False)

            # AUTH only once the connection is encrypted. aiosmtpd counts only STARTTLS as
            # encrypted, so over smtps (TLS from the first byte) it must not ask for more.
            require_tls = mode == "starttls"
            options |= {
                "auth_required": True,
                "auth_require_tls": require_tls,
                "authenticator": known,
            }
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return port, inbox, logins

    yield start
    for controller in controllers:
        controller.stop()


def run_report(store: EmbeddedStore, settings: Settings) -> RunResult:
    book = ReportBook(settings.data_dir)
    subscription = book.add_subscription(
        "admin", "manager@example.co.ke", "overview", OCTOBER, parse_schedule("daily 07:00")
    )
    service = ReportService(settings, store, clock=lambda: SENT, backoff=FAST)
    return service.run_report(subscription.id)


def body(message: EmailMessage, subtype: str) -> str:
    """The message's `text/subtype` part, decoded."""
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def assert_is_the_report(message: EmailMessage) -> None:
    """The received mail parses into the report: its address, HTML, text, chart, workbook."""
    assert message["To"] == "manager@example.co.ke"
    assert message["From"] == "reports@example.co.ke"
    link = "https://sales.example.co.ke/?start=2026-10-01&end=2026-10-31"  # the overview
    html = body(message, "html")
    assert 'data-kpi="net_sales"' in html and link.replace("&", "&amp;") in html
    assert link in body(message, "plain")
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    workbooks = {a.get_filename() or "": a for a in message.iter_attachments()}
    assert sorted(workbooks) == [
        "overview_2026-10-01_to_2026-10-31.xlsx",
        "trend_2026-10-01_to_2026-10-31.xlsx",
    ]
    overview = workbooks["overview_2026-10-01_to_2026-10-31.xlsx"]
    assert overview.get_content_type() == XLSX
    columns = pl.read_excel(io.BytesIO(overview.get_content()), sheet_name="columns")
    assert "net_sales" in columns["Column (CSV)"].to_list()


# Each way of speaking TLS, as its SALES_SMTP_URL (the port filled in per test).
TLS_URLS = [
    ("starttls", "smtp://127.0.0.1:{port}?starttls=on"),
    ("smtps", "smtps://127.0.0.1:{port}"),
]


def trusting(url: str, ca_file: Path) -> str:
    """`url` told to trust the test's CA alone."""
    return f"{url}{'&' if '?' in url else '?'}ca={ca_file}"


@pytest.mark.parametrize(
    ("mode", "url"),
    TLS_URLS,
)
def test_a_report_sent_over_tls_arrives_and_parses(
    store_dir: Path,
    store: EmbeddedStore,
    tmp_path: Path,
    start_server: StartServer,
    ca_file: Path,
    mode: str,
    url: str,
) -> None:
    port, inbox, _ = start_server(mode)
    smtp_url = trusting(url.format(port=port), ca_file)
    result = run_report(store, report_settings(store_dir, tmp_path, smtp_url))
    assert (result.status, result.attempts) == ("sent", 1), result.detail
    (message,) = inbox.wait(1)
    assert_is_the_report(message)


# aiosmtpd warns that AUTH without TLS is unsafe: over smtps the connection is TLS already.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(
    ("mode", "url"),
    TLS_URLS,
)
def test_a_login_over_tls_works_and_a_wrong_password_is_refused_clearly(
    store_dir: Path,
    store: EmbeddedStore,
    tmp_path: Path,
    start_server: StartServer,
    ca_file: Path,
    mode: str,
    url: str,
) -> None:
    port, inbox, logins = start_server(mode, auth=True)
    smtp_url = trusting(url.format(port=port), ca_file)
    good = report_settings(
        store_dir,
        tmp_path / "good",
        smtp_url,
        SALES_SMTP_USER=SMTP_USER,
        SALES_SMTP_PASSWORD=SMTP_PASSWORD,
    )
    result = run_report(store, good)
    assert result.status == "sent", result.detail
    assert logins == [SMTP_USER.encode()]
    assert_is_the_report(inbox.wait(1)[0])

    bad = report_settings(
        store_dir,
        tmp_path / "bad",
        smtp_url,
        SALES_SMTP_USER=SMTP_USER,
        SALES_SMTP_PASSWORD=SMTP_PASSWORD[::-1],  # the wrong one
    )
    result = run_report(store, bad)
    assert (result.status, result.attempts) == ("failed", 1)  # a refusal is not retried
    where = url.format(port=port).split("?")[0]
    assert result.detail.startswith(f"{where} refused the login of 'reporter': 535")
    assert "not-the-password" not in result.detail
    assert len(inbox.messages) == 1


@pytest.mark.parametrize(
    ("mode", "url"),
    TLS_URLS,
)
@pytest.mark.parametrize("trust", ["system CAs", "another CA", "issued for another server"])
def test_a_certificate_that_cannot_be_verified_is_a_clear_error_not_retried(
    store_dir: Path,
    store: EmbeddedStore,
    tmp_path: Path,
    start_server: StartServer,
    ca: trustme.CA,
    ca_file: Path,
    mode: str,
    url: str,
    trust: str,
) -> None:
    if trust == "system CAs":  # the test CA is not among them
        port, inbox, _ = start_server(mode)
        smtp_url, reason = url.format(port=port), "unable to get local issuer certificate"
    elif trust == "another CA":  # the server's certificate comes from a CA not named
        port, inbox, _ = start_server(mode, issuer=trustme.CA())
        smtp_url, reason = url.format(port=port), "unable to get local issuer certificate"
        smtp_url += f"{'&' if '?' in smtp_url else '?'}ca={ca_file}"
    else:  # the trusted CA issued it, but for another server
        port, inbox, _ = start_server(mode, name="mail.example.co.ke")
        smtp_url, reason = url.format(port=port), "IP address mismatch"
        smtp_url += f"{'&' if '?' in smtp_url else '?'}ca={ca_file}"
    result = run_report(store, report_settings(store_dir, tmp_path, smtp_url))
    assert (result.status, result.attempts) == ("failed", 1), result.detail
    where = smtp_url.split("?")[0]
    assert result.detail.startswith(f"{where}: the server's certificate could not be verified")
    assert reason in result.detail and "?ca=" in result.detail
    (failed,) = ReportBook(tmp_path).deliveries(status="failed")
    assert failed.error == result.detail
    assert not inbox.messages


def test_plain_smtp_to_a_server_requiring_starttls_says_to_turn_it_on(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, start_server: StartServer
) -> None:
    port, inbox, _ = start_server("starttls")
    result = run_report(store, report_settings(store_dir, tmp_path, f"smtp://127.0.0.1:{port}"))
    assert (result.status, result.attempts) == ("failed", 1), result.detail
    assert "530 Must issue a STARTTLS command first" in result.detail
    assert result.detail.endswith("it offers STARTTLS: add ?starttls=on to SALES_SMTP_URL")
    assert not inbox.messages


def test_a_plain_login_to_a_server_offering_auth_only_over_tls_says_to_turn_it_on(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, start_server: StartServer
) -> None:
    port, inbox, logins = start_server("starttls", auth=True)
    settings = report_settings(
        store_dir,
        tmp_path,
        f"smtp://127.0.0.1:{port}",
        SALES_SMTP_USER=SMTP_USER,
        SALES_SMTP_PASSWORD=SMTP_PASSWORD,
    )
    result = run_report(store, settings)
    assert (result.status, result.attempts) == ("failed", 1), result.detail
    assert result.detail == (
        f"smtp://127.0.0.1:{port}: SMTP AUTH extension not supported by server;"
        " it offers STARTTLS: add ?starttls=on to SALES_SMTP_URL"
    )
    assert SMTP_PASSWORD not in result.detail and not logins and not inbox.messages


def test_a_ca_file_that_cannot_be_used_is_named_and_not_retried(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, start_server: StartServer
) -> None:
    port, _, _ = start_server("smtps")
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate\n")
    for path, reason in ((tmp_path / "missing.pem", "No such file"), (not_pem, "no certificate")):
        book_dir = tmp_path / f"book-{path.stem}"
        url = f"smtps://127.0.0.1:{port}?ca={path}"
        result = run_report(store, report_settings(store_dir, book_dir, url))
        assert (result.status, result.attempts) == ("failed", 1), result.detail
        assert result.detail.startswith(f"SALES_SMTP_URL: cannot use the CA file {path}: ")
        assert reason in result.detail


def test_the_ca_option_keeps_its_path_and_needs_tls(tmp_path: Path) -> None:
    from core.settings import load_settings

    path = "/etc/Company/CA.pem"  # a path's case is kept, unlike the option's name
    config = smtp_config(
        load_settings({"SALES_SMTP_URL": f"smtp://mail:587?StartTLS=ON&CA={path}"})
    )
    assert (config.starttls, config.ca_file, config.address) == (True, path, "smtp://mail:587")
    with pytest.raises(MailError, match=r"\?ca= needs smtps:// or \?starttls=on"):
        smtp_config(load_settings({"SALES_SMTP_URL": f"smtp://mail:25?ca={path}"}))
