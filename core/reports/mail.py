"""Sending mail: SMTP from `SALES_SMTP_URL`, retried with back-off, failures in one line.

The standard library's `smtplib` and `email` packages: maintained with Python,
enough for one message with an HTML part, a plain-text part, an inline image
and attachments. `smtp://host:port` speaks plain SMTP (`?starttls=on` upgrades
the connection), `smtps://host:port` TLS from the first byte. Either way the
server's certificate is verified, against the system's CAs or, with
`?ca=/path/to/ca.pem`, against that bundle alone (a company's own CA). The login
is `SALES_SMTP_USER` / `SALES_SMTP_PASSWORD` (or credentials in the URL); neither
appears in a message of `MailError` or in the logs.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from core.settings import Settings

log = logging.getLogger("core.reports.mail")

# Seconds to wait before each retry of a send that failed for a reason that may pass
# (server down, connection cut): about three minutes in all, then it is recorded failed.
BACKOFF: tuple[float, ...] = (10.0, 40.0, 120.0)
# A mail server slower than this to answer is treated as down (seconds).
SMTP_TIMEOUT = 30
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE = ("on", "true", "yes", "1")


class MailError(RuntimeError):
    """Mail could not be sent; the message says why, without credentials.

    `transient` says a later attempt may succeed (server down or cut off);
    a refused login or a refused address will not pass by waiting.
    """

    def __init__(self, message: str, transient: bool, attempts: int = 1) -> None:
        super().__init__(message)
        self.transient = transient
        self.attempts = attempts


class MailNotConfigured(MailError):
    """`SALES_SMTP_URL` is not set."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: from `SALES_SMTP_URL` and the credentials settings."""

    host: str
    port: int
    tls: bool  # TLS from the first byte (smtps://)
    starttls: bool
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = "sales-analytics@localhost"
    ca_file: str = ""  # the CA bundle to trust instead of the system's (`?ca=`)

    @property
    def address(self) -> str:
        """The server as messages name it: no credentials."""
        return f"{'smtps' if self.tls else 'smtp'}://{self.host}:{self.port}"


def smtp_config(settings: Settings) -> SmtpConfig:
    """The mail server of `settings`.

    Raises
    ------
    MailNotConfigured
        If `SALES_SMTP_URL` is not set.
    MailError
        If the URL has no host or a bad port.
    """
    if not settings.smtp_url:
        raise MailNotConfigured("no mail server: set SALES_SMTP_URL (smtp://host:port)", False)
    parts = urlsplit(settings.smtp_url)
    if not parts.hostname:
        raise MailError("SALES_SMTP_URL names no host: expected smtp://host:port", False)
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise MailError("SALES_SMTP_URL has a port that is not a number", False) from exc
    options = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    tls = parts.scheme == "smtps"
    starttls = options.get("starttls", "off").lower() in TRUE
    ca_file = options.get("ca", "")
    if ca_file and not (tls or starttls):
        raise MailError("SALES_SMTP_URL: ?ca= needs smtps:// or ?starttls=on", False)
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        tls=tls,
        starttls=starttls,
        ca_file=ca_file,
        user=settings.smtp_user or unquote(parts.username or ""),
        password=settings.smtp_password or unquote(parts.password or ""),
        sender=settings.mail_from,
    )


def send_once(config: SmtpConfig, message: EmailMessage) -> None:
    """One attempt to hand `message` to the server.

    Raises
    ------
    MailError
        With a one-line reason: the server cannot be reached, refused the login,
        the TLS upgrade or a recipient.
    """
    where = config.address
    context = tls_context(config)
    hint = ""  # what to change when a plain connection is refused by a server that offers TLS
    try:
        client: smtplib.SMTP
        if config.tls:
            client = smtplib.SMTP_SSL(
                config.host, config.port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT)
        with client:
            if config.starttls:
                client.starttls(context=context)
            elif not config.tls:
                client.ehlo_or_helo_if_needed()
                if client.has_extn("starttls"):
                    hint = "; it offers STARTTLS: add ?starttls=on to SALES_SMTP_URL"
            if config.user:
                client.login(config.user, config.password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"{where} refused the login of {config.user!r}: {_reply(exc)}", transient=False
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{where}: {str(exc).rstrip('.')}{hint}", transient=False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(exc.recipients)
        raise MailError(f"{where} refused the recipient {refused}", transient=False) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"{where} refused the sender {config.sender}: {_reply(exc)}{hint}", transient=False
        ) from None
    except ssl.SSLCertVerificationError as exc:
        # Waiting will not make an unknown CA or a wrong host name trusted: not retried.
        raise MailError(
            f"{where}: the server's certificate could not be verified ({exc.verify_message});"
            " if its CA is your own, name it with ?ca=/path/to/ca.pem in SALES_SMTP_URL",
            transient=False,
        ) from None
    except smtplib.SMTPResponseException as exc:
        # 4xx replies are the server saying "not now"; 5xx are final.
        raise MailError(
            f"{where} answered {_reply(exc)}{hint}", transient=exc.smtp_code < 500
        ) from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise MailError(f"{where}: {type(exc).__name__}: {exc}", transient=True) from None
    except (ConnectionRefusedError, TimeoutError) as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else "timed out"
        raise MailError(f"cannot reach the mail server {where}: {reason}", transient=True) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MailError(f"cannot reach the mail server {where}: {reason}", transient=True) from None


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    """The verifying TLS context of `config`: the system's CAs, or its `ca_file` alone.

    Raises
    ------
    MailError
        If the CA file cannot be read or holds no certificate.
    """
    try:
        return ssl.create_default_context(cafile=config.ca_file or None)
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = exc.strerror or getattr(exc, "reason", None) or type(exc).__name__
        raise MailError(
            f"SALES_SMTP_URL: cannot use the CA file {config.ca_file}: {reason}", False
        ) from None


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()


def send(
    config: SmtpConfig,
    message: EmailMessage,
    backoff: Sequence[float] = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send `message`, retrying a transient failure after each pause of `backoff`.

    Returns
    -------
    int
        The attempts it took.

    Raises
    ------
    MailError
        The last attempt's reason, with the number of attempts.
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            send_once(config, message)
            return attempts
        except MailError as exc:
            if not exc.transient or attempts > len(backoff):
                tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                raise MailError(f"{exc}{tries}", exc.transient, attempts) from None
            pause = backoff[attempts - 1]
            log.warning("send failed, retrying", extra={"reason": str(exc), "retry_in_s": pause})
            sleep(pause)
