"""`python -m bench.run`: time FLOOR, LEGACY, FULL REBUILD and NIGHTLY per log size; print ratios, write JSON.

Each size runs in a child process of its own against a fresh database (bench_<events>) of the bench's
embedded Postgres (in --home, never the project's .coliseum), which is dropped afterwards.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.children import call_in_child
from bench.environment import DEFAULT_HOME, machine_info, prepare_environment, server_url
from bench.operations import SizeConfig, measure_size
from bench.report import add_ratios, explain_lines, size_table, summary_lines, target_lines, targets

DEFAULT_AS_OF = date(2026, 11, 20)
DEFAULT_JSON = Path(__file__).with_name("results.json")
SUFFIXES = {"k": 1_000, "m": 1_000_000}


def count(text: str) -> int:
    """1000000, 1_000_000, 1M or 20k."""
    text = text.strip().lower().replace("_", "")
    scale = SUFFIXES.get(text[-1:], 1)
    value = int(float(text[:-1]) * scale) if scale > 1 else int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def sizes(text: str) -> list[int]:
    return sorted({count(part) for part in text.split(",") if part.strip()})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=sizes, default=[1_000_000], help="history sizes, e.g. 1M,3M,10M")
    parser.add_argument(
        "--days",
        type=int,
        default=90,
        help="days of history of the smallest size (default 90); a larger size keeps its daily volume over "
        "proportionally more days, as a log grows",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timings per operation; the median is reported")
    parser.add_argument(
        "--rebuild-repeats",
        type=int,
        help="timings of the full rebuild (default: --repeats); at 10M one rebuild takes tens of minutes",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="results file (default bench/results.json)")
    parser.add_argument(
        "--day-events",
        type=count,
        help="events in the nightly's new day; default: smallest size // days, the same for every size so the "
        "nightly's input is fixed and only the history grows",
    )
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="D, the nightly's day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="bench state folder (embedded Postgres)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN of the nightly's log reads")
    parser.add_argument("--keep-databases", action="store_true", help="keep bench_<events> for inspection")
    args = parser.parse_args(argv)
    _validate(parser, args)
    return args


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    today = datetime.now(UTC).date()
    if args.as_of >= today:
        parser.error(f"--as-of {args.as_of} must be before today ({today} UTC): later entries are quarantined")
    args.rebuild_repeats = args.rebuild_repeats or args.repeats
    if args.repeats < 1 or args.days < 1 or args.rebuild_repeats < 1:
        parser.error("--repeats, --rebuild-repeats and --days must be positive")
    # Entries before the first weights in force are quarantined (unknown_event_type): not a history to time.
    first_day, weights_from = partitions_start(args), first_weights_day()
    if first_day < weights_from:
        longest = max(args.events)
        fitting = (args.as_of - weights_from).days * min(args.events) // longest
        parser.error(
            f"the {longest:,}-event history would start {first_day}, before the first influence weights "
            f"({weights_from}); use --days {fitting} or less (days of the smallest size)"
        )


def first_weights_day() -> date:
    from dagster_project.settings import DBT_PROJECT_DIR

    with open(DBT_PROJECT_DIR / "seeds" / "influence_weights.csv", newline="") as handle:
        return min(date.fromisoformat(row["valid_from"]) for row in csv.DictReader(handle))


def history_days(args: argparse.Namespace, events: int) -> int:
    """The smallest size spans --days; every size has the same events per day (its history is longer)."""
    return max(1, round(args.days * events / min(args.events)))


def partitions_start(args: argparse.Namespace) -> date:
    """The first day of the longest history: the bench's partitions (and platform) start there."""
    return args.as_of - timedelta(days=history_days(args, max(args.events)))


def size_config(args: argparse.Namespace, events: int, server: str) -> SizeConfig:
    return SizeConfig(
        events=events,
        days=history_days(args, events),
        day_events=args.day_events or max(1, min(args.events) // args.days),
        repeats=args.repeats,
        rebuild_repeats=args.rebuild_repeats,
        as_of=args.as_of,
        seed=args.seed,
        server_url=server,
        home=str(args.home.resolve()),
        explain=args.explain,
        keep_database=args.keep_databases,
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare_environment(args.home, partitions_start(args))
    server = server_url()
    document: dict[str, Any] = {
        "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(server),
        "parameters": {
            "sizes": args.events,
            "days": args.days,
            "repeats": args.repeats,
            "rebuild_repeats": args.rebuild_repeats,
            "as_of_date": args.as_of.isoformat(),
            "seed": args.seed,
        },
        "sizes": [],
    }
    started = time.perf_counter()
    for events in args.events:
        result = call_in_child(measure_size, size_config(args, events, server))
        add_ratios(result)
        document["sizes"].append(result)
        write_json(args.json, document)  # after every size: a long run keeps what it measured
        print("\n" + size_table(result), flush=True)
        if args.explain:
            print("\n" + "\n".join(explain_lines(result)), flush=True)
    document["targets"] = targets(document["sizes"])
    document["seconds"] = time.perf_counter() - started
    write_json(args.json, document)
    print("\n" + "\n".join(summary_lines(document["sizes"]) + target_lines(document["targets"])))
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
