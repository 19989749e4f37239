"""Every page works for every defender: WCAG 2.1 AA with no axe-core violation, usable with
JavaScript off (Tor Browser's "Safest" level) and by keyboard alone, and mirrored in Arabic.

The tests drive the real application over HTTP with headless Chromium (see browser.py). A missing
browser or axe-core fails them with the command that installs it; nothing is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from hrdshield import demo_data
from hrdshield.security.rbac import Permission, Role, allowed
from hrdshield.web.i18n import SUPPORTED_LANGUAGES, translations
from tests import factories
from tests.web.browser import (
    Browsers,
    LiveSite,
    a_case_id,
    a_defender_id,
    an_alert,
    axe_violations,
    browsers_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    click_and_wait,
    demo_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    forget_cookies,
    live_site_fixture,  # noqa: F401  (imported so that pytest finds the fixture here)
    page_problems,
    pass_two_factor,
    sign_in,
    submit,
    wait_for_path,
)

LANGUAGES = ["en", "ar"]
NEW_STAFF_EMAIL = "new.staff@example.test"
# Everything Tab should stop at; hidden inputs and disabled controls are not interactive.
FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),"
    " select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)
_MARK_CONTROLS = """
const controls = [...document.querySelectorAll(arguments[0])];
return controls.map((control, index) => {
  control.dataset.tabOrder = String(index);
  const style = getComputedStyle(control);
  return {
    label: control.outerHTML.slice(0, 120),
    outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(" "),
  };
});
"""
_FOCUSED = """
const focused = document.activeElement;
const style = getComputedStyle(focused);
const box = focused.getBoundingClientRect();
return {
  index: focused.dataset.tabOrder === undefined ? null : Number(focused.dataset.tabOrder),
  style: style.outlineStyle,
  width: parseFloat(style.outlineWidth),
  outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(" "),
  rings: [style.outlineColor, style.boxShadow].join(" "),
  box: {left: box.left, top: box.top, right: box.right, bottom: box.bottom},
  viewport: {width: window.innerWidth, height: window.innerHeight},
};
"""
_BOX = """
const box = arguments[0].getBoundingClientRect();
return {left: box.left, top: box.top, right: box.right, bottom: box.bottom,
        width: window.innerWidth, height: window.innerHeight};
