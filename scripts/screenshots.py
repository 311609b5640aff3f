"""Screenshots of every page for the README: `python -m scripts.screenshots URL OUT_DIR`.

Drives Debian's Chromium against a running dashboard (`make run`), signs in as
`--username` with the password in SCREENSHOT_PASSWORD, waits until each page's
charts are drawn, and writes OUT_DIR/<page>.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.signin import sign_in

PAGES = (
    "overview",
    "salespeople",
    "products",
    "branches",
    "customers",
    "pipeline",
    "targets",
    "diagnostics",
)
DRAWN = """() => {
    const app = document.querySelector('[data-testid=stApp]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid=stSkeleton]')
        && [...document.querySelectorAll('[data-testid=stEChartsChart]')]
             .every(chart => chart.querySelector('svg, canvas'));
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="the dashboard, e.g. http://localhost:8501")
    parser.add_argument("out", type=Path)
    parser.add_argument("--query", default="", help="filters for every page, e.g. start=2026-01-01")
    parser.add_argument("--height", type=int, default=1800, help="viewport height in pixels")
    parser.add_argument(
        "--username", default="admin", help="who signs in (password: SCREENSHOT_PASSWORD)"
    )
    parser.add_argument(
        "--pages", nargs="+", choices=PAGES, default=list(PAGES), help="only these pages"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": args.height})
        password = os.environ.get("SCREENSHOT_PASSWORD", "")
        try:
            credentials = (args.username, password) if password else None
            sign_in(page, args.url, credentials, required=False)
        except AssertionError as exc:
            raise SystemExit(
                f"could not sign in as {args.username}: set SCREENSHOT_PASSWORD to their password"
            ) from exc
        for name in args.pages:
            path = "" if name == "overview" else name  # the default page lives at the root
            page.goto(f"{args.url.rstrip('/')}/{path}?{args.query}")
            page.wait_for_selector("h1", timeout=120_000)
            page.wait_for_function(DRAWN, timeout=120_000)
            page.wait_for_timeout(1000)  # let fonts and the data grid's canvas settle
            page.screenshot(path=str(args.out / f"{name}.png"))
            print(f"wrote {args.out / name}.png")
        browser.close()


if __name__ == "__main__":
    main()
