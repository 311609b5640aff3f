"""What the warm-up computes for: one view per branch restriction in the users file."""

from __future__ import annotations

from pathlib import Path

from core.settings import load_settings
from core.users import UserFile
from ui.warmup import Warmer, WarmUp, restrictions, warm_up_status


def test_every_distinct_restriction_once_after_the_unrestricted_view(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    users = UserFile(path)
    users.add("boss", "a-long-password-1", role="admin")
    users.add("coast", "a-long-password-2", role="viewer", branches=("Mombasa",))
    users.add("coast2", "a-long-password-3", role="viewer", branches=("Mombasa",))
    users.add("west", "a-long-password-4", role="viewer", branches=("Nakuru", "Kisumu"))
    settings = load_settings({"SALES_AUTH_FILE": str(path)})
    assert restrictions(settings) == [None, ("Mombasa",), ("Nakuru", "Kisumu")]


def test_an_unreadable_users_file_still_warms_the_unrestricted_view(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("credentials: [not, a, mapping")
    assert restrictions(load_settings({"SALES_AUTH_FILE": str(path)})) == [None]


def test_the_diagnostics_sentence_says_what_the_last_warm_up_did() -> None:
    assert "SALES_WARM_UP=off" in warm_up_status(None)
    warmer = Warmer(load_settings({}))  # not started
    assert "first time" in warm_up_status(warmer)
    warmer.last = WarmUp("delta-7", finished_at=0.0, seconds=1.25, views=2)
    assert warm_up_status(warmer) == (
        "Default views warmed at 00:00:00 UTC for data version delta-7: "
        "2 branch restriction(s) in 1.2 s."
    )
