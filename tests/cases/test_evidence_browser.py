"""Evidence pages in a real browser: the whole flow with JavaScript off, and no axe violation.

Drives the application over loopback with Debian's Chromium, as tests/web does (see browser.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.cases.test_evidence_api import wire
from tests.cases.test_evidence_sniff import png
from tests.web.browser import (
    Browsers,
    LiveSite,
    a_case_id,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    click_and_wait,
    demo_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    live_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    page_problems,
    pass_two_factor,
    sign_in,
    wait_for_path,
)

REVIEWER = "reviewer@demo.hrdshield.test"


@pytest.fixture(autouse=True)
def _evidence_routes(app: FastAPI) -> None:
    wire(app)


def _upload(driver: WebDriver, site: LiveSite, tmp_path: Path, lang: str) -> None:
    case_id = a_case_id(site)
    sign_in(driver, site, REVIEWER, lang=lang)
    pass_two_factor(driver, site, REVIEWER)
    wait_for_path(driver, "/staff")
    path = f"/staff/cases/{case_id}/evidence"
    driver.get(site.url(f"{path}?lang={lang}"))
    picture = tmp_path / "screenshot of the threat.png"
    picture.write_bytes(png(300, 150))
    driver.find_element(By.ID, "evidence-file").send_keys(str(picture))
    click_and_wait(driver, driver.find_element(By.XPATH, "//main//form[@enctype]//button"))
    wait_for_path(driver, path)
    assert driver.find_element(By.CSS_SELECTOR, "p.notice[role=status]").is_displayed()
    # shown only as a blurred preview of a few pixels, drawn larger, until revealed
    [preview] = driver.find_elements(By.TAG_NAME, "img")
    assert urlsplit(str(preview.get_attribute("src"))).path.endswith("/preview")
    WebDriverWait(driver, 10).until(lambda _: preview.get_property("complete"))
    assert (preview.get_property("naturalWidth"), preview.get_property("naturalHeight")) == (32, 16)
    assert (preview.get_dom_attribute("width"), preview.get_dom_attribute("height")) == (
        "160",
        "80",
    )


def test_a_reviewer_adds_and_reveals_an_image_without_javascript(
    browsers: Browsers, demo_site: LiveSite, tmp_path: Path
) -> None:
    driver = browsers.get(javascript=False)
    _upload(driver, demo_site, tmp_path, "en")
    reveal = driver.find_element(By.CSS_SELECTOR, "td form")
    action = urlsplit(str(reveal.get_attribute("action"))).path

    click_and_wait(driver, reveal.find_element(By.TAG_NAME, "button"))

    wait_for_path(driver, action)
    image = driver.find_element(By.CSS_SELECTOR, "main figure img")
    assert image.get_property("naturalWidth") == 300
    assert (image.get_attribute("width"), image.get_attribute("height")) == ("300", "150")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_evidence_pages_have_no_axe_violations(
    browsers: Browsers, demo_site: LiveSite, tmp_path: Path, lang: str
) -> None:
    driver = browsers.get()
    _upload(driver, demo_site, tmp_path, lang)
    problems = page_problems(driver, f"evidence list ({lang})")

    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "td form button"))
    image = driver.find_element(By.CSS_SELECTOR, "main figure img")
    assert driver.execute_script("return arguments[0].complete", image)
    assert image.get_property("naturalWidth") == 300
    problems += page_problems(driver, f"revealed image ({lang})")
    assert not problems, "\n".join(problems)
