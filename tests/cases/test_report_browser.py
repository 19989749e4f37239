"""The public report flow in a real browser: with JavaScript off, by keyboard, in English and
Arabic, and with no axe-core violation on the form, the receipt and the status page.

Drives the application over loopback with Debian's Chromium, as tests/web does (see browser.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from hrdshield.cases import intake
from hrdshield.cases.enums import CaseSource, MessageDirection
from hrdshield.cases.models import Case
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_report_pages import CODE_FORMAT, fast_receipt_hashing, wire
from tests.web.browser import (
    Browsers,
    LiveSite,
    axe_violations,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    describe_violations,
    foreign_requests,
    live_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    submit,
    wait_for_path,
)

LANGUAGES = ["en", "ar"]
NARRATIVE = {
    "en": "Synthetic test: replies say they know where I live and will come tonight.",
    "ar": "اختبار مصطنع: تقول الردود إنهم يعرفون عنواني وسيأتون الليلة.",
}
QUESTION = {
    "en": "Which account wrote the first reply?",
    "ar": "ما الحساب الذي كتب الرد الأول؟",
}
ANSWER = {"en": "It was @synthetic_attacker.", "ar": "كان الحساب @synthetic_attacker."}


@pytest.fixture(autouse=True)
def _report_routes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(app)
    fast_receipt_hashing(monkeypatch)


def _problems(driver: WebDriver, page: str) -> list[str]:
    found = [f"{page}: loaded {url} from another origin" for url in foreign_requests(driver)]
    violations = axe_violations(driver)
    if violations:
        found.append(describe_violations(page, violations))
    return found


def _press_space(driver: WebDriver, selector: str) -> None:
    """Choose a radio button the way a keyboard user does: focus it and press Space."""
    driver.find_element(By.CSS_SELECTOR, selector).send_keys(Keys.SPACE)


def _send_report(driver: WebDriver, site: LiveSite, lang: str) -> str:
    driver.get(site.url(f"/report?lang={lang}"))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == (
        "rtl" if lang == "ar" else "ltr"
    )
    _press_space(driver, "input[name=category][value=threat_of_violence]")
    driver.find_element(By.ID, "narrative").send_keys(NARRATIVE[lang])
    driver.find_element(By.ID, "links").send_keys("@synthetic_attacker")
    _press_space(driver, "input[name=relation][value=on_behalf]")
    _press_space(driver, "input[name=contact][value=email]")
    driver.find_element(By.ID, "contact_email").send_keys("reporter@example.test")
    submit(driver)
    wait_for_path(driver, "/report")
    code = driver.find_element(By.ID, "receipt-code").text
    assert CODE_FORMAT.fullmatch(code), code
    return code


def _ask(site: LiveSite, lang: str) -> Case:
    with site.session_factory() as session, session.begin():
        reported = session.scalars(select(Case).order_by(Case.created_at.desc())).first()
        assert reported is not None
        reviewer = factories.user(session, Role.REVIEWER)
        intake.ask(
            session=session,
            actor=factories.principal(reviewer),
            case_id=reported.id,
            body=QUESTION[lang],
        )
        session.expunge(reported)
    return reported


def _open_status(driver: WebDriver, site: LiveSite, lang: str, code: str) -> None:
    driver.get(site.url(f"/report/status?lang={lang}"))
    driver.find_element(By.ID, "code").send_keys(code.lower().replace("-", " "))
    submit(driver)
    wait_for_path(driver, "/report/status")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_follow_and_answer_without_javascript(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    driver = browsers.get(javascript=False)
    code = _send_report(driver, live_site, lang)
    reported = _ask(live_site, lang)
    assert reported.source is CaseSource.ANONYMOUS
    assert reported.language == lang

    _open_status(driver, live_site, lang, code)
    main = driver.find_element(By.TAG_NAME, "main")
    assert reported.reference in main.text
    assert QUESTION[lang] in main.text
    assert code not in driver.current_url
    assert not urlsplit(driver.current_url).query.replace(f"lang={lang}", "")

    driver.find_element(By.ID, "answer").send_keys(ANSWER[lang])
    submit(driver)
    wait_for_path(driver, "/report/status")
    assert driver.find_element(By.CSS_SELECTOR, "p.notice[role=status]").is_displayed()
    assert ANSWER[lang] in driver.find_element(By.TAG_NAME, "main").text
    with live_site.session_factory() as session:
        thread = intake.messages_of(session=session, case_id=reported.id)
    assert [(m.direction, m.body) for m in thread] == [
        (MessageDirection.TO_REPORTER, QUESTION[lang]),
        (MessageDirection.FROM_REPORTER, ANSWER[lang]),
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_pages_have_no_axe_violations(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    driver = browsers.get()
    driver.get(live_site.url(f"/report?lang={lang}"))
    problems = _problems(driver, f"report form ({lang})")

    submit(driver)  # empty: every problem shown next to its field
    assert driver.find_elements(By.CSS_SELECTOR, "[aria-invalid=true]")
    problems += _problems(driver, f"report form with errors ({lang})")

    code = _send_report(driver, live_site, lang)
    problems += _problems(driver, f"receipt ({lang})")

    driver.get(live_site.url(f"/report/status?lang={lang}"))
    problems += _problems(driver, f"status form ({lang})")
    driver.find_element(By.ID, "code").send_keys("AAAA-AAAA-AAAA-AAAA-AAAA")
    submit(driver)
    problems += _problems(driver, f"status form with a wrong code ({lang})")

    _ask(live_site, lang)
    _open_status(driver, live_site, lang, code)
    problems += _problems(driver, f"status page ({lang})")
    assert not problems, "\n".join(problems)
