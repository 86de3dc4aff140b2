"""A real browser (Debian Chromium through Playwright) takes part in a study: one complete participant
session with a reload in the middle, then two participants at once in two browser contexts, every
answer stored. Skipped without Chromium unless INTERP_CORE_REQUIRE_BROWSER=1 (CI)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _assert_no_exception, server  # noqa: F401  (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))

from study_fixtures import SECRET, synthetic_study  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def study_database(tmp_path_factory):
    """The dashboard server (started by ``server`` after this) reads its study database and key from here."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-study') / 'studies.db'}"
    saved = {k: os.environ.get(k) for k in ("INTERP_CORE_STUDY_URL", "INTERP_CORE_STUDY_SECRET")}
    os.environ.update(INTERP_CORE_STUDY_URL=url, INTERP_CORE_STUDY_SECRET=SECRET)
    yield url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_database(study_database):
    from interp_core.study.storage import StudyStore

    store = StudyStore(study_database)
    store.migrate()
    return store


def consent(page, url: str) -> None:
    page.goto(url, timeout=60_000)
    page.get_by_role("button", name="I agree and want to take part").click(timeout=60_000)
    page.get_by_text("Item 1 of 3").wait_for(timeout=60_000)


def _state(page) -> tuple[str, int, bool]:
    """(progress text, saved answers on screen, done): changes once an answer has been stored and shown."""
    texts = page.locator('[data-testid="stProgress"]').all_inner_texts()  # no waiting: the page may be re-rendering
    return (texts[0] if texts else ""), page.get_by_text("(saved)").count(), page.get_by_text("Thank you!").count() > 0


def _settled(page) -> tuple[str, int, bool]:
    """Wait until the app has finished running and the page stays the same for a moment; its state."""
    for _ in range(600):
        if not page.locator('[data-testid="stStatusWidget"]').count():
            state = _state(page)
            page.wait_for_timeout(250)
            if _state(page) == state and not page.locator('[data-testid="stStatusWidget"]').count():
                return state
        page.wait_for_timeout(100)
    raise AssertionError("the app kept running")


def answer_one(page) -> bool:
    """Give one answer on the current screen and wait until the page shows it stored; False when done.
    A click that lands while the page is being redrawn can be lost, so it is repeated (the server would
    refuse a second answer to the same question anyway)."""
    before = _settled(page)
    if before[2]:
        return False
    value = "2 poor" if page.get_by_text("Attention check").count() else "4 good"
    for _ in range(3):
        group = page.get_by_role("radiogroup").filter(has_not=page.locator("input[disabled]")).first
        group.get_by_text(value, exact=True).click()
        for _ in range(100):
            page.wait_for_timeout(100)
            if _state(page) != before:
                _settled(page)
                return True
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "study-session-stuck.png"), full_page=True)
    raise AssertionError(f"the answer was not shown as stored: {before}")


def finish(page) -> None:
    while answer_one(page):
        pass


def test_one_complete_session_with_a_reload(server, browser, study_database):
    from interp_core.study.tokens import make_token, participant_link

    store = open_database(study_database)
    study_id = store.create_study(synthetic_study(inputs=2))
    token = make_token(study_id)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    consent(page, participant_link(study_id, token, base=server))
    _assert_no_exception(page)
    answer_one(page)
    answer_one(page)
    page.wait_for_timeout(500)
    assert store.count_responses(study_id) == 2
    page.reload()  # resume where the participant left
    page.get_by_text("(saved)").first.wait_for(timeout=60_000)
    assert _settled(page)[1] == 2
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "study-session.png"), full_page=True)
    finish(page)
    _assert_no_exception(page)
    rows = store.responses(study_id)
    assert len(rows) == 2 * 3 + 1 and [r["correct"] for r in rows if r["attention"]] == [True]
    page.close()
    store.dispose()


