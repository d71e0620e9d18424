"""The HTML report in headless Chromium (Debian's `chromium`, driven by Playwright; `make browser` installs it).

Model and judge text containing markup must show literally and never run; the table and a plot must be visible;
a phone-width window must not scroll sideways (the table scrolls inside its own container).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.report.render import render_report
from bench.results import parse_results
from report_helpers import IMG, SCRIPT, copy_doc

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
NAME_ATTACK = "<img src=x onerror=\"window.__pwned_name = 1\">student"
META_ATTACK = "<script>window.__pwned_meta = 1</script>"
LEADING = "\n  starts with a blank line &amp; an entity"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not installed (run `make browser` as root: apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    doc = copy_doc()
    doc["meta"]["notes"].append(META_ATTACK)
    doc["entries"].append({"student": NAME_ATTACK, "method": "sft", "seed": 1, "model": META_ATTACK,
                           "metrics": doc["entries"][2]["metrics"],
                           "samples": [{"benchmark": "gold", "prompt_id": "t1", "prompt": "p", "output": IMG,
                                        "rating": None, "rationale": SCRIPT},
                                       {"benchmark": "gold", "prompt_id": "t2", "prompt": "q", "output": LEADING,
                                        "rating": 0.5, "rationale": None}]})
    out = tmp_path_factory.mktemp("report")
    render_report(parse_results(doc, "attack.json"), out, "table2")
    return out / "table2.html"


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, report: Path, width: int, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    dialogs, errors = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page, dialogs, errors


def test_model_and_judge_text_is_shown_literally_and_never_runs(browser, report):
    page, dialogs, errors = _open(browser, report, 1280)
    flags = page.evaluate("[window.__pwned, window.__pwned_img, window.__pwned_name, window.__pwned_meta]")
    assert flags == [None, None, None, None]
    assert dialogs == [] and errors == []
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    # the only images are the inline plots; no injected <img>, no injected <b>
    assert page.evaluate("Array.from(document.images).every(i => i.src.startsWith('data:image/png;base64,'))")
    assert page.evaluate("document.querySelectorAll('.prompt-text b, .text img, .rationale script').length") == 0
    outputs = page.locator("pre.text").all_text_contents()
    rationales = page.locator("pre.rationale").all_text_contents()
    assert SCRIPT in outputs and IMG in outputs
    assert LEADING in outputs  # whitespace and entity-looking text kept exactly
    assert IMG in rationales and SCRIPT in rationales
    assert "Write exactly 3 words. <b>t1</b>" in page.locator("pre.prompt-text").all_text_contents()
    assert NAME_ATTACK in page.locator("#table table.results").inner_text()
    assert META_ATTACK in page.locator("#metadata").inner_text()
    page.close()


def test_table_and_plot_visible_in_screenshot(browser, report, tmp_path):
    page, _, _ = _open(browser, report, 1280)
    table, plot = page.locator("#table table.results"), page.locator("#fig-figure5 img")
    for element in (table, plot, page.locator("#fig-curves img")):
        assert element.is_visible()
        box = element.bounding_box()
        assert box["width"] > 100 and box["height"] > 100
    assert page.evaluate("document.querySelector('#fig-figure5 img').naturalWidth") > 300  # the PNG decoded
    assert "ADPA+" in table.inner_text() and "6.58 ± 0.63" in table.inner_text()
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    page.close()


def test_phone_width_has_no_sideways_scroll(browser, report):
    page, _, _ = _open(browser, report, 375, 740)
    sizes = page.evaluate("""() => ({
        doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth,
        wrapClient: document.getElementById('table-scroll').clientWidth,
        wrapScroll: document.getElementById('table-scroll').scrollWidth,
        img: document.querySelector('#fig-figure5 img').getBoundingClientRect().right})""")
    assert sizes["doc"] <= sizes["view"] and sizes["body"] <= sizes["view"], sizes
    assert sizes["wrapClient"] <= sizes["view"] and sizes["img"] <= sizes["view"], sizes
    assert sizes["wrapScroll"] > sizes["wrapClient"]  # the wide table scrolls inside its own box
    page.close()

