"""The Chinese book in a browser, and its PDF (``book_tools.zh_sources``, ``book_tools.pdf``).

The same build as ``tests/test_browser.py`` (its fixtures are imported: one build, one
PDF run per session) puts the Chinese book in ``_build/html/zh_CN``. Checked here:
every page is there with ``lang="zh-CN"`` and Chinese text drawn in a CJK font (the
font Chromium actually used, not only the text); its formulas are typeset; its glued
numbers are the English page's; the language links go both ways; phone navigation and
the draw page work; the Chinese PDF's text layer holds Chinese and its bookmarks are
Chinese.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest

from test_browser import (  # noqa: F401  (the same module object as pytest's: one build, one PDF)
    DRAW_PAGE, PHONE, SHOTS, TOC, book_pdf, build_book, built_book, open_context,
    open_draw_page, page_url, server, wait_for_math,
)

pytestmark = pytest.mark.browser

ZH = "zh_CN/"
CJK = re.compile(r"[\u4e00-\u9fff]")
#: At least this share of the article's letters are Chinese characters on every page
#: (the rest: code, numbers, names such as Keras or ReLU).
MIN_CJK_SHARE = 0.25


def chinese_title(docname: str) -> str:
    """The page's heading as its catalog translates it."""
    from book_tools import translate

    page = next(p for p in translate.pages() if p.with_suffix("").as_posix().endswith(docname))
    heading = next(m for m, _ in translate.messages(page) if m.startswith("# "))
    return " ".join(translate.translation_table(page)[heading][2:].split())


def phrase_twins(docname: str) -> dict[str, str]:
    """English glued phrase -> its Chinese twin (``bilingual.glue_phrase``), for a notebook."""
    from book_tools.paths import ROOT
    from cnn_helpers.bilingual import ZH_SUFFIX
    from cnn_helpers.notebooks import glued_values

    path = ROOT / f"{docname}.ipynb"
    values = glued_values(path) if path.exists() else {}
    return {str(values[k]).strip("'\""): str(values[k + ZH_SUFFIX]).strip("'\"")
            for k in values if k + ZH_SUFFIX in values}


def pasted_values(page) -> Counter:
    """The glued values a page shows (MyST-NB's ``pasted-*`` spans), as a multiset."""
    texts = page.eval_on_selector_all(".pasted-text, .pasted-inline", "els => els.map(e => e.textContent.trim())")
    return Counter(texts)


