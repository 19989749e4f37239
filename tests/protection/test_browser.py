"""The panic button in a real browser with JavaScript off: lock down, see it in force, undo it.

The server's command loop is not running in tests; the test carries the platform commands out
itself between page loads, exactly as the loop would (tasks.deliver_due with the demo adapter).
"""

from __future__ import annotations

import random

import pytest
from selenium.webdriver.common.by import By

from hrdshield.demo_platform import service as platform
from hrdshield.demo_platform.generator import seed_platform
from hrdshield.protection import tasks
from hrdshield.protection.adapters.demo import DemoAdapter
from tests.web.browser import (
    Browsers,
    LiveSite,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    click_and_wait,
    demo_site_fixture,  # noqa: F401
    live_site_fixture,  # noqa: F401
    sign_in,
    wait_for_path,
)
from tests.web.test_accessibility import assert_no_problems, audit_url

DEFENDER_EMAIL = "defender@demo.hrdshield.test"


def _platform_works(site: LiveSite) -> None:
    tasks.deliver_due(
        session_factory=site.session_factory, adapters={"demo": DemoAdapter(site.session_factory)}
    )


def _is_private(site: LiveSite) -> bool:
    with site.session_factory() as session:
        account = platform.account_by_handle(session=session, handle="@demo_hrd_amara")
        assert account is not None
        return account.is_private


@pytest.fixture
def platform_site(demo_site: LiveSite) -> LiveSite:
    with demo_site.session_factory() as session, session.begin():
        seed_platform(session=session, rng=random.Random(7))
    _platform_works(demo_site)  # enrolment's standing hold on takedowns
    return demo_site


def test_the_panic_button_works_without_javascript(
    browsers: Browsers, platform_site: LiveSite
) -> None:
    driver = browsers.get(javascript=False)
    sign_in(driver, platform_site, DEFENDER_EMAIL)
    wait_for_path(driver, "/portal")
    driver.get(platform_site.url("/portal/safety"))
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button.panic-button"))
    wait_for_path(driver, "/portal/safety")
    assert "being locked down" in driver.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert not _is_private(platform_site)  # not yet: the platform has not acted

    _platform_works(platform_site)
    driver.get(platform_site.url("/portal/safety"))
    row = driver.find_element(By.XPATH, "//tr[td[contains(., 'Lockdown')]]")
    assert "In force" in row.text
    assert _is_private(platform_site)

    click_and_wait(driver, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    _platform_works(platform_site)
    driver.get(platform_site.url("/portal/safety"))
    row = driver.find_element(By.XPATH, "//tr[td[contains(., 'Lockdown')]]")
    assert "Turned off" in row.text
    assert not _is_private(platform_site)


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_safety_page_has_no_axe_violations(
    browsers: Browsers, platform_site: LiveSite, lang: str
) -> None:
    driver = browsers.get()
    sign_in(driver, platform_site, DEFENDER_EMAIL, lang=lang)
    wait_for_path(driver, "/portal")
    problems = audit_url(driver, platform_site, "/portal/safety", lang)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button.panic-button"))
    _platform_works(platform_site)
    problems += audit_url(driver, platform_site, "/portal/safety", lang, who="after lockdown ")
    assert_no_problems(problems)
