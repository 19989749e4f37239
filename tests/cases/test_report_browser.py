"""The public report flow in a real browser: with JavaScript off, by keyboard, in English and
Arabic, and with no axe-core violation on the form, the receipt, the status page and the
reviewer queue. A screenshot goes with the report, a reviewer asks a question from the case
page, and the reporter reads it with the receipt code and answers. A trusted partner reports
from the portal the same way.

Drives the application over loopback with Debian's Chromium, as tests/web does (see browser.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from hrdshield.cases import intake
from hrdshield.cases.enums import CaseSource, MessageDirection
from hrdshield.cases.evidence.models import Evidence
from hrdshield.cases.models import Case
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_evidence_sniff import pdf, png
from tests.cases.test_report_pages import CODE_FORMAT, fast_receipt_hashing, wire
from tests.web.browser import (
    Browsers,
    LiveSite,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    click_and_wait,
    forget_cookies,
    live_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    page_problems,
    sign_in,
    submit,
    wait_for_path,
)
from tests.web.test_accessibility import assert_javascript_is_off

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
SENT_TOKENS: list[str | None] = []  # the one-time token of each report form sent


@pytest.fixture(autouse=True)
def _report_routes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(app)
    fast_receipt_hashing(monkeypatch)


def _press_space(driver: WebDriver, selector: str) -> None:
    """Choose a radio button the way a keyboard user does: focus it and press Space."""
    driver.find_element(By.CSS_SELECTOR, selector).send_keys(Keys.SPACE)


def _send_report(
    driver: WebDriver, site: LiveSite, lang: str, screenshot: Path | None = None
) -> str:
    driver.get(site.url(f"/report?lang={lang}"))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == (
        "rtl" if lang == "ar" else "ltr"
    )
    SENT_TOKENS.append(driver.find_element(By.NAME, "submission").get_attribute("value"))
    _press_space(driver, "input[name=category][value=threat_of_violence]")
    driver.find_element(By.ID, "narrative").send_keys(NARRATIVE[lang])
    driver.find_element(By.ID, "links").send_keys("@synthetic_attacker")
    if screenshot is not None:
        driver.find_element(By.ID, "evidence").send_keys(str(screenshot))
    _press_space(driver, "input[name=relation][value=on_behalf]")
    _press_space(driver, "input[name=contact][value=email]")
    driver.find_element(By.ID, "contact_email").send_keys("reporter@example.test")
    submit(driver)
    wait_for_path(driver, "/report")
    code = driver.find_element(By.ID, "receipt-code").text
    assert CODE_FORMAT.fullmatch(code), code
    return code


def _newest_case(site: LiveSite) -> Case:
    with site.session_factory() as session:
        reported = session.scalars(select(Case).order_by(Case.created_at.desc())).first()
        assert reported is not None
        session.expunge(reported)
    return reported


def _sign_in_staff(driver: WebDriver, site: LiveSite, role: Role, lang: str, **fields: str) -> Any:
    """Create a member of staff with `fields` and sign them in through the pages, two-step too."""
    with site.session_factory() as session, session.begin():
        organisation_id = fields.pop("organisation_id", None)
        person = factories.user(session, role, organisation_id=organisation_id)
        for name, value in fields.items():
            setattr(person, name, value)
        session.flush()
        session.expunge(person)
    forget_cookies(driver)
    sign_in(driver, site, person.email, password=factories.PASSWORD, lang=lang)
    wait_for_path(driver, "/login/two-factor")
    driver.find_element(By.ID, "code").send_keys(
        site.two_factor_code(person.email, person.totp_secret)
    )
    submit(driver)
    return person


def _ask(
    driver: WebDriver, site: LiveSite, lang: str, *, audit: bool = False
) -> tuple[Case, list[str]]:
    """Sign a reviewer in, find the report in the queue, ask from the case page (no script).

    With `audit`, the queue is checked with axe-core (which needs the browser's JavaScript).
    """
    reported = _newest_case(site)
    _sign_in_staff(driver, site, Role.REVIEWER, lang, languages=lang)
    wait_for_path(driver, "/staff")
    driver.get(site.url(f"/staff/queue?lang={lang}"))
    problems = page_problems(driver, f"reviewer queue ({lang})") if audit else []
    link = driver.find_element(By.LINK_TEXT, reported.reference)
    click_and_wait(driver, link)
    wait_for_path(driver, f"/staff/cases/{reported.id}")
    driver.find_element(By.ID, "question").send_keys(QUESTION[lang])
    click_and_wait(
        driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/questions'] button")
    )
    wait_for_path(driver, f"/staff/cases/{reported.id}")
    assert QUESTION[lang] in driver.find_element(By.TAG_NAME, "main").text
    forget_cookies(driver)  # the reporter comes back with nothing but the code
    return reported, problems


def _open_status(driver: WebDriver, site: LiveSite, lang: str, code: str) -> None:
    driver.get(site.url(f"/report/status?lang={lang}"))
    driver.find_element(By.ID, "code").send_keys(code.lower().replace("-", " "))
    submit(driver)
    wait_for_path(driver, "/report/status")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_follow_and_answer_without_javascript(
    browsers: Browsers, live_site: LiveSite, lang: str, tmp_path: Path
) -> None:
    driver = browsers.get(javascript=False)
    assert_javascript_is_off(driver)
    screenshot = tmp_path / "captura de la amenaza.png"
    screenshot.write_bytes(png(120, 60))
    code = _send_report(driver, live_site, lang, screenshot)
    assert "1 file was received" in driver.page_source or lang != "en"
    reported, _ = _ask(driver, live_site, lang)
    assert reported.source is CaseSource.ANONYMOUS
    assert reported.language == lang
    with live_site.session_factory() as session:
        [evidence] = session.scalars(select(Evidence).where(Evidence.case_id == reported.id))
        assert evidence.sha256 == hashlib.sha256(png(120, 60)).hexdigest()

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
    problems = page_problems(driver, f"report form ({lang})")

    submit(driver)  # empty: every problem shown next to its field
    assert driver.find_elements(By.CSS_SELECTOR, "[aria-invalid=true]")
    problems += page_problems(driver, f"report form with errors ({lang})")

    code = _send_report(driver, live_site, lang)
    spent = SENT_TOKENS[-1]
    problems += page_problems(driver, f"receipt ({lang})")

    # the same form sent twice (what reloading the receipt does): a page that says so, no code
    driver.get(live_site.url(f"/report?lang={lang}"))
    replay = "document.getElementsByName('submission')[0].value = arguments[0]"
    driver.execute_script(replay, spent)
    _press_space(driver, "input[name=category][value=harassment]")
    driver.find_element(By.ID, "narrative").send_keys(NARRATIVE[lang])
    submit(driver)
    assert not driver.find_elements(By.ID, "receipt-code")
    assert driver.find_element(By.CSS_SELECTOR, "main .notice[role=status]").is_displayed()
    problems += page_problems(driver, f"report already received ({lang})")

    driver.get(live_site.url(f"/report/status?lang={lang}"))
    problems += page_problems(driver, f"status form ({lang})")
    driver.find_element(By.ID, "code").send_keys("AAAA-AAAA-AAAA-AAAA-AAAA")
    submit(driver)
    problems += page_problems(driver, f"status form with a wrong code ({lang})")

    _, queue_problems = _ask(driver, live_site, lang, audit=True)
    problems += queue_problems
    _open_status(driver, live_site, lang, code)
    problems += page_problems(driver, f"status page ({lang})")
    driver.find_element(By.ID, "answer").send_keys(ANSWER[lang])
    submit(driver)
    problems += page_problems(driver, f"status page after an answer ({lang})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_partner_reports_for_a_defender_without_javascript(
    browsers: Browsers, live_site: LiveSite, lang: str, tmp_path: Path
) -> None:
    with live_site.session_factory() as session, session.begin():
        organisation = factories.organisation(session)
        organisation_id = organisation.id
    driver = browsers.get(javascript=False)
    partner = _sign_in_staff(driver, live_site, Role.PARTNER, lang, organisation_id=organisation_id)
    with live_site.session_factory() as session, session.begin():
        defender = factories.defender(
            session, factories.principal(partner), languages=[lang], display_name="Test Nadia"
        )
        defender_id, pseudonym = defender.id, defender.pseudonym
    wait_for_path(driver, "/portal")
    driver.get(live_site.url(f"/portal?lang={lang}"))
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "main a[href='/portal/report']"))
    wait_for_path(driver, "/portal/report")
    option = driver.find_element(By.CSS_SELECTOR, f"#defender option[value='{defender_id}']")
    assert pseudonym in option.text  # the partner picks the defender by reference and name
    Select(driver.find_element(By.ID, "defender")).select_by_value(defender_id)
    _press_space(driver, "input[name=category][value=doxxing]")
    driver.find_element(By.ID, "narrative").send_keys(NARRATIVE[lang])
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(pdf())
    driver.find_element(By.ID, "evidence").send_keys(str(letter))
    submit(driver)
    wait_for_path(driver, "/portal/report")
    assert not driver.find_elements(By.ID, "receipt-code")  # followed in the portal instead
    reported = _newest_case(live_site)
    assert (reported.source, reported.defender_id) == (CaseSource.PARTNER, defender_id)
    assert reported.language == lang
    click_and_wait(
        driver, driver.find_element(By.CSS_SELECTOR, f"main a[href='/portal/cases/{reported.id}']")
    )
    wait_for_path(driver, f"/portal/cases/{reported.id}")
    assert reported.reference in driver.find_element(By.TAG_NAME, "main").text

    axe_driver = browsers.get()
    _sign_in_staff(axe_driver, live_site, Role.PARTNER, lang, organisation_id=organisation_id)
    axe_driver.get(live_site.url(f"/portal/report?lang={lang}"))
    problems = page_problems(axe_driver, f"partner report form ({lang})")
    submit(axe_driver)
    problems += page_problems(axe_driver, f"partner report form with errors ({lang})")
    assert not problems, "\n".join(problems)
