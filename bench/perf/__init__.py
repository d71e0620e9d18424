"""`bench perf`: training-step, loss-memory, teacher-precompute and generation speed, side by side.

Every figure is measured in one run against its reference (TRL's trainers, a bare forward pass, batch-1
generation, the SFT step, the machine's matmul rate), so the ratios stay meaningful on a shared or busy
machine even when the absolute times do not.

JSON written by ``bench perf --json FILE``: a list of rows, each
``{"name", "ours", "reference", "ratio", "unit", "target", "met", "detail"}`` where ``ratio = ours / reference``
(null when either side is missing), ``target`` is a string such as ``"ratio <= 0.7"`` or null, ``met`` is a
boolean or null (no target), and ``detail`` says what was compared and how.
"""