"""


def localised(path: str, lang: str) -> str:
    """Return `path` with the interface language asked for in its query."""
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


def audit(driver: WebDriver, page: str, expected_path: str, lang: str) -> list[str]:
    """Return the problems on the page the browser shows: wrong page, other origins, axe."""
    if urlsplit(driver.current_url).path != expected_path:
        return [f"{page}: expected {expected_path}, the browser is at {driver.current_url}"]
    return page_problems(driver, page, lang)


def audit_url(driver: WebDriver, site: LiveSite, path: str, lang: str, who: str = "") -> list[str]:
    """Open `path` in `lang` and return its problems."""
    url = localised(path, lang)
    driver.get(site.url(url))
    return audit(driver, f"{who}{url}", urlsplit(path).path, lang)


def assert_no_problems(problems: list[str]) -> None:
    """Fail with every problem found, one per line."""
    assert not problems, "accessibility problems:\n" + "\n".join(problems)


def pages_for(
    role: Role, defender_id: str, case_id: str, hrd_case_id: str, alert: tuple[str, str]
) -> list[str]:
    """Return the signed-in pages that `role` may open."""
    attacked, alert_id = alert
    by_permission = {
        Permission.PROTECTION_SELF: ["/portal/safety"],
        Permission.ALERT_READ: [
            "/staff/alerts",
            f"/staff/alerts/{alert_id}",
            f"/staff/defenders/{attacked}/campaign",
            "/staff/detection",
        ],
        Permission.CASE_WORK: [
            "/staff/queue",
            f"/staff/cases/{case_id}",
            f"/staff/cases/{case_id}/evidence",
            f"/staff/defenders/{attacked}/safety",
        ],
        Permission.AUDIT_READ: ["/staff/audit", "/staff/audit?verify=1"],
        Permission.PLATFORM_FEED: ["/staff/platform"],
        Permission.STAFF_HOME: ["/staff"],
        Permission.DEFENDER_DIRECTORY: [
            "/staff/defenders",
            "/staff/defenders/new",
            f"/staff/defenders/{defender_id}",
        ],
        Permission.PORTAL: ["/portal", "/portal?enrolled=1"],
        Permission.ENROL_ON_BEHALF: ["/portal/defenders/new"],
        Permission.REPORT_ON_BEHALF: ["/portal/report"],
        Permission.ONCALL_MANAGE: ["/staff/oncall"],
    }
    pages = [
        page
        for permission, paths in by_permission.items()
        if allowed(role, permission)
        for page in paths
    ]
    if role is Role.HRD:
        pages.append(f"/portal/cases/{hrd_case_id}")
    return pages


def test_axe_runs_despite_the_strict_csp_and_finds_violations(
    browsers: Browsers, live_site: LiveSite
) -> None:
    driver = browsers.get()
    driver.get(live_site.url("/?lang=en"))
    driver.execute_script(
        "const script = document.createElement('script');"
        "script.textContent = 'window.inlineScriptRan = true';"
        "document.head.append(script);"
    )
    assert driver.execute_script("return window.inlineScriptRan") is None, (
        "the page ran an inline script: its Content-Security-Policy is missing or too loose"
    )
    assert axe_violations(driver) == []
    driver.execute_script(
        "const faint = document.createElement('p');"
        "faint.textContent = 'Faint text';"
        "faint.style.color = '#cccccc';"  # through the CSSOM: the CSP refuses style attributes
        "document.querySelector('main').append(faint, document.createElement('img'));"
    )
    found = {violation["id"] for violation in axe_violations(driver)}
    assert {"image-alt", "color-contrast"} <= found, f"axe-core missed planted problems: {found}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_pages_have_no_axe_violations(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    driver = browsers.get()
    problems = []
    for path in ("/", "/login", "/enrol", "/enrol/received"):
        problems += audit_url(driver, live_site, path, lang)

    sign_in(driver, live_site, "nobody@example.test", password="not the password", lang=lang)
    driver.find_element(By.CSS_SELECTOR, ".error[role=alert]")
    problems += audit(driver, "/login after a failed sign-in", "/login", lang)

    driver.get(live_site.url(localised("/enrol", lang)))
    submit(driver)
    driver.find_element(By.CSS_SELECTOR, "p.error[role=alert]")
    problems += audit(driver, "/enrol after a failed submission", "/enrol", lang)

    driver.get(live_site.url(localised("/no-such-page", lang)))
    assert driver.find_element(By.TAG_NAME, "h1").text
    problems += audit(driver, f"{localised('/no-such-page', lang)} (404)", "/no-such-page", lang)
    assert_no_problems(problems)


@pytest.mark.parametrize("lang", ["ru", "pt"])
def test_russian_and_portuguese_pages_are_translated_and_pass_axe(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    ui = translations(lang)
    menu = [
        ui.gettext(text)
        for text in ("Sign in", "Enrol as a defender", "Report an incident", "Safety guides")
    ]
    driver = browsers.get()
    problems = []
    for path in ("/", "/login", "/enrol"):
        problems += audit_url(driver, live_site, path, lang)
        header = driver.find_element(By.CSS_SELECTOR, "header")
        main_menu = header.find_element(By.CSS_SELECTOR, "nav:not(.languages)")
        assert main_menu.get_attribute("aria-label") == ui.gettext("Main")
        assert [link.text for link in main_menu.find_elements(By.TAG_NAME, "a")] == menu
        chosen = header.find_element(By.CSS_SELECTOR, ".languages a[aria-current=true]")
        assert chosen.text == SUPPORTED_LANGUAGES[lang].name
        skip_link = driver.find_element(By.CSS_SELECTOR, "a[href='#main']")
        assert skip_link.get_attribute("textContent") == ui.gettext("Skip to main content")

    submit(driver)  # the enrolment form, sent empty
    alert = driver.find_element(By.CSS_SELECTOR, "p.error[role=alert]")
    assert alert.text == ui.gettext("Please correct the problems marked below. Nothing was saved.")
    problems += audit(driver, "/enrol after a failed submission", "/enrol", lang)
    assert_no_problems(problems)


@pytest.mark.parametrize("lang", list(SUPPORTED_LANGUAGES))
def test_public_pages_fit_a_320_pixel_screen_in_every_language(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    # WCAG 1.4.10: no sideways scrolling at 320 CSS pixels, whatever the length of the words.
    driver = browsers.get()
    size = driver.get_window_size()
    driver.set_window_size(320, 800)
    problems = []
    try:
        for path in ("/", "/login", "/enrol"):
            driver.get(live_site.url(localised(path, lang)))
            wide, screen = driver.execute_script(
                "const root = document.documentElement; return [root.scrollWidth, root.clientWidth]"
            )
            if wide > screen:
                problems.append(f"{path}: {wide} pixels wide on a {screen}-pixel screen")
            skip_link = driver.find_element(By.CSS_SELECTOR, "a[href='#main']")
            if driver.execute_script(_BOX, skip_link)["bottom"] > 0:
                problems.append(f"{path}: the skip link shows before it has focus")
            boxes = driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox], input[type=radio]")
            squeezed = {box.size["width"] for box in boxes}
            if len(squeezed) > 1:  # a wrapping label must not shrink its tick box
                problems.append(f"{path}: tick boxes {sorted(squeezed)} pixels wide")
    finally:
        driver.set_window_size(size["width"], size["height"])
    assert not problems, f"{lang}: {problems}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_signed_in_pages_have_no_axe_violations(
    browsers: Browsers, demo_site: LiveSite, lang: str
) -> None:
    driver = browsers.get()
    defender_id = a_defender_id(demo_site)
    case_id = a_case_id(demo_site)
    hrd_case_id = a_case_id(demo_site, source="hrd")
    alert = an_alert(demo_site)
    problems: list[str] = []
    two_factor_checked = False
    for email, _name, role in demo_data.DEMO_USERS:
        forget_cookies(driver)
        sign_in(driver, demo_site, email, lang=lang)
        if role.is_staff:
            if not two_factor_checked:  # the page is the same for every role: check it once
                wait_for_path(driver, "/login/two-factor")
                problems += audit(driver, "/login/two-factor", "/login/two-factor", lang)
                two_factor_checked = True
            pass_two_factor(driver, demo_site, email)
        wait_for_path(driver, "/portal" if allowed(role, Permission.PORTAL) else "/staff")
        for path in pages_for(role, defender_id, case_id, hrd_case_id, alert):
            problems += audit_url(driver, demo_site, path, lang, who=f"{role.value} ")

    with demo_site.session_factory() as session:
        factories.user(session, Role.REVIEWER, email=NEW_STAFF_EMAIL, with_totp=False)
        session.commit()
    forget_cookies(driver)
    sign_in(driver, demo_site, NEW_STAFF_EMAIL, password=factories.PASSWORD, lang=lang)
    wait_for_path(driver, "/account/two-factor/setup")
    problems += audit(driver, "/account/two-factor/setup", "/account/two-factor/setup", lang)
    assert_no_problems(problems)


def assert_javascript_is_off(driver: WebDriver) -> None:
    """Fail unless the browser ignores scripts (checked on a page that never leaves it)."""
    driver.get("data:text/html,<title>off</title><script>document.title = 'on'</script>")
    assert driver.title == "off", "JavaScript is enabled in the browser meant to have it off"


def test_newcomer_signs_in_and_out_without_javascript(
    browsers: Browsers, demo_site: LiveSite
) -> None:
    driver = browsers.get(javascript=False)
    assert_javascript_is_off(driver)
    driver.get(demo_site.url("/?lang=en"))
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "Sign in"))
    wait_for_path(driver, "/login")
    email = "reviewer@demo.hrdshield.test"
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(demo_data.DEMO_PASSWORD)
    submit(driver)
    pass_two_factor(driver, demo_site, email)
    wait_for_path(driver, "/staff")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Staff home"

    click_and_wait(driver, driver.find_element(By.XPATH, "//header//button[.='Sign out']"))
    wait_for_path(driver, "/")
    assert driver.find_element(By.LINK_TEXT, "Sign in").is_displayed()
    driver.get(demo_site.url("/staff"))
    wait_for_path(driver, "/login")


def test_defender_enrols_without_javascript(browsers: Browsers, live_site: LiveSite) -> None:
    driver = browsers.get(javascript=False)
    assert_javascript_is_off(driver)
    driver.get(live_site.url("/?lang=en"))
    header = driver.find_element(By.CSS_SELECTOR, "header")
    click_and_wait(driver, header.find_element(By.LINK_TEXT, "Enrol as a defender"))
    wait_for_path(driver, "/enrol")
    fields = {
        "email": "new.defender@example.test",
        "password": "a long enough passphrase",
        "display_name": "Nadia (test)",
        "country": "TN",
        "handles": "@test_nadia",
    }
    for field_id, value in fields.items():
        driver.find_element(By.ID, field_id).send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "input[name=languages][value=ar]").click()
    Select(driver.find_element(By.ID, "contact_channel")).select_by_value("in_app")
    submit(driver)
    wait_for_path(driver, "/enrol/received")
    notice = driver.find_element(By.CSS_SELECTOR, "main .notice[role=status]")
    assert notice.text.startswith("Thank you. Your enrolment was received.")
    sign_in(driver, live_site, fields["email"], password=fields["password"])
    wait_for_path(driver, "/portal")


def strongest_contrast_on_white(colours: str) -> float:
    """Return the best contrast ratio against the white page among the opaque CSS colours given.

    WCAG 2.1 (1.4.11) asks 3:1 for what shows a control's state, such as its focus ring.
    """

    def luminance(red: float, green: float, blue: float) -> float:
        linear = [
            value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
            for value in (red / 255, green / 255, blue / 255)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    ratios = [1.0]
    for arguments in re.findall(r"rgba?\(([^)]*)\)", colours):
        values = [float(part) for part in re.split(r"[\s,/]+", arguments.strip()) if part]
        if len(values) == 3 or values[3] == 1:
            ratios.append(1.05 / (luminance(*values[:3]) + 0.05))
    return max(ratios)


def tab(driver: WebDriver) -> dict[str, object]:
    """Press Tab and return what has focus now, with its outline and position."""
    ActionChains(driver).send_keys(Keys.TAB).perform()
    return dict(driver.execute_script(_FOCUSED))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_first_tab_reaches_a_visible_skip_link_to_main(
    browsers: Browsers, live_site: LiveSite, lang: str
) -> None:
    driver = browsers.get()
    driver.get(live_site.url(localised("/", lang)))
    skip_link = driver.find_element(By.CSS_SELECTOR, "a[href='#main']")
    assert driver.execute_script(_BOX, skip_link)["bottom"] <= 0, "the skip link shows unfocused"

    focused = tab(driver)
    assert driver.switch_to.active_element == skip_link, "the first Tab missed the skip link"
    box, viewport = focused["box"], focused["viewport"]
    assert isinstance(box, dict)
    assert isinstance(viewport, dict)
    assert 0 <= box["top"] < box["bottom"] <= viewport["height"], f"skip link off screen: {box}"
    assert 0 <= box["left"] < box["right"] <= viewport["width"], f"skip link off screen: {box}"
    assert skip_link.is_displayed()
    assert focused["style"] != "none", "the focused skip link has no outline"

    ActionChains(driver).send_keys(Keys.ENTER).perform()
    WebDriverWait(driver, 5).until(
        lambda page: page.execute_script("return document.activeElement.id") == "main",
        "Enter on the skip link did not move focus to <main>",
    )
    assert driver.switch_to.active_element.tag_name == "main"


@pytest.mark.parametrize("path", ["/login", "/enrol"])
def test_every_control_is_reachable_by_tab_with_a_visible_focus(
    browsers: Browsers, live_site: LiveSite, path: str
) -> None:
    driver = browsers.get()
    driver.get(live_site.url(localised(path, "en")))
    controls = driver.execute_script(_MARK_CONTROLS, FOCUSABLE)
    assert len(controls) > 3
    reached: dict[int, dict[str, object]] = {}
    for _ in range(len(controls) + 5):
        focused = tab(driver)
        index = focused["index"]
        if isinstance(index, int):
            reached[index] = focused
        if len(reached) == len(controls):
            break
    missing = [control["label"] for index, control in enumerate(controls) if index not in reached]
    assert not missing, "not reachable by Tab:\n" + "\n".join(missing)
    invisible = [
        f"{controls[index]['label']}: focused {focus['outline']} (rings {focus['rings']}), "
        f"unfocused {controls[index]['outline']}"
        for index, focus in sorted(reached.items())
        if focus["style"] == "none"
        or float(str(focus["width"])) < 2
        or focus["outline"] == controls[index]["outline"]
        or strongest_contrast_on_white(str(focus["rings"])) < 3
    ]
    assert not invisible, "no visible focus outline:\n" + "\n".join(invisible)


def test_arabic_is_laid_out_right_to_left(
    browsers: Browsers,
    live_site: LiveSite,
    tmp_path: Path,
    record_property: pytest.RecordProperty,
) -> None:
    driver = browsers.get()
    halves = {}
    for lang in LANGUAGES:
        driver.get(live_site.url(localised("/", lang)))
        brand = driver.find_element(By.CSS_SELECTOR, ".site-header .brand")
        menu = driver.find_element(By.CSS_SELECTOR, ".site-header nav")
        brand_box = driver.execute_script(_BOX, brand)
        menu_box = driver.execute_script(_BOX, menu)
        centre = (brand_box["left"] + brand_box["right"]) / 2
        halves[lang] = "right" if centre > brand_box["width"] / 2 else "left"
        if lang == "ar":
            assert driver.execute_script("return document.documentElement.dir") == "rtl"
            assert brand_box["left"] >= menu_box["right"], "the menu is not left of the brand"
            screenshot = tmp_path / "hrdshield-ar.png"
            assert driver.save_screenshot(str(screenshot))
            record_property("screenshot", str(screenshot))
            print(f"Arabic front page: {screenshot}")  # noqa: T201  (shown with pytest -rP)
    assert halves == {"en": "left", "ar": "right"}, f"the brand is on the {halves}"
