"""The guides in a real browser: axe-core finds nothing in any language, the checklist is saved
with JavaScript off and survives a reload, and a printout leaves the site's menus out."""

from __future__ import annotations

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from hrdshield.guides.loader import GUIDES
from hrdshield.security.rbac import Role
from hrdshield.web.i18n import SUPPORTED_LANGUAGES
from tests import factories
from tests.web.browser import (
    Browsers,
    LiveSite,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    live_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    sign_in,
    submit,
    wait_for_path,
)
from tests.web.test_accessibility import assert_javascript_is_off, assert_no_problems, audit_url

PHISHING = "phishing-and-spyware"  # the richest page: code, nested lists, links to other sites
DEFENDER_EMAIL = "guide.reader@example.test"
_DISPLAYED = "return getComputedStyle(arguments[0]).display"
_AFTER = "return getComputedStyle(arguments[0], '::after').content"


def _defender(site: LiveSite) -> None:
    with site.session_factory() as session:
        factories.user(session, Role.HRD, email=DEFENDER_EMAIL)
        session.commit()


def _ticked(driver: WebDriver) -> set[str]:
    boxes = driver.find_elements(By.CSS_SELECTOR, ".checklist input[type=checkbox]")
    return {str(box.get_attribute("value")) for box in boxes if box.is_selected()}


def _tick(driver: WebDriver, *item_ids: str) -> None:
    for item_id in item_ids:
        driver.find_element(By.CSS_SELECTOR, f".checklist input[value='{item_id}']").click()


@pytest.mark.parametrize("lang", list(SUPPORTED_LANGUAGES))
def test_guides_have_no_axe_violations_in_any_language(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    driver = browsers.get()
    pages = ["/guides", f"/guides/{PHISHING}"]
    if lang in {"en", "ar", "ru"}:
        pages += [f"/guides/{slug}" for slug in GUIDES if slug != PHISHING]
    problems = [problem for path in pages for problem in audit_url(driver, live_site, path, lang)]
    problems += audit_url(driver, live_site, "/guides/no-such-guide", lang)
    assert_no_problems(problems)


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_defender_s_progress_pages_have_no_axe_violations(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    _defender(live_site)
    driver = browsers.get()
    sign_in(driver, live_site, DEFENDER_EMAIL, password=factories.PASSWORD, lang=lang)
    wait_for_path(driver, "/portal")
    driver.get(live_site.url(f"/guides/{PHISHING}?lang={lang}"))
    _tick(driver, "check-addresses", "save-helpline")
    submit(driver)
    wait_for_path(driver, f"/guides/{PHISHING}")
    assert driver.find_element(By.CSS_SELECTOR, ".checklist-section .notice[role=status]")
    problems = audit_url(driver, live_site, f"/guides/{PHISHING}?saved=1", lang)
    problems += audit_url(driver, live_site, "/guides", lang)
    meters = driver.find_elements(By.TAG_NAME, "meter")
    assert [meter.get_attribute("value") for meter in meters].count("2") == 1
    assert_no_problems(problems)


def test_the_checklist_is_saved_without_javascript_and_survives_a_reload(
    browsers: Browsers, live_site: LiveSite
) -> None:
    _defender(live_site)
    driver = browsers.get(javascript=False)
    assert_javascript_is_off(driver)
    driver.get(live_site.url("/guides/securing-your-account?lang=en"))
    assert _ticked(driver) == set()
    assert driver.find_elements(By.LINK_TEXT, "Sign in to save your progress")
    assert not driver.find_elements(By.CSS_SELECTOR, "main form button[type=submit]")

    sign_in(driver, live_site, DEFENDER_EMAIL, password=factories.PASSWORD)
    wait_for_path(driver, "/portal")
    driver.find_element(By.CSS_SELECTOR, "header a[href='/guides']").click()
    wait_for_path(driver, "/guides")
    driver.find_element(By.CSS_SELECTOR, "main a[href='/guides/securing-your-account']").click()
    wait_for_path(driver, "/guides/securing-your-account")
    _tick(driver, "enable-2fa", "recovery-codes-offline", "review-sessions")
    submit(driver)
    wait_for_path(driver, "/guides/securing-your-account")
    status = driver.find_element(By.CSS_SELECTOR, ".checklist-section .notice[role=status]")
    assert status.text == "Your progress is saved."

    driver.refresh()
    assert _ticked(driver) == {"enable-2fa", "recovery-codes-offline", "review-sessions"}
    _tick(driver, "review-sessions")  # untick
    submit(driver)
    driver.get(live_site.url("/guides/securing-your-account"))
    assert _ticked(driver) == {"enable-2fa", "recovery-codes-offline"}
    driver.get(live_site.url("/guides"))
    assert "Done: 2 of 8" in driver.find_element(By.ID, "progress-securing-your-account").text


def test_printing_leaves_the_menus_out(browsers: Browsers, live_site: LiveSite) -> None:
    driver = browsers.get()
    driver.get(live_site.url(f"/guides/{PHISHING}?lang=en"))
    header = driver.find_element(By.CSS_SELECTOR, "header.site-header")
    footer = driver.find_element(By.CSS_SELECTOR, "footer.site-footer")
    back = driver.find_element(By.CSS_SELECTOR, "main > p.no-print")
    article = driver.find_element(By.CSS_SELECTOR, "article.guide")
    external = driver.find_element(By.CSS_SELECTOR, "article a.external")
    assert driver.execute_script(_DISPLAYED, header) != "none"
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        for hidden in (header, footer, back):
            assert driver.execute_script(_DISPLAYED, hidden) == "none"
        assert driver.execute_script(_DISPLAYED, article) == "block"
        checklist = driver.find_element(By.CSS_SELECTOR, ".checklist")
        assert driver.execute_script(_DISPLAYED, checklist) != "none"
        assert "https://www.accessnow.org/help/" in driver.execute_script(_AFTER, external)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert driver.execute_script(_DISPLAYED, header) != "none"
