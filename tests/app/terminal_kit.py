"""The real terminal on the embedded market, offscreen, for pytest-qt tests: open it, advance
the simulated market (the SimClock is driven by the test, not by wall time), close it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.store.journal import MemoryJournal
from app.composition import Terminal, build_terminal
from app.settings import load_settings
from core.actors import Actor


@contextmanager
def open_terminal(qtbot, tmp_path: Path, actor: Actor, mc_paths: int = 500) -> Iterator[Terminal]:  # type: ignore[no-untyped-def]
    settings = load_settings(tmp_path / "absent.toml", env={}, overrides=[f"general.data_dir={tmp_path}"])
    term = build_terminal(
        settings, None, actor=actor, start_pacer=False, restore_layout=False,
        settings_scope="BlockhouseTest", mc_paths=mc_paths, journal=MemoryJournal(),
    )  # fmt: skip
    qtbot.addWidget(term.window)
    term.window.resize(1920, 1080)
    term.window.show()
    qtbot.waitExposed(term.window)
    try:
        yield term
    finally:
        term.shutdown()


def advance(term: Terminal, seconds: float, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Run the simulated market `seconds` forward, then push every view."""
    market, bridge = term.market, term.bridge
    assert market is not None and bridge is not None
    end = market.clock.now() + seconds
    while market.clock.now() < end:
        market.clock.run_until(min(end, market.clock.now() + 5.0))
    bridge.flush_all()
    qtbot.wait(1)
