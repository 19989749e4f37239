"""Page-test helpers: the real application served on loopback, driven by Debian's Chromium.

Pages are tested the way a person meets them: uvicorn serves `create_app` on 127.0.0.1 against
the test's own database, and headless Chromium loads, types, tabs and submits. The browser must
never reach anything but 127.0.0.1: other host names resolve to nothing, and any request that is
not for loopback goes to a closed port on 127.0.0.1 through a proxy setting. Nothing here downloads
a browser, a driver or a script; when one is missing the test fails and says how to install it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock, demo_data
from hrdshield.cases.enums import CaseSource
from hrdshield.cases.models import Case
from hrdshield.defenders.enums import DefenderStatus
from hrdshield.defenders.models import Defender
from hrdshield.detection import ingest
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.models import Alert
from hrdshield.detection.tasks import build_consumer
from hrdshield.security import totp
from hrdshield.security.crypto import current_keyring
from tests.detection.streams import StreamBuilder

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
INSTALL_HINT = "run .ci/install-browser (as root) to install chromium, chromium-driver and axe-core"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
WINDOW = (1280, 900)
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests run as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
    "--lang=en-GB",
    # Keep the browser on loopback: no name resolves but 127.0.0.1, and everything that is not
    # loopback (which Chromium never proxies) is sent to the discard port, where nothing listens.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
)
_RUN_AXE = """
const tags = arguments[0];
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then((result) => done(result.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({target: node.target, summary: node.failureSummary})),
  }))))
  .catch((error) => done({error: String(error)}));
"""
_OTHER_ORIGINS = """
const origin = window.location.origin;
return performance.getEntriesByType("resource")
  .map((entry) => entry.name)
  .filter((name) => !name.startsWith(origin + "/"));
"""


def _require(path: Path) -> None:
    if not path.exists():
        pytest.fail(f"{path} is missing: {INSTALL_HINT}", pytrace=False)


def axe_source() -> str:
    """Return axe-core's script, or fail the test saying how to install it."""
    _require(AXE_SCRIPT)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def new_chromium(*, javascript: bool, profile_dir: Path) -> WebDriver:
    """Start headless Chromium with a fresh profile; Selenium Manager is never involved."""
    _require(CHROMIUM)
    _require(CHROMEDRIVER)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    return driver


def forget_cookies(driver: WebDriver) -> None:
    """Drop every cookie, for all sites and ports: the next page starts signed out."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


class Browsers:
    """Chromium instances shared by a module's tests, started on first use and closed at the end.

    They start inside the test, not in fixture set-up, so a missing browser fails the test itself.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.drivers: dict[bool, WebDriver] = {}

    def get(self, *, javascript: bool = True) -> WebDriver:
        """Return a browser with no cookies, with or without JavaScript."""
        if javascript not in self.drivers:
            profile = self.root / ("profile-js" if javascript else "profile-no-js")
            self.drivers[javascript] = new_chromium(javascript=javascript, profile_dir=profile)
        driver = self.drivers[javascript]
        forget_cookies(driver)
        return driver

    def close(self) -> None:
        """Quit every browser that was started."""
        for driver in self.drivers.values():
            driver.quit()
        self.drivers.clear()


@pytest.fixture(scope="module", name="browsers")
def browsers_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browsers]:
    """Give the module's tests their shared browsers."""
    pool = Browsers(tmp_path_factory.mktemp("chromium"))
    yield pool
    pool.close()


@dataclass
class LiveSite:
    """The application served over HTTP on loopback, and the session factory of its database."""

    base_url: str
    session_factory: sessionmaker[Session]
    _last_steps: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this site."""
        return self.base_url + path

    def two_factor_code(self, email: str, secret: str = demo_data.DEMO_TOTP_SECRET) -> str:
        """Return a code the server has not yet seen from `email` (codes cannot be replayed)."""
        current = int(clock.now().timestamp()) // totp.STEP_SECONDS
        used = self._last_steps.get(email)
        step = current if used is None else max(current, used + 1)
        if step > current + 1:  # the server accepts one step ahead at most: wait for the next
            time.sleep((step - 1) * totp.STEP_SECONDS - clock.now().timestamp() + 0.1)
        self._last_steps[email] = step
        return totp.code_at(secret, step)


@pytest.fixture(name="live_site")
def live_site_fixture(app: Any, database: Any) -> Iterator[LiveSite]:
    """Serve the test's application on 127.0.0.1 at a free port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", ws="none", http="h11"
    )
    server = uvicorn.Server(config)  # in a thread, uvicorn leaves signals alone
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="live-site", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveSite(f"http://127.0.0.1:{port}", database.session_factory)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


@pytest.fixture(name="demo_site")
def demo_site_fixture(live_site: LiveSite) -> LiveSite:
    """Serve the application with the demo data: one user of each role, defenders and cases."""
    with live_site.session_factory() as session:
        demo_data.seed_demo(session=session)
        session.commit()
    return live_site


