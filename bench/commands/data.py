"""`bench data show|stats NAME`: a data set's records; for `builtin`, with constraints and verifier scores
(arguments: bench/arguments/data.py)."""
from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from bench.datasets import builtin, data_dir, get_source
from bench.errors import UsageError


def run(args) -> int:
    """A data set that is not here (DataUnavailable) or a malformed file (DataFileError) is reported by bench.cli."""
    try:
        source = get_source(args.name)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.split not in source.splits:
        raise UsageError(f"--split: {args.name} has splits {', '.join(source.splits)}, not {args.split!r}")
    if args.name == "builtin":
        return _builtin(args)
    if args.seed is not None:
        raise UsageError("--seed applies to the builtin data set only")
    kind = "preference" if "preference" in source.kinds else "sft"
    records = getattr(source, kind)(args.split, data_dir(args.data_dir))
    if args.action == "stats":
        print(f"{args.name} ({args.split}): {len(records)} {'preference pairs' if kind == 'preference' else 'SFT conversations'}")
        return 0
    for i, record in enumerate(records[: args.n]):
        print(f"=== record {i}")
        for key in (("prompt", "chosen", "rejected") if kind == "preference" else ("messages",)):
            for message in record[key]:
                print(f"[{key}] {message['role']}: {message['content']}")
        print()
    return 0


def _builtin(args) -> int:
    data = builtin.build(builtin.DEFAULT_SEED if args.seed is None else args.seed)
    items = data.train if args.split == "train" else data.test
    console = Console()
    if args.action == "stats":
        kinds = Counter(c.kind for item in items for c in item.constraints)
        sizes = Counter(len(item.constraints) for item in items)
        table = Table(title=f"builtin {args.split}: {len(items)} prompts, data version {data.data_version}")
        table.add_column("constraint kind")
        table.add_column("prompts", justify="right")
        for kind in builtin.KINDS:
            table.add_row(kind, str(kinds.get(kind, 0)))
        console.print(table)
        console.print("constraints per prompt: " + ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())))
        console.print(f"topics: {len({i.topic for i in items})}; two-turn prompts: {len(data.two_turn)}")
        return 0
    for item in items[: args.n]:
        chosen = builtin.verify(item, item.reference)
        rejected = builtin.verify(item, item.rejected)
        table = Table(show_header=True, header_style="bold", expand=True)
        table.add_column("constraint")
        table.add_column("chosen", justify="center")
        table.add_column("rejected", justify="center")
        for c_check, r_check in zip(chosen.checks, rejected.checks):
            table.add_row(c_check.constraint.label(), _mark(c_check), _mark(r_check))
        table.add_row("[bold]score strict / loose", f"{chosen.strict:.2f} / {chosen.loose:.2f}",
                      f"{rejected.strict:.2f} / {rejected.loose:.2f}")
        console.print(Panel(item.prompt, title=f"{item.id}  topic: {item.topic}", title_align="left"))
        console.print(table)
        console.print(Panel(item.reference, title="chosen", border_style="green", title_align="left"))
        console.print(Panel(item.rejected, title="rejected", border_style="red", title_align="left"))
        console.print()
    return 0


def _mark(check) -> str:
    if check.strict:
        return "[green]pass[/green]"
    return "[yellow]loose pass[/yellow]" if check.loose else "[red]fail[/red]"
