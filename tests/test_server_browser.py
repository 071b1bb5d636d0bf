"""The page at `/`, in a real browser: headless Chromium from Debian's packages (`chromium`,
`chromium-driver`), driven by Selenium offline, against a real `nameclf serve`.

Skipped, saying why, where the browser is not installed; CI installs it (`apt-get install chromium
chromium-driver`). `python tests/test_server_browser.py docs/serve-page.png` redraws the picture of
the page on docs/serving.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from served import Served  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
pytestmark = pytest.mark.skipif(
    bool(missing),
    reason=f"needs headless Chromium: {', '.join(missing)} not found "
    "(Debian: apt-get install chromium chromium-driver)",
)
WAIT = 30  # seconds: two shared cores


def browser(width: int = 1000, height: int = 1200):
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tempfile.mkdtemp(prefix='nameclf-chromium-')}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("selenium", reason="needs selenium (the test extra)")
    with Served(["--model", "de-it", "--model", "all"], tmp_path_factory.mktemp("page")) as running:
        yield running


@pytest.fixture(scope="module")
def driver(server):
    started = browser()
    yield started
    started.quit()


@pytest.fixture
def page(driver, server):
    """The page, freshly loaded, with its models read."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(1000, 1200)
    driver.get(server.url("/"))
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    return driver


def by_id(driver, name):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, name)


