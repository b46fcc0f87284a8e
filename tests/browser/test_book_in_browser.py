"""The built book in a real browser, offline: headless Chromium (Debian's), driven by Playwright.

Run after the book is built (``make test`` does). The book is served from ``_build/html`` on a local
port; the browser's host resolver maps every other host to nothing and every request to anything but
that port is aborted and recorded, so a page that needs the network fails here. Screenshots are saved
to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import pathlib
import shutil
import threading
import urllib.parse

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

playwright = pytest.importorskip("playwright.sync_api")


def toc() -> tuple[list[str], dict[str, list[str]]]:
    """Chapter landing pages, and the notebook pages (not headings) under each."""
    data = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    landings, notebooks = [], {}
    for part in data["parts"]:
        for chapter in part["chapters"]:
            landings.append(chapter["file"])
            notebooks[chapter["file"]] = [
                s["file"] for s in chapter.get("sections", [])
                if (ROOT / f"{s['file']}.md").read_text(encoding="utf-8").startswith("---\njupytext:")]
    return landings, notebooks


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `make book` first")
    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `make setup` installs Debian's chromium")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ])
        yield b
        b.close()


class Visit:
    """A page opened offline, with its console errors and any attempt to leave the local server."""

    def __init__(self, browser, base: str, path: str) -> None:
        self.errors: list[str] = []
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route(base))
        self.page.goto(f"{base}/{path}", wait_until="load")

    def _route(self, base: str):
        def handle(route):
            url = route.request.url
            if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
                route.continue_()
            else:
                self.external.append(url)
                route.abort()
        return handle

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server):
    opened = []

    def open_page(path: str) -> Visit:
        v = Visit(browser, server, path)
        opened.append(v)
        return v

    yield open_page
    for v in opened:
        v.close()


LANDINGS, NOTEBOOKS = toc()
PAGES = ["index.html", "book/intro.html", "book/errata.html", "book/glossary.html", "search.html"] + [
    f"{p}.html" for p in LANDINGS] + [f"{n}.html" for ns in NOTEBOOKS.values() for n in ns]


@pytest.mark.parametrize("path", sorted(set(PAGES)))
def test_page_loads_offline_without_errors(visit, path):
    v = visit(path)
    v.page.wait_for_load_state("networkidle")
    assert v.page.title(), f"{path} has no title"
    assert not v.errors, f"console errors on {path}: {v.errors}"
    assert not v.external, f"{path} tried to load from the network: {v.external}"


def test_display_math_is_rendered(visit):
    v = visit("notebooks/05-details/receptive-field.html")
    v.page.wait_for_selector("mjx-container", timeout=20_000)
    assert v.page.locator("mjx-container[display='true']").count() >= 2
    assert "$$" not in v.page.inner_text("main")
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.locator("mjx-container[display='true']").first.scroll_into_view_if_needed()
    v.page.screenshot(path=str(SHOTS / "math.png"))


@pytest.mark.parametrize("query", ["receptive field", "感受野"])
def test_search_finds_the_receptive_field_page(visit, query):
    v = visit(f"search.html?q={urllib.parse.quote(query)}")
    v.page.wait_for_selector("#search-results li a", timeout=20_000)
    links = v.page.locator("#search-results li a").evaluate_all("els => els.map(e => e.href)")
    assert any("receptive-field.html" in href for href in links), links


def test_interview_answer_opens_when_clicked(visit):
    v = visit("notebooks/05-details/receptive-field.html")
    dropdown = v.page.locator("details.sd-dropdown").first
    body = dropdown.locator(".sd-summary-content")
    assert dropdown.get_attribute("open") is None and not body.is_visible()
    dropdown.locator("summary").click()
    v.page.wait_for_timeout(300)
    assert dropdown.get_attribute("open") is not None and body.is_visible()
    assert "196" in body.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    dropdown.scroll_into_view_if_needed()
    v.page.screenshot(path=str(SHOTS / "open-answer.png"))


def test_notebook_page_offers_its_ipynb(visit, server):
    v = visit("notebooks/05-details/receptive-field.html")
    link = v.page.locator("a[href$='receptive-field.ipynb']").first
    href = link.get_attribute("href")
    assert href, "no .ipynb in the download menu"
    response = v.page.request.get(urllib.parse.urljoin(v.page.url, href))
    assert response.ok
    notebook = response.json()
    assert notebook["nbformat"] == 4 and any(c.get("outputs") for c in notebook["cells"])


def _loaded_images(v: Visit) -> list[str]:
    return v.page.locator("main img").evaluate_all(
        "els => els.filter(e => e.complete && e.naturalWidth > 0 && e.naturalHeight > 0).map(e => e.src)")


def test_intro_shows_the_mind_map(visit):
    v = visit("book/intro.html")
    v.page.locator("#fig-mindmap img").scroll_into_view_if_needed()
    assert any("mindmap" in src for src in _loaded_images(v))
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(SHOTS / "figure.png"))


@pytest.mark.parametrize("chapter", [c for c in LANDINGS if NOTEBOOKS[c]])
def test_each_chapter_has_a_figure(visit, chapter):
    found = []
    for nb in NOTEBOOKS[chapter]:
        v = visit(f"{nb}.html")
        found = _loaded_images(v)
        if found:
            break
    assert found, f"no rendered figure in any notebook of {chapter}"
