"""`python main.py kill --user NAME`: the supervisor's kill switch without the terminal.

Cancels every order on every configured venue (cancel-all, then one by one) and writes HALTED to
the journal, so the terminal comes up halted after a restart. Supervisor login required.

The venues are those of the settings (`market.mode = "live"`, `[venues]`; see app/venues.py and
docs/connectivity.md) and the journal is `journal.url` — the same settings the terminal and
`python main.py run` use, e.g. `python main.py --settings desk.toml kill --user sam`.

Stdout is the JSON report alone; stderr says which journal was halted and where its location came
from, and, without exchange venues, what the kill does not reach (the embedded market's sessions).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from adapters.store.journal import SqlJournal
from app.auth import add_login_arguments, login
from app.commands.common import add_settings_arguments, command_settings
from app.settings import Settings
from core.actors import require_supervisor
from core.risk.standalone_kill import standalone_kill


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("kill", help="supervisor kill switch: cancel everything everywhere, HALT")
    add_login_arguments(parser)
    parser.add_argument("--reason", default="standalone kill")
    add_settings_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = command_settings(args)
    actor = login(settings, args)
    require_supervisor(actor, "the kill switch")
    from app.venues import build_live_venues

    venues, symbols = build_live_venues(settings)  # a configuration mistake is reported before anything is sent
    journal = SqlJournal(settings.journal_url, durable=bool(settings.get("journal.durable")))
    try:
        report = standalone_kill(venues, symbols, journal, actor, time.time, reason=args.reason)
    finally:
        journal.close()
    print(
        json.dumps(
            {
                "venues": report.venues,
                "cancel_all_sent": report.cancel_all_sent,
                "canceled_one_by_one": report.canceled_one_by_one,
                "left_open": report.left_open,
                "errors": report.errors,
                "journal": settings.journal_url,
                "journal_origin": settings.journal_origin,
                "state": "halted",
            },
            indent=2,
        )
    )
    print(f"halted {settings.journal_url} ({settings.journal_origin})", file=sys.stderr)
    if not venues:
        print(sim_note(settings), file=sys.stderr)
    return 0 if report.clean else 1


def sim_note(settings: Settings) -> str:
    """What a kill without exchange venues reaches. The terminal on the embedded market journals
    each session to its own file, and watches the desk journal for a kill (app/desk_halt.py)."""
    return (
        f"note: market.mode is '{settings.get('market.mode')}': no exchange venue to cancel on. `run` and a live "
        "terminal with these settings come up halted; a terminal on the embedded market (which journals each "
        f"session to {settings.data_dir / 'sim-journals'}) halts within a second and opens halted until a "
        "supervisor resets the kill switch in a window"
    )