def results(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#results .result")


def classify_with_keys(driver, text: str | None = None) -> None:
    """Type into the names box (or keep what is there) and press Ctrl+Enter, as a person would."""
    from selenium.webdriver.common.keys import Keys

    box = by_id(driver, "names")
    box.click()
    if text is not None:
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(text)
    box.send_keys(Keys.CONTROL, Keys.ENTER)


def paste(driver, text: str) -> None:
    """Put text in the names box the way a paste does: one insertion at the cursor."""
    box = by_id(driver, "names")
    box.click()
    driver.execute_script("arguments[0].value = ''", box)
    driver.execute_cdp_cmd("Input.insertText", {"text": text})


def wait_for_answers(driver, count: int) -> list:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(
        lambda d: len(results(d)) == count and "Classifying" not in by_id(d, "summary").text
    )
    return results(driver)


@pytest.mark.slow
def test_typing_tribbiani_shows_italian_with_its_probability_bar(page):
    from selenium.webdriver.common.by import By

    classify_with_keys(page, "Tribbiani")
    (answer,) = wait_for_answers(page, 1)
    assert answer.find_element(By.CSS_SELECTOR, ".language").text == "Italian"
    assert answer.find_element(By.CSS_SELECTOR, ".probability").text.endswith("%")
    bar = answer.find_element(By.CSS_SELECTOR, ".bar")
    assert bar.get_attribute("role") == "meter" and float(bar.get_attribute("aria-valuenow")) > 90
    fill = answer.find_element(By.CSS_SELECTOR, ".bar .fill")
    assert fill.size["width"] > 0.9 * bar.size["width"]
    assert "Set at 90%: Italian" in answer.text
    assert by_id(page, "summary").text == "1 name: 1 answered, by model de-it."


def test_three_pasted_names_give_three_answers_in_order(page):
    from selenium.webdriver.common.by import By

    paste(page, "Tribbiani\nSchwarzenegger\n\n  Rossi  \n")
    by_id(page, "classify").click()
    answers = wait_for_answers(page, 3)
    names = [a.find_element(By.CSS_SELECTOR, ".name").get_attribute("aria-label") for a in answers]
    assert names == ["Tribbiani", "Schwarzenegger", "Rossi"]
    assert [a.find_element(By.CSS_SELECTOR, ".language").text for a in answers] == ["Italian", "German", "Italian"]


def test_each_character_is_coloured_by_its_contribution(page):
    from selenium.webdriver.common.by import By

    classify_with_keys(page, "Schwarzenegger")
    (answer,) = wait_for_answers(page, 1)
    characters = answer.find_elements(By.CSS_SELECTOR, ".name .char")
    assert "".join(c.text for c in characters) == "Schwarzenegger"
    kinds = {c.get_attribute("class").split()[1] for c in characters}
    assert kinds <= {"c-strong-pos", "c-pos", "c-neutral", "c-neg", "c-strong-neg"}
    assert "c-strong-pos" in kinds  # the largest contribution is always strongly for the answer
    strong = answer.find_element(By.CSS_SELECTOR, ".c-strong-pos")
    neutral_colour = page.execute_script("return getComputedStyle(document.body).color")
    assert strong.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert strong.value_of_css_property("color") != neutral_colour
    assert all("nats" in c.get_attribute("title") for c in characters)
    assert "Most telling:" in answer.text


def test_an_empty_box_says_what_to_do(page):
    classify_with_keys(page, "   ")
    message = by_id(page, "message")
    assert message.is_displayed()
    assert message.text == "Type a name first, or paste a list with one name a line."
    assert message.get_attribute("role") == "alert"
    assert results(page) == []


def test_an_over_long_name_says_so_and_the_others_are_answered(page):
    from selenium.webdriver.common.by import By

    paste(page, "Rossi\n" + "x" * 300 + "\n" + "y" * 5000)
    by_id(page, "classify").click()
    first, long, longer = wait_for_answers(page, 3)
    assert first.find_element(By.CSS_SELECTOR, ".language").text == "Italian"
    assert "This name is 300 characters long; a name can be at most 256." in long.text
    assert "5,000 characters long" in longer.find_element(By.CSS_SELECTOR, ".problem").text
    assert "failed" in long.get_attribute("class")
    assert by_id(page, "summary").text == "3 names: 1 answered, 2 with no answer, by model de-it."


def test_unsure_below_the_chosen_confidence_and_the_chosen_coverage(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for field, value in (("confidence", "0.995"), ("coverage", "0.99")):
        box = by_id(page, field)
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(value)
    classify_with_keys(page, "Rossi")  # de-it: 98.8% Italian
    (answer,) = wait_for_answers(page, 1)
    assert answer.find_element(By.CSS_SELECTOR, ".badge").text == "unsure"
    assert answer.find_element(By.CSS_SELECTOR, ".language").text == "maybe Italian"
    assert "Unsure: below 99.5%" in answer.text
    assert "Set at 99%:" in answer.text
    assert by_id(page, "summary").text == "1 name: 0 answered, 1 unsure, by model de-it."

    by_id(page, "coverage").send_keys(Keys.CONTROL, "a")
    by_id(page, "coverage").send_keys("2")
    classify_with_keys(page)
    assert by_id(page, "message").text == "The coverage must be between 0.5 and 0.99."


def test_an_unfamiliar_name_is_flagged_where_a_person_cannot_miss_it(page, server):
    """de-it answers Nguyen "German" with a high probability; the CLI flags it as unfamiliar, and so
    does the page: a badge beside the answer, a hatched bar, the p-value in words and on hover."""
    import json
    import urllib.request

    from selenium.webdriver.common.by import By

    with urllib.request.urlopen(server.url("/v1/predict?name=Nguyen&model=de-it")) as response:
        (expected,) = json.load(response)["results"]
    assert expected["unfamiliar"] is True  # what `nameclf predict Nguyen --model de-it --json` says
    paste(page, "Nguyen\nRossi")
    by_id(page, "classify").click()
    nguyen, rossi = wait_for_answers(page, 2)
    assert "unfamiliar" in nguyen.get_attribute("class").split()
    badge = nguyen.find_element(By.CSS_SELECTOR, ".badge-unfamiliar")
    assert badge.is_displayed() and badge.text == "unfamiliar"
    p_value = f"novelty p = {expected['novelty_p']:.2g}"
    assert p_value in badge.get_attribute("title")
    assert "Unfamiliar: this name is unlike the names the model learnt from" in nguyen.text
    assert p_value in nguyen.text
    fill = nguyen.find_element(By.CSS_SELECTOR, ".bar .fill")
    assert "gradient" in fill.value_of_css_property("background-image")  # not the plain bar of a sure answer
    assert "unfamiliar" not in rossi.get_attribute("class").split()
    assert rossi.find_elements(By.CSS_SELECTOR, ".badge-unfamiliar") == []
    assert by_id(page, "summary").text == "2 names: 2 answered, 1 unfamiliar, by model de-it."


def test_a_name_of_unknown_characters_says_no_answer_once(page):
    from selenium.webdriver.common.by import By

    classify_with_keys(page, "ЖЖЖЖ")
    (answer,) = wait_for_answers(page, 1)
    problem = answer.find_element(By.CSS_SELECTOR, ".problem").text
    assert problem == "No answer: 4 of 4 characters are unknown to this model."
    assert problem.lower().count("no answer") == 1


def test_the_model_is_chosen_with_the_keyboard(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    by_id(page, "names").send_keys("Nguyen")
    by_id(page, "names").send_keys(Keys.TAB)  # the model list is next
    assert page.switch_to.active_element.get_attribute("id") == "model"
    page.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert by_id(page, "model").get_attribute("value") == "all"
    assert by_id(page, "model-hint").text.startswith("18 languages; validation accuracy")
    for _ in range(3):  # coverage, unsure-below, then the button
        page.switch_to.active_element.send_keys(Keys.TAB)
    assert page.switch_to.active_element.get_attribute("id") == "classify"
    page.switch_to.active_element.send_keys(Keys.ENTER)
    (answer,) = wait_for_answers(page, 1)
    assert answer.find_element(By.CSS_SELECTOR, ".language").text == "Vietnamese"
    assert by_id(page, "summary").text.endswith("by model all.")


def test_every_input_is_labelled(page):
    unlabelled = page.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => !e.labels || !e.labels.length || !e.labels[0].textContent.trim()).map(e => e.id)"
    )
    assert unlabelled == []
    assert page.execute_script("return document.documentElement.lang") == "en"


def test_reads_on_a_phone_width_screen(page, server):
    page.set_window_size(360, 800)
    page.get(server.url("/"))
    classify_with_keys(page, "Tribbiani\nMüller-Lüdenscheidt\nWolfeschlegelsteinhausenbergerdorff")
    wait_for_answers(page, 3)
    width = page.execute_script("return document.documentElement.clientWidth")
    scrolled = page.execute_script("return document.documentElement.scrollWidth")
    assert scrolled <= width, f"the page is {scrolled} px wide on a {width} px screen"
    assert by_id(page, "classify").size["width"] > 0.8 * width  # a full-width button for a thumb
    font = page.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 16


@pytest.mark.slow
def test_the_page_and_the_docs_fetch_nothing_from_elsewhere(page, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    classify_with_keys(page, "Tribbiani")
    wait_for_answers(page, 1)
    titles = {"/docs": ".swagger-ui .info .title", "/redoc": ".api-info h1"}
    for path in ("/", "/docs", "/redoc"):
        with urllib.request.urlopen(server.url(path)) as response:  # each page says what it may load
            assert "default-src 'none'" in response.headers["content-security-policy"]
        page.get(server.url(path))
        if path in titles:  # rendered under that policy: its scripts and styles ran
            title = titles[path]
            WebDriverWait(page, WAIT).until(
                lambda d, title=title: any("nameclf" in e.text for e in d.find_elements(By.CSS_SELECTOR, title))
            )
        fetched = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        elsewhere = [url for url in fetched if not url.startswith(server.base)]
        assert elsewhere == []
        if path == "/redoc":  # ReDoc's footer logo, which it would take from a CDN, is not loaded
            logos = page.execute_script("return [...document.images].map(i => i.src)")
            assert all(src.startswith(server.base) or src.startswith("data:") for src in logos)


def screenshot(path: Path) -> None:
    """The picture on docs/serving.md: the 18-language model answering a pasted list, with a prediction set of two
    (Costa) and a name unlike its training names unsure and flagged unfamiliar (Yilmaz)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as folder, Served(["--model", "de-it", "--model", "all"], Path(folder)) as run:
        driver = browser(900, 1900)
        try:
            driver.get(run.url("/"))
            WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
            Select(by_id(driver, "model")).select_by_value("all")
            paste(driver, "Tribbiani\nNguyen\nSchwarzenegger\nCosta\nYilmaz")
            by_id(driver, "classify").click()
            wait_for_answers(driver, 5)
            driver.save_screenshot(str(path))
        finally:
            driver.quit()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/serve-page.png"))
