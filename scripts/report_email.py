"""The README's picture of a report e-mail, as a mail client shows it, rendered in Chromium.

    python -m scripts.report_email docs/report-email.png

Builds the Branches report of October 2026 from a generated 60,000-line sample
in a temporary store (the message `python -m core.reports run` would send),
puts its inline chart into the HTML in place of the `cid:` reference, as a
mail client does, and takes a picture of it in headless Chromium.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import polars as pl

from core.reports.content import build_report, report_message
from core.schema import with_derived_measures
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales

SAMPLE_END = date(2026, 10, 31)
ROWS = 60_000  # the size of the test suite's sample
WIDTH, HEIGHT = 700, 980


def _message(work: Path) -> EmailMessage:
    lines = generate_sales(ROWS, seed=11, end=SAMPLE_END)
    stored = with_derived_measures(
        lines.with_columns(
            pl.col("sold_at").dt.replace_time_zone("Africa/Nairobi").dt.convert_time_zone("UTC")
        )
    )
    store = EmbeddedStore(work / "sales")
    store.write(stored, "append")
    report = build_report(
        store,
        "branches",
        {"start": ["2026-10-01"], "end": ["2026-10-31"]},
        today=date(2026, 11, 1),
        allowed_branches=None,
    )
    return report_message(
        report, "https://sales.example.co.ke", "reports@example.co.ke", "manager@example.co.ke"
    )


def as_shown(message: EmailMessage) -> str:
    """The HTML part with each inline image in place, as a mail client draws it."""
    body = message.get_body(("html",))
    assert body is not None
    html = str(body.get_content())  # type: ignore[attr-defined]
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_type().startswith("image/"):
            data = base64.b64encode(part.get_payload(decode=True)).decode("ascii")  # type: ignore[arg-type]
            html = html.replace(f"cid:{cid.strip('<>')}", f"data:image/png;base64,{data}")
    header = (
        f"<p style='font:13px Arial;color:#555;border-bottom:1px solid #ddd;padding-bottom:6px'>"
        f"<b>{message['Subject']}</b><br>From {message['From']} to {message['To']}<br>"
        + "Attached: "
        + ", ".join(str(a.get_filename()) for a in message.iter_attachments())
        + "</p>"
    )
    return html.replace("<h2", header + "<h2", 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.report_email")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        page = work / "mail.html"
        page.write_text(as_shown(_message(work)), encoding="utf-8")
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--screenshot={args.out.resolve()}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
