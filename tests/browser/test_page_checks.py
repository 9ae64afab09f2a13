"""The page checks themselves catch what they promise to (on a page made to fail them)."""

from __future__ import annotations

from browser_support import PHONE, page_problems

BAD_PAGE = """<!doctype html><html><head><title>Bad</title></head><body style="margin: 0">
<div style="width: 600px">too wide</div>
<input name="q" autocomplete="search-term"><span id="x"></span><span id="x"></span>
<p style="color: #ccc; background: #fff">faint</p><button></button>
</body></html>"""


def test_the_checks_report_overflow_labels_ids_autocomplete_contrast_and_more(site):
    page = site.new_page(PHONE)
    page.set_content(BAD_PAGE)

    problems = "\n".join(page_problems(page))

    for expected in (
        "scrolls sideways: div ends at 600px",
        'input name="q" has no label',
        'input name="q" has autocomplete="search-term"',
        'id "x" is used 2 times',
        'contrast 1.61 < 4.5: "faint"',
        "button without a name",
        "no lang on <html>",
        "no favicon link",
        "0 <h1> elements",
    ):
        assert expected in problems