def used_fonts(page, selector: str) -> list[str]:
    """The fonts Chromium drew ``selector``'s first element's text with (DevTools' CSS domain)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, f"no {selector} on the page"
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts]


def test_every_page_is_built_in_chinese(built_book):
    missing = [d for d in TOC if not (built_book / ZH / f"{d}.html").exists()]
    assert not missing, f"pages without their Chinese twin: {missing}"
    for docname in TOC:
        html = (built_book / ZH / f"{docname}.html").read_text(encoding="utf-8")
        assert '<html lang="zh-CN"' in html, docname


@pytest.mark.parametrize("docname", TOC)
def test_chinese_page_reads_in_chinese_with_the_english_numbers(docname, server, open_context):
    ctx, rec = open_context()
    en, zh = ctx.new_page(), ctx.new_page()
    en.goto(page_url(server, docname), wait_until="load")
    zh.goto(page_url(server, ZH + docname), wait_until="load")
    wait_for_math(en)
    wait_for_math(zh)
    text = zh.locator("article").inner_text()
    letters = re.findall(r"[A-Za-z\u4e00-\u9fff]", text)
    share = sum(bool(CJK.match(c)) for c in letters) / max(1, len(letters))
    assert share >= MIN_CJK_SHARE, f"{docname}: only {share:.0%} of the article's letters are Chinese"
    h1 = " ".join(zh.locator("article h1").first.inner_text().replace("#", "").split())
    assert h1 == chinese_title(docname), f"{docname}: the title is {h1!r}, not the catalog's"
    fonts = used_fonts(zh, "article p")
    assert any("CJK" in f for f in fonts), f"{docname}: the Chinese text is drawn with {fonts}, no CJK font"
    expected = Counter()
    for value, n in pasted_values(en).items():
        expected[phrase_twins(docname).get(value, value)] += n
    assert pasted_values(zh) == expected, f"{docname}: the Chinese page's glued values differ"
    maths = zh.evaluate("() => Array.from(document.querySelectorAll('.math'))"
                        ".filter(m => !m.querySelector('mjx-container svg')).length")
    assert maths == 0, f"{docname}: {maths} formulas not typeset"
    assert not rec.problems(), f"{docname}:\n  " + "\n  ".join(rec.problems())


def test_the_language_links_go_both_ways_from_disk(built_book, open_context):
    ctx, rec = open_context()
    page = ctx.new_page()
    start = TOC[4]
    page.goto((built_book / f"{start}.html").as_uri(), wait_until="load")
    page.locator("p.cnn-book-language a").click()
    page.wait_for_load_state("load")
    assert page.url == (built_book / ZH / f"{start}.html").as_uri()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.locator("p.cnn-book-language a").click()
    page.wait_for_load_state("load")
    assert page.url == (built_book / f"{start}.html").as_uri()
    assert not rec.problems(), rec.problems()


def test_phone_navigation_in_chinese(server, open_context):
    ctx, rec = open_context(**PHONE)
    page = ctx.new_page()
    start, target = TOC[3], TOC[4]
    page.goto(page_url(server, ZH + start), wait_until="load")
    page.locator(".bd-header-article button.primary-toggle").tap()
    page.wait_for_selector("#pst-primary-sidebar-modal[open]", timeout=3000)
    link = page.locator(f"#pst-primary-sidebar-modal a[href$='{target.split('/')[-1]}.html']")
    assert CJK.search(link.inner_text()), f"the chapter list shows {link.inner_text()!r}, not Chinese"
    link.tap()
    page.wait_for_url(page_url(server, ZH + target), timeout=5000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "zh_phone_after_chapter_link.png"))
    assert not rec.problems(), rec.problems()


def test_draw_page_works_in_chinese(server, open_context):
    page, rec = open_draw_page(open_context, page_url(server, ZH + DRAW_PAGE))
    page.locator("button.cnn-sample").nth(0).click()
    guess = page.locator("#cnn-guess").get_attribute("data-class")
    assert guess is not None and guess.isdigit(), f"no prediction on the Chinese draw page: {guess!r}"
    panel = page.locator("#cnn-draw").inner_text()
    assert CJK.search(panel), "the draw page's interface is not in Chinese"
    labels = page.eval_on_selector_all("#cnn-draw [aria-label]", "els => els.map(e => e.getAttribute('aria-label'))")
    english = [a for a in labels if not CJK.search(a)]
    assert not english, f"aria labels left in English: {english[:5]}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "zh_draw_page.png"), full_page=True)
    assert not rec.problems(), rec.problems()


def test_the_chinese_pdf_holds_chinese_text_and_bookmarks(book_pdf):
    from pypdf import PdfReader

    from book_tools.pdf import EDITIONS

    pdf = EDITIONS["zh_CN"].pdf
    assert pdf.exists(), f"{pdf} is missing: `python -m book_tools.pdf` prints both editions"
    reader = PdfReader(str(pdf))
    text = "".join((p.extract_text() or "") for p in reader.pages[:40])
    assert len(CJK.findall(text)) > 2000, "the Chinese PDF's text layer has too little Chinese"
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles and all(CJK.search(t) for t in titles[1:]), f"bookmarks not in Chinese: {titles[:5]}"


def test_checked_values_carry_a_mark_that_links_to_the_ledger(built_book):
    """Wherever a chapter's prose shows a value it checks with ``ledger.check(glue_as=...)``,
    a ✓ follows that links to the ledger in the appendix, in both languages."""
    import json

    from book_tools.paths import ROOT
    from book_tools.sphinx_ext import checked_names

    marked = 0
    for docname in TOC:
        path = ROOT / f"{docname}.ipynb"
        if not path.exists() or not checked_names(json.loads(path.read_text(encoding="utf-8"))):
            continue
        counts = []
        for html in (built_book / f"{docname}.html", built_book / ZH / f"{docname}.html"):
            text = html.read_text(encoding="utf-8")
            counts.append(len(re.findall(r'<sup class="cnn-check"><a class="reference internal" '
                                         r'href="15_checks.html#ledger">', text)))
        assert counts[0] >= 1 and counts[0] == counts[1], f"{docname}: marks (English, Chinese) {counts}"
        marked += counts[0]
    assert marked >= 10, f"only {marked} checked values carry the mark"
