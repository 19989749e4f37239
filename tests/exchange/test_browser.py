"""The indicator feeds page in a real browser: import with JavaScript off, no axe violation.

Drives the application over loopback with Debian's Chromium, as tests/web does (see browser.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.exchange.bundles import EAGLE, RCS, feed
from tests.web.browser import (
    Browsers,
    LiveSite,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    click_and_wait,
    demo_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    live_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    page_problems,
    pass_two_factor,
    sign_in,
    wait_for_path,
)

LEAD = "lead@demo.hrdshield.test"
AUDITOR = "auditor@demo.hrdshield.test"
PAGE = "/staff/indicators"


def _sign_in(driver: WebDriver, site: LiveSite, email: str, lang: str) -> None:
    sign_in(driver, site, email, lang=lang)
    pass_two_factor(driver, site, email)
    wait_for_path(driver, "/staff")


def _import(driver: WebDriver, site: LiveSite, path: Path, lang: str, source: str = "") -> None:
    driver.get(site.url(f"{PAGE}?lang={lang}"))
    driver.find_element(By.ID, "bundle-file").send_keys(str(path))
    if source:
        driver.find_element(By.ID, "bundle-source").send_keys(source)
    click_and_wait(driver, driver.find_element(By.XPATH, "//main//form[@enctype]//button"))


def test_a_lead_imports_a_feed_without_javascript(browsers: Browsers, demo_site: LiveSite) -> None:
    driver = browsers.get(javascript=False)
    _sign_in(driver, demo_site, LEAD, "en")
    driver.get(demo_site.url("/staff?lang=en"))
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "Indicator feeds"))
    wait_for_path(driver, PAGE)

    _import(driver, demo_site, feed(RCS), "en", source="RCS Lab")

    wait_for_path(driver, PAGE)
    notice = driver.find_element(By.CSS_SELECTOR, "main .notice[role=status]")
    assert "40 indicators read: 35 new" in notice.text
    assert "app" in notice.find_element(By.TAG_NAME, "table").text
    row = driver.find_element(By.XPATH, "//main//table/tbody/tr[th[.='RCS Lab']]")
    assert "35 of 35" in row.text


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_indicator_page_has_no_axe_violations(
    browsers: Browsers, demo_site: LiveSite, tmp_path: Path, lang: str
) -> None:
    driver = browsers.get()
    _sign_in(driver, demo_site, LEAD, lang)
    driver.get(demo_site.url(f"{PAGE}?lang={lang}"))
    problems = page_problems(driver, f"{PAGE} empty ({lang})", lang)

    _import(driver, demo_site, feed(EAGLE), lang)
    driver.find_element(By.CSS_SELECTOR, "main .notice[role=status]")
    problems += page_problems(driver, f"{PAGE} after an import ({lang})", lang)

    broken = tmp_path / "broken.stix2"
    broken.write_text("this is not a bundle", encoding="utf-8")
    _import(driver, demo_site, broken, lang)
    driver.find_element(By.CSS_SELECTOR, "main p.error[role=alert]")
    problems += page_problems(driver, f"{PAGE} after a refused bundle ({lang})", lang)

    if lang == "ar":
        assert driver.execute_script("return document.documentElement.dir") == "rtl"
    assert not problems, "\n".join(problems)


def test_an_auditor_reads_the_page_without_the_form(
    browsers: Browsers, demo_site: LiveSite
) -> None:
    driver = browsers.get()
    _sign_in(driver, demo_site, AUDITOR, "ar")
    driver.get(demo_site.url(f"{PAGE}?lang=ar"))
    assert driver.find_elements(By.ID, "bundle-file") == []
    assert not page_problems(driver, f"{PAGE} as auditor (ar)", "ar")