def wait_for_path(driver: WebDriver, path: str, timeout: float = 10) -> None:
    """Wait until the browser shows `path` (ignoring the query), failing with where it is."""

    def arrived(current: WebDriver) -> bool:
        return urlsplit(current.current_url).path == path

    try:
        WebDriverWait(driver, timeout).until(arrived)
    except Exception as error:  # noqa: BLE001  (re-raised as a test failure that says where)
        pytest.fail(f"expected {path}, the browser is at {driver.current_url}: {error!r}")


def click_and_wait(driver: WebDriver, element: WebElement, timeout: float = 15) -> None:
    """Click `element` and wait until the browser has left the page it was on."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    # While the old document goes away, Chromium may answer "node does not belong to the
    # document" instead of "stale element": that means the same, so poll again.
    wait = WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,))
    wait.until(staleness_of(page), "the page did not change")


def submit(driver: WebDriver) -> None:
    """Press the submit button of the form in the page's main content, and wait for the answer."""
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))


def sign_in(
    driver: WebDriver,
    site: LiveSite,
    email: str,
    *,
    password: str = demo_data.DEMO_PASSWORD,
    lang: str = "en",
) -> None:
    """Type an e-mail address and password into /login and submit them."""
    driver.get(site.url(f"/login?lang={lang}"))
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver)


def pass_two_factor(driver: WebDriver, site: LiveSite, email: str) -> None:
    """Type a fresh two-step code for a demo staff account and submit it."""
    wait_for_path(driver, "/login/two-factor")
    driver.find_element(By.ID, "code").send_keys(site.two_factor_code(email))
    submit(driver)


def foreign_requests(driver: WebDriver) -> list[str]:
    """Return the resources the page loaded from anywhere but its own origin."""
    return list(driver.execute_script(_OTHER_ORIGINS))


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """Inject axe-core through WebDriver (the page's CSP does not apply) and run the WCAG rules."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())
    result = driver.execute_async_script(_RUN_AXE, list(WCAG_TAGS))
    if isinstance(result, dict):
        pytest.fail(f"axe-core could not run on {driver.current_url}: {result.get('error')}")
    return list(result)


def describe_violations(page: str, violations: list[dict[str, Any]]) -> str:
    """Return a readable report of axe's violations on one page."""
    lines = []
    for violation in violations:
        lines.append(f"{page}: {violation['id']} ({violation['impact']}) {violation['help']}")
        for node in violation["nodes"]:
            lines_of_summary = str(node.get("summary") or "").splitlines()
            summary = "; ".join(line.strip() for line in lines_of_summary if line.strip())
            lines.append(f"    {json.dumps(node['target'])} {summary}")
    return "\n".join(lines)


def page_problems(driver: WebDriver, page: str, lang: str | None = None) -> list[str]:
    """Return what is wrong with the page shown: its language, other origins, axe violations."""
    problems = []
    if lang is not None:
        shown_lang = driver.execute_script("return document.documentElement.lang")
        if shown_lang != lang:
            problems.append(f"{page}: the page is in {shown_lang!r}, not {lang!r}")
    problems += [f"{page}: loaded {url} from another origin" for url in foreign_requests(driver)]
    violations = axe_violations(driver)
    if violations:
        problems.append(describe_violations(page, violations))
    return problems


def a_defender_id(site: LiveSite) -> str:
    """Return the id of a demo defender, one waiting for verification if there is one."""
    with site.session_factory() as session:
        defender_id = session.scalar(
            select(Defender.id).order_by(Defender.status != DefenderStatus.PENDING).limit(1)
        )
    assert defender_id is not None, "the demo data has no defender"
    return str(defender_id)


def an_alert(site: LiveSite, handle: str = "demo_hrd_amara") -> tuple[str, str]:
    """Stream a synthetic pile-on at a demo defender through detection; return (defender, alert)."""
    stream = StreamBuilder()
    for number in range(12):
        stream.tick(seconds=20)
        stream.reply(f"brigade{number}", handle, text=f"synthetic hostile reply {number}")
    with site.session_factory() as session, session.begin():
        ingest.accept_events(session=session, events=stream.events, channel=IngestChannel.API)
    build_consumer(site.session_factory, current_keyring()).drain()
    with site.session_factory() as session:
        row = session.execute(select(Alert.defender_id, Alert.id).limit(1)).one()
    return str(row[0]), str(row[1])


def a_case_id(site: LiveSite, source: str | None = None) -> str:
    """Return the id of a demo case, opened through `source` if given (e.g. "hrd")."""
    query = select(Case.id).order_by(Case.created_at).limit(1)
    if source is not None:
        query = query.where(Case.source == CaseSource(source))
    with site.session_factory() as session:
        case_id = session.scalar(query)
    assert case_id is not None, "the demo data has no case"
    return str(case_id)
