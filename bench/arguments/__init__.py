"""Each subcommand's arguments: one module per command with ``register(subparsers)``, which declares the arguments
and sets ``func``, a ``main(args)`` that imports the command's implementation (bench/commands/<name>.py) only when
it runs.

That deferred import is the one function-level import a command keeps: an implementation imports torch,
transformers, SciPy or pandas at its top, and `bench --help` (every parser built) must not pay seconds for them.
"""
from __future__ import annotations

from . import alpaca_eval_winrate, data, judge_check, perf, report, reproduce, run
from . import eval as eval_
from . import list as list_

# In the order `bench --help` lists them.
SUBCOMMANDS = (list_, data, run, eval_, report, reproduce, perf, alpaca_eval_winrate, judge_check)
