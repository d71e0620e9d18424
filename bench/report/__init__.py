"""Results JSON -> views: tables (Markdown, CSV, LaTeX, HTML) and plots (matplotlib).

Everything here reads only the results document (bench.results), so a report can be rebuilt from runs made on
other machines. Entry point: ``bench report`` (bench/commands/report.py) or :func:`bench.report.render.render_report`.
"""
