"""report.html in a real browser: headless Chromium, cut off from any network, shows every section.

The page promises to fetch nothing (bank networks block CDNs): Chromium runs with a proxy that
goes nowhere and a resolver that resolves nothing, and its network log must hold no request
other than the file itself. Every section of report.json must be in the DOM the browser built,
by its id, with an ``<svg>`` where the section has plots and a ``<table>`` where it has tables.

Chromium is not part of the environment: the session fixture installs it with apt-get (as root,
bounded in time) and FAILS, never skips, when it cannot: a silently skipped browser test would
promise something nobody checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from finlite.evaluate.html import render_html
from tests.evaluate.test_html import synthetic_report

pytestmark = pytest.mark.slow

#: Which reports the browser opens: "demo" (the report `make demo` writes: `finlite demo` itself
#: runs, about 20 s; its compress names protected and monotone columns, so fairness and
#: monotonicity are there), "exported" (the session's student, compressed with the defaults) and "synthetic" (every kind of
#: table and plot, built here from Section objects).
REPORT_SOURCES = ("demo", "exported", "synthetic")
#: The sections of the demo's report, in the report's order (every tabular binary section).
DEMO_SECTIONS = ["summary", "discrimination", "calibration", "stability", "decisions", "segments", "fairness",
                 "robustness", "explanations", "monotonicity", "privacy", "cost", "reproducibility"]

APT_TIMEOUT_S = 900
BROWSER_TIMEOUT_S = 120
#: Flags that keep Chromium off every network: a dead proxy, no DNS, no background services.
OFFLINE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                 "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--no-default-browser-check", "--mute-audio"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable, installed with apt-get when missing (once per session)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("Chromium is not installed and cannot be installed here (needs root and apt-get): "
                    "install it with `apt-get install -y chromium` and rerun.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=APT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"Installing Chromium failed: `{' '.join(cmd)}` ran past {APT_TIMEOUT_S} s.")
        except subprocess.CalledProcessError as exc:
            pytest.fail(f"Installing Chromium failed: `{' '.join(cmd)}` exited {exc.returncode}:\n"
                        f"{(exc.stderr or '')[-2000:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed the chromium package but no `chromium` executable is on PATH.")
    return found


@pytest.fixture(scope="module", params=REPORT_SOURCES)
def report_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding report.json and the report.html rendered from it."""
    if request.param == "demo":
        out, _ = request.getfixturevalue("demo_dir")  # tests/integration/conftest.py: `finlite demo` itself
        return Path(out) / "student"
    if request.param == "exported":
        return Path(request.getfixturevalue("exported_dir"))
    out = tmp_path_factory.mktemp("browser_report")
    report = synthetic_report()
    (out / "report.json").write_text(json.dumps(report), encoding="utf-8")
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    return out


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium offline with its own profile folder; fail the test on error or timeout."""
    cmd = [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish within {BROWSER_TIMEOUT_S} s: {' '.join(cmd)}")
    if done.returncode != 0:
        pytest.fail(f"Chromium exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


class SectionScan(HTMLParser):
    """For every <section id=…> of a DOM: whether it holds an <svg> and a <table>."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, set[str]] = {}
        self.current: str | None = None
        self.depth = 0
        self.scripts = 0
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element_id = dict(attrs).get("id")
        if element_id:
            self.ids.append(element_id)
        if tag == "script":
            self.scripts += 1
        if tag == "section":
            if self.current is None:
                self.current = dict(attrs).get("id") or ""
                self.sections[self.current] = set()
                self.depth = 0
            self.depth += 1
        elif self.current is not None:
            self.sections[self.current].add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.current is not None:
            self.depth -= 1
            if self.depth == 0:
                self.current = None


@pytest.fixture(scope="module")
def dom(chromium: str, report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The DOM Chromium built from report.html (and its network log)."""
    work = tmp_path_factory.mktemp("chromium")
    netlog = work / "netlog.json"
    done = run_chromium(chromium, work / "profile", f"--log-net-log={netlog}", "--dump-dom",
                        (report_dir / "report.html").resolve().as_uri())
    yield done.stdout, netlog


def source(request: pytest.FixtureRequest) -> str:
    """Which of REPORT_SOURCES this test runs on."""
    return str(request.node.callspec.params["report_dir"])


def test_every_section_is_in_the_browser_dom(dom: tuple[str, Path], report_dir: Path,
                                             request: pytest.FixtureRequest) -> None:
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    scan = SectionScan()
    scan.feed(dom[0])
    ids = [s["id"] for s in report["sections"]]
    assert ids, "the report has no sections"
    if source(request) == "demo":  # the demo's report: every section, none left out, each with its evidence
        assert ids == DEMO_SECTIONS and report["omitted"] == []
        for section in report["sections"]:
            assert section["metrics"], f"section {section['id']!r} of the demo's report has no numbers"
            assert section["tables"] or section["plots"], f"section {section['id']!r} shows no table or plot"
        assert (report_dir / "report.html").stat().st_size < 2_000_000
    assert list(scan.sections) == ids
    for section in report["sections"]:
        found = scan.sections[section["id"]]
        if section["plots"]:
            assert "svg" in found, f"section {section['id']!r} has plots but no <svg> in the browser"
        if section["tables"]:
            assert "table" in found, f"section {section['id']!r} has tables but no <table> in the browser"
    assert scan.scripts == 0
    assert sorted({i for i in scan.ids if scan.ids.count(i) > 1}) == []  # every anchor leads to one element


def page_requests(netlog: Path) -> list[str]:
    """URLs outside the file itself that a page asked for, from Chromium's network log.

    Chromium's own background requests (component updates, time, accounts) carry the initiator
    "not an origin"; anything a page asks for carries the page's origin ("null" for a file)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [e.get("params") or {} for e in log["events"] if e["type"] == start]
    return [p["url"] for p in starts if p.get("url") and p.get("initiator") != "not an origin"
            and not p["url"].startswith(("file:", "data:", "about:", "chrome:"))]


def test_the_page_requests_nothing(dom: tuple[str, Path]) -> None:
    assert page_requests(dom[1]) == []


def test_the_network_check_sees_a_page_that_fetches(chromium: str, tmp_path: Path) -> None:
    # The control for the test above: a page (without report.html's CSP) that loads an image.
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://finlite.invalid/x.png"></body></html>')
    netlog = tmp_path / "netlog.json"
    run_chromium(chromium, tmp_path / "profile", f"--log-net-log={netlog}", "--dump-dom", page.as_uri())
    assert page_requests(netlog) == ["http://finlite.invalid/x.png"]


def test_a_screenshot_shows_the_page(chromium: str, report_dir: Path, tmp_path: Path,
                                     request: pytest.FixtureRequest) -> None:
    png = tmp_path / "report.png"
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={png}", "--window-size=1280,4000",
                 "--hide-scrollbars", (report_dir / "report.html").resolve().as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a blank page compresses to a few kB; this one has text, tables and plots
    # docs/report.png is this screenshot of the demo's report: FINLITE_SCREENSHOT=docs/report.png renews it.
    keep = os.environ.get("FINLITE_SCREENSHOT")
    if keep and source(request) == "demo":
        shutil.copyfile(png, keep)
