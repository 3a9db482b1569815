"""`python main.py export --journal PATH [--day YYYY-MM-DD] --csv DIR`: compliance and operations
extract of a journal — parents, children, fills (venue ids and fees), OTC fills, every RFQ quote
with its decision and actor, overrides, risk events and the adaptive policy's decisions (what
`train --fills` refits from). One CSV per table; times in UTC ISO 8601; numbers as plain decimals
(60000, never 6E+4: a spreadsheet or a compliance system must read the digits as written).

The journal is only read: a file that is not a Blockhouse journal is refused before anything opens
it for writing, and the folder is checked before the journal is read.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.store.journal import SqlJournal
from app.commands.common import check_output_folder
from core.oms import OrderManager

TABLES = ("parents", "children", "fills", "otc_fills", "rfq_quotes", "overrides", "risk_events", "decisions")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("export", help="export a journal to CSV files for compliance and operations")
    parser.add_argument("--journal", required=True, help="journal file or SQLAlchemy URL")
    parser.add_argument("--day", help="only records of this UTC day (YYYY-MM-DD)")
    parser.add_argument("--csv", required=True, type=Path, help="directory to write the CSV files into")
    parser.set_defaults(handler=run)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_bounds(day: str | None) -> tuple[float, float]:
    if day is None:
        return float("-inf"), float("inf")
    try:
        start = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise ValueError(f"--day must be YYYY-MM-DD, got {day!r}") from None
    return start, start + 86_400.0


def export(journal_path: str, out_dir: Path, day: str | None = None) -> dict[str, int]:
    check_journal_file(journal_path)
    check_output_folder(out_dir, "--csv")
    lo, hi = day_bounds(day)
    journal = SqlJournal(journal_path, durable=False)
    oms = OrderManager(None)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    quotes: dict[str, dict[str, Any]] = {}
    for rec in journal.replay():
        oms.apply(rec)
        if not lo <= rec.ts < hi:
            continue
        p = rec.payload
        if rec.kind == "parent.staged":
            rows["parents"].append(
                {
                    "time": iso(rec.ts),
                    "actor": rec.actor,
                    **{
                        k: p[k]
                        for k in (
                            "parent_id",
                            "instrument",
                            "side",
                            "quantity",
                            "algo",
                            "account",
                            "client_ref",
                            "limit_price",
                            "horizon_s",
                            "trader",
                        )
                    },
                    "staged_mid": p.get("staged_mid"),
                }
            )
        elif rec.kind == "venue.fill":
            rows["fills"].append(
                {"time": iso(rec.ts), **p, "venue_time": iso(p["venue_ts"]), "local_time": iso(p["local_ts"])}
            )
        elif rec.kind == "otc.fill":
            rows["otc_fills"].append({"time": iso(rec.ts), "actor": rec.actor, **p})
        elif rec.kind == "parent.override":
            rows["overrides"].append({"time": iso(rec.ts), "actor": rec.actor, **p})
        elif rec.kind == "algo.decision":
            rows["decisions"].append(
                {
                    "time": iso(rec.ts),
                    **{k: p.get(k) for k in ("parent_id", "time_s", "action", "shift_qty", "venue", "p_transient")},
                    "window_s": p.get("window_s"),
                    "reason": p.get("reason"),
                }
            )
        elif rec.kind.startswith("risk."):
            rows["risk_events"].append({"time": iso(rec.ts), "kind": rec.kind, "actor": rec.actor, "detail": str(p)})
        elif rec.kind == "rfq.quote":
            quotes[p["quote_id"]] = {
                "time": iso(rec.ts),
                "rfq_id": p["rfq_id"],
                "parent_id": p["parent_id"],
                "desk": p["desk"],
                "quote_id": p["quote_id"],
                "quantity": p["quantity"],
                "price": p["price"],
                "expires": iso(p["expires_ts"]),
                "better_than_exchange_bps": p["better_than_exchange_bps"],
                "decision": "expired",
                "decision_actor": "",
                "decision_time": "",
            }
        elif rec.kind in ("rfq.accept", "rfq.reject") and p.get("quote_id") in quotes:
            quotes[p["quote_id"]].update(
                decision="accepted" if rec.kind == "rfq.accept" else "rejected",
                decision_actor=rec.actor,
                decision_time=iso(rec.ts),
            )
    journal.close()
    for child in oms.children.values():
        if lo <= child.created_ts < hi:
            rows["children"].append(
                {
                    "created": iso(child.created_ts),
                    "client_id": child.client_id,
                    "parent_id": child.parent_id,
                    "venue": child.venue,
                    "venue_order_id": child.venue_order_id,
                    "side": child.side.name,
                    "price": child.price,
                    "quantity": child.quantity,
                    "tif": child.tif.value,
                    "status": child.status.value,
                    "filled": child.filled,
                    "avg_price": child.avg_price,
                    "fees_quote": child.fees_quote,
                    "reject_reason": child.reject_reason,
                    "ack_latency_ms": None
                    if child.ack_ts is None
                    else round((child.ack_ts - child.created_ts) * 1e3, 3),
                }
            )
    rows["rfq_quotes"] = list(quotes.values())
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, data in rows.items():
        with (out_dir / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
            fields = list(dict.fromkeys(k for row in data for k in row)) or ["(no rows)"]
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows({k: plain(v, k) for k, v in row.items()} for row in data)
        counts[table] = len(data)
    return counts


def check_journal_file(journal: str) -> None:
    """A journal file (or sqlite:/// URL) must exist and hold a Blockhouse journal; checked read-only,
    so another SQLite database given by mistake is left exactly as it was. Other database URLs
    are opened as they are."""
    if "://" in journal and not journal.startswith("sqlite:///"):
        return
    path = Path(journal.removeprefix("sqlite:///")).expanduser()
    if not path.exists():
        raise ValueError(f"--journal {journal}: no such file; give the journal's path or SQLAlchemy URL")
    if not path.is_file():
        raise ValueError(f"--journal {journal}: is a folder; give the journal's SQLite file")
    what = "no journal table"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:  # "file is not a database"; anything else is not the user's file type
        if "not a database" not in str(exc):
            raise ValueError(f"--journal {journal}: cannot be read ({exc}); check the file and its folder") from None
        found, what = None, str(exc)
    if found is None:
        raise ValueError(
            f"--journal {journal}: not a Blockhouse journal ({what}); give the SQLite file the terminal, "
            "`run` or `simulate --journal` wrote"
        )


_NUMBER_COLUMNS = frozenset(
    {"price", "quantity", "fee", "avg_price", "filled", "fees_quote", "limit_price", "staged_mid", "shift_qty"}
)
_EXPONENT_FORM = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")


def plain(value: Any, column: str = "") -> Any:
    """A number as plain decimal digits: Decimals and floats in exponent form (6E+4, 1e-05) and, in
    the number columns, the journal's decimal strings ('6.003E+4'); everything else as it is (an id
    such as '1e5' is text)."""
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, float) and math.isfinite(value) and "e" in repr(value):
        return format(Decimal(repr(value)), "f")
    if column in _NUMBER_COLUMNS and isinstance(value, str) and _EXPONENT_FORM.fullmatch(value):
        return format(Decimal(value), "f")
    return value


def run(args: argparse.Namespace) -> int:
    counts = export(args.journal, args.csv, args.day)
    for table, n in counts.items():
        print(f"{table:12s} {n:7d} rows → {args.csv / (table + '.csv')}")
    return 0