def test_two_participants_at_once_in_two_contexts(server, browser, study_database):
    from interp_core.study.tokens import make_token, participant_link

    store = open_database(study_database)
    study_id = store.create_study(synthetic_study(inputs=2))
    tokens = [make_token(study_id), make_token(study_id)]
    contexts = [browser.new_context(viewport={"width": 1300, "height": 1000}) for _ in tokens]
    pages = [c.new_page() for c in contexts]
    for page, token in zip(pages, tokens):
        consent(page, participant_link(study_id, token, base=server))
    active = list(pages)
    while active:  # interleave the two participants' answers
        active = [p for p in active if answer_one(p)]
    for page in pages:
        page.get_by_text("Thank you!").wait_for(timeout=30_000)
        _assert_no_exception(page)
    rows = store.responses(study_id)
    by_participant = {code: [r for r in rows if r["participant"] == code] for code in (t.split(".")[1] for t in tokens)}
    assert [len(v) for v in by_participant.values()] == [7, 7]
    for context in contexts:
        context.close()
    store.dispose()


def test_a_phone_sized_screen_completes_a_session_with_sounds(server, browser, study_database):
    """390x844 (an iPhone 12-14 in CSS pixels), touch: consent, play the sound, rate, finish; nothing wider than the screen."""
    from interp_core.study.tokens import make_token, participant_link

    store = open_database(study_database)
    study_id = store.create_study(synthetic_study(inputs=2, methods=("alpha", "beta"), sound=True))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=3)
    page = context.new_page()
    page.goto(participant_link(study_id, make_token(study_id), base=server), timeout=60_000)
    page.get_by_role("button", name="I agree and want to take part").tap(timeout=60_000)
    page.get_by_text("Item 1 of 3").wait_for(timeout=60_000)
    played = 0
    for _ in range(20):
        state = _settled(page)
        if state[2]:
            break
        play = page.get_by_role("button", name="▶ Play the input")
        if play.count():
            play.tap()
            page.locator("audio").first.wait_for(timeout=30_000)
            played += 1
            page.wait_for_timeout(600)  # the 0.3 s clip has played to its end
            if played == 1:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "study-session-phone-item.png"), full_page=True)
            continue
        answer_one(page)
    assert page.get_by_text("Thank you!").count() and played == 2
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390  # no sideways scrolling
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "study-session-phone.png"), full_page=True)
    _assert_no_exception(page)
    rows = store.responses(study_id)
    assert len(rows) == 2 * 2 + 1 and all(r["answered_at"] > r["shown_at"] for r in rows)
    context.close()
    store.dispose()


def test_prolific_link_twice_resumes_and_completion_redirects_to_the_platform(server, browser, study_database):
    from interp_core.study.recruitment import entry_tag

    store = open_database(study_database)
    recruitment = {"platform": "prolific", "completion_code": "C0MPL3TE", "completion_url": f"{server}/?completed={{code}}"}
    study_id = store.create_study(synthetic_study(inputs=2, recruitment=recruitment))
    link = (f"{server}/study_session?study={study_id}&entry={entry_tag(study_id, 'prolific')}&PROLIFIC_PID={'5f' * 12}"
            f"&STUDY_ID={'a' * 24}&SESSION_ID={'b' * 24}")
    first = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = first.new_page()
    consent(page, link)
    answer_one(page)
    first.close()  # the participant leaves and comes back later, in a fresh browser
    second = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = second.new_page()
    page.goto(link.replace("b" * 24, "c" * 24), timeout=60_000)  # Prolific gives the same PID a new SESSION_ID
    page.get_by_text("(saved)").first.wait_for(timeout=60_000)
    assert _settled(page)[1] == 1 and page.get_by_role("button", name="I agree and want to take part").count() == 0
    finish(page)
    page.get_by_text("C0MPL3TE").first.wait_for(timeout=30_000)
    page.wait_for_url("**/?completed=C0MPL3TE", timeout=30_000)  # sent on to the platform's completion URL
    assert len(store.responses(study_id)) == 7 and len(store.participants(study_id)) == 1
    second.close()
    store.dispose()
