"""The app's configuration, declared once.

Every setting has a name, a default and a help text (`SETTINGS`); a test checks
that the README documents each one. Values come from the environment, and a
`.env` file in the working directory is honoured without overriding variables
that are already set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its environment name, default and meaning."""

    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("SALES_BACKEND", "embedded", "`embedded` or `druid`"),
    Setting("SALES_DATA_DIR", "./data", "embedded store and upload audit log"),
    Setting("DRUID_URL", "http://localhost:8888", "Druid router (or broker)"),
    Setting("DRUID_DATASOURCE", "sales_analytics", "datasource name"),
    Setting("SALES_TIMEZONE", "Africa/Nairobi", "business time zone"),
    Setting("SALES_AUTH_FILE", "./data/users.yaml", "users, roles, hashed passwords"),
    Setting("SALES_LOG_LEVEL", "INFO", "log level: DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    Setting("SALES_ENV", "development", "`development` or `production` (requires a cookie key)"),
    Setting(
        "SALES_COOKIE_KEY", "", "secret that signs login cookies (or `cookie_key` in secrets.toml)"
    ),
    Setting(
        "SALES_WARM_UP",
        "on",
        "`on` or `off`: compute every page's default view after each data change",
    ),
    Setting(
        "SALES_PUBLIC_URL",
        "http://localhost:8501",
        "the dashboard's address as readers open it: e-mailed reports link back to it",
    ),
    Setting(
        "SALES_SMTP_URL",
        "",
        "mail server for reports and alerts: `smtp://host:port` (`?starttls=on` to upgrade)"
        " or `smtps://host:port`; `ca=/path/ca.pem` trusts that CA bundle instead of the"
        " system's; unset, nothing is sent",
    ),
    Setting("SALES_SMTP_USER", "", "mail server login (none: no login)"),
    Setting(
        "SALES_SMTP_PASSWORD",
        "",
        "mail server password; or `SALES_SMTP_PASSWORD_FILE`, a file holding it (a Docker secret)",
    ),
    Setting("SALES_MAIL_FROM", "sales-analytics@localhost", "sender address of reports and alerts"),
)

BACKENDS = ("embedded", "druid")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENVIRONMENTS = ("development", "production")
SWITCHES = {"on": True, "off": False}
# A cookie key shorter than this is refused: it would be guessable.
MIN_COOKIE_KEY_LENGTH = 32


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration values."""

    backend: str
    data_dir: Path
    druid_url: str
    druid_datasource: str
    timezone: str
    auth_file: Path
    log_level: str = "INFO"
    environment: str = "development"
    cookie_key: str = field(default="", repr=False)
    warm_up: bool = True
    public_url: str = "http://localhost:8501"
    smtp_url: str = ""
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    mail_from: str = "sales-analytics@localhost"

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def store_dir(self) -> Path:
        """Where the embedded store keeps its table."""
        return self.data_dir / "sales"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _value(name: str, env: dict[str, str]) -> str:
    default = next(s.default for s in SETTINGS if s.name == name)
    return env.get(name, "").strip() or default


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the settings from `env` (default: the process environment plus `.env`).

    Raises
    ------
    SettingsError
        If a value is not allowed; the message names the variable and the value.
    """
    if env is None:
        load_dotenv(override=False)
        env = dict(os.environ)
    backend = _value("SALES_BACKEND", env).lower()
    if backend not in BACKENDS:
        raise SettingsError(f"SALES_BACKEND={backend!r}: expected one of {', '.join(BACKENDS)}")
    timezone = _value("SALES_TIMEZONE", env)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"SALES_TIMEZONE={timezone!r}: not a known IANA time zone") from exc
    druid_url = _value("DRUID_URL", env).rstrip("/")
    if not druid_url.startswith(("http://", "https://")):
        raise SettingsError(f"DRUID_URL={druid_url!r}: expected an http:// or https:// URL")
    environment = _value("SALES_ENV", env).lower()
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"SALES_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
    cookie_key = env.get("SALES_COOKIE_KEY", "").strip()
    if cookie_key and len(cookie_key) < MIN_COOKIE_KEY_LENGTH:
        raise SettingsError(f"SALES_COOKIE_KEY: needs at least {MIN_COOKIE_KEY_LENGTH} characters")
    log_level = _value("SALES_LOG_LEVEL", env).upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(
            f"SALES_LOG_LEVEL={log_level!r}: expected one of {', '.join(LOG_LEVELS)}"
        )
    warm_up = _value("SALES_WARM_UP", env).lower()
    if warm_up not in SWITCHES:
        raise SettingsError(f"SALES_WARM_UP={warm_up!r}: expected on or off")
    public_url = _value("SALES_PUBLIC_URL", env).rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise SettingsError(f"SALES_PUBLIC_URL={public_url!r}: expected an http:// or https:// URL")
    smtp_url = env.get("SALES_SMTP_URL", "").strip()
    if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
        raise SettingsError("SALES_SMTP_URL: expected smtp://host:port or smtps://host:port")
    smtp_password = env.get("SALES_SMTP_PASSWORD", "")
    password_file = env.get("SALES_SMTP_PASSWORD_FILE", "").strip()
    if password_file and not smtp_password:
        try:
            smtp_password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SettingsError(f"SALES_SMTP_PASSWORD_FILE: cannot read it ({reason})") from exc
    return Settings(
        public_url=public_url,
        smtp_url=smtp_url,
        smtp_user=env.get("SALES_SMTP_USER", "").strip(),
        smtp_password=smtp_password,
        mail_from=_value("SALES_MAIL_FROM", env),
        warm_up=SWITCHES[warm_up],
        log_level=log_level,
        environment=environment,
        cookie_key=cookie_key,
        backend=backend,
        data_dir=Path(_value("SALES_DATA_DIR", env)),
        druid_url=druid_url,
        druid_datasource=_value("DRUID_DATASOURCE", env),
        timezone=timezone,
        auth_file=Path(_value("SALES_AUTH_FILE", env)),
    )
