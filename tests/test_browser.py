"""End to end in headless Debian chromium (Playwright): what a user does, against a live `qa serve`.

Screenshots go to artifacts/screenshots/. Waits are for selectors, never for network idle
(Gradio keeps a connection open).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
REPORT = "000_2a377fbb1db50b86.txt"
NOT_AN_ANSWER = "不是答案 / 仅供参考"
REBUILD_TIMEOUT = 300_000  # ms: re-embedding the corpus on a slow 2-core CI machine

# A made-up fact no model or report knows, and a document that tries to run script when shown.
NEW_DOC = (
    "wetland_note.txt",
    "【星河湾湿地保护简报】\n"
    "星河湾湿地公园在2023年共记录到候鸟217种，其中黑脸琵鹭首次在园区越冬。\n"
    "园区管理处计划于2024年新建三座观鸟屋，并开放夜间生态讲解。\n",
)
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=2">'
XSS_DOC = (
    "xss_probe.txt",
    f"【青石镇古井简介】\n青石镇的古井深十二米{XSS_SCRIPT}，井边石碑{XSS_IMG}记载古井开凿于明代万历年间。\n",
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class UI:
    """One browser page on the app, recording every request it makes."""

    def __init__(self, browser, url, viewport):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_selector("#question textarea")

    def ask(self, question: str, turn: int) -> str:
        """Ask through the text box; return the final answer text once streaming has stopped."""
        self.page.fill("#question textarea", question)
        self.page.press("#question textarea", "Enter")
        self.page.wait_for_selector(f"#cites #turn-{turn}[open]")
        return self.settled_reply(turn)

    def settled_reply(self, turn: int) -> str:
        bots = self.page.locator("#chat .bot-row")
        bots.nth(turn - 1).wait_for()
        last, since = None, time.monotonic()
        deadline = since + 60
        while time.monotonic() < deadline:  # streaming is done when the reply stops changing
            text = bots.nth(turn - 1).inner_text()
            if text != last:
                last, since = text, time.monotonic()
            elif time.monotonic() - since > 0.8 and "Searching" not in text:
                return text
            time.sleep(0.1)
        raise AssertionError(f"the reply kept changing: {last!r}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def assert_all_local(self) -> None:
        hosts = {urlsplit(u).hostname for u in self.requests if not u.startswith(("data:", "blob:"))}
        assert self.requests and hosts <= {"127.0.0.1", "localhost"}, sorted(hosts)

    def close(self):
        self.context.close()


@pytest.fixture
def ui(browser, live_server):
    u = UI(browser, live_server.url, LAPTOP)
    yield u
    u.close()


def in_viewport(ui, selector) -> bool:
    return ui.page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        const clip = document.querySelector('#cites .cites-panel').getBoundingClientRect();
        return r.top >= Math.max(0, clip.top) - 1 && r.top < Math.min(innerHeight, clip.bottom); }""",
        selector,
    )


def test_answer_has_markers_highlighted_passage_and_a_marker_click_shows_its_passage(ui):
    from playwright.sync_api import expect

    ui.shot("laptop-0-start")
    ui.page.fill("#question textarea", "全国完成了多少座尾矿库环境风险排查？")
    boxes = []
    ui.page.press("#question textarea", "Enter")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3:  # while the reply streams, nothing on the page may move or resize
        boxes.append(
            ui.page.evaluate("""() => ['#chat', '#cites', '#question', '#examples'].map(s => {
            const r = document.querySelector(s).getBoundingClientRect(); return [s, r.left, r.top, r.width, r.height]; })""")
        )
        time.sleep(0.03)
    reply = ui.settled_reply(1)
    assert len({str(b) for b in boxes}) == 1, "layout moved while the answer streamed"

    assert "1万余座" in reply
    markers = ui.page.locator("#chat .bot-row").last.locator("a.cite-ref")
    assert markers.count() >= 1 and markers.first.inner_text() == "[1]"
    first = ui.page.locator("#cite-1-1")
    assert first.get_attribute("data-paragraph") == "9" and first.get_attribute("data-doc") == REPORT
    expect(first).to_contain_text("第 9 段")
    mark = first.locator("mark").first
    assert "尾矿库" in mark.inner_text()
    ui.shot("laptop-1-answer")

    # Scroll the sources away, then click [1] in the answer: its passage comes back into view.
    ui.page.evaluate("document.querySelector('#cites .cites-panel').scrollTop = 1e6")
    last_cite = ui.page.locator("#cites #turn-1 article.cite").last
    if last_cite.get_attribute("id") != "cite-1-1":
        ui.page.wait_for_function("() => document.querySelector('#cites .cites-panel').scrollTop > 0")
        assert not in_viewport(ui, "#cite-1-1")
    markers.first.click()
    ui.page.wait_for_function("""() => { const r = document.querySelector('#cite-1-1').getBoundingClientRect();
        const c = document.querySelector('#cites .cites-panel').getBoundingClientRect();
        return r.top >= c.top - 1 && r.top < c.bottom; }""")
    assert in_viewport(ui, "#cite-1-1")
    expect(first).to_have_class(re.compile(r"\bcite-flash\b"))
    assert "#cite" not in ui.page.url  # the marker scrolled the panel; it did not navigate
    ui.shot("laptop-2-marker-clicked")
    ui.assert_all_local()


def test_follow_up_uses_the_conversation_and_earlier_sources_stay_reachable(ui):
    from playwright.sync_api import expect

    ui.ask("2023年生态环境保护的重点任务有哪些？", 1)
    ui.ask("那核安全方面呢？", 2)
    turn2 = ui.page.locator("#turn-2")
    assert "2023" in turn2.get_attribute("data-query")  # retrieval saw the earlier question
    assert turn2.locator('article[data-paragraph="20"]').count() == 1
    expect(ui.page.locator("#turn-1")).not_to_have_attribute("open", "")
    assert ui.page.locator("#chat .user-row").count() == 2
    ui.shot("laptop-3-follow-up")

    # A marker in the first answer opens that answer's collapsed sources and shows the passage.
    ui.page.locator("#chat .bot-row").first.locator("a.cite-ref").first.click()
    expect(ui.page.locator("#turn-1")).to_have_attribute("open", "")
    ui.page.wait_for_function("""() => { const r = document.querySelector('#cite-1-1').getBoundingClientRect();
        const c = document.querySelector('#cites .cites-panel').getBoundingClientRect();
        return r.top >= c.top - 1 && r.top < c.bottom; }""")

    # 新对话 clears the chat and the sources.
    ui.page.click("#new-chat")
    expect(ui.page.locator("#chat .user-row")).to_have_count(0)
    expect(ui.page.locator("#cites .cites-empty")).to_be_visible()
    ui.assert_all_local()


def test_unanswerable_question_says_so_and_marks_nearest_passages(ui):
    from playwright.sync_api import expect

    ui.page.locator("#examples button", has_text="谁作了工作报告").click()  # the example buttons ask directly
    ui.page.wait_for_selector("#cites #turn-1[open]")
    assert ui.page.locator('#turn-1 article[data-paragraph="2"]').count() == 1
    ui.settled_reply(1)
    reply = ui.ask("如何做红烧肉？", 2)
    assert "没有找到" in reply
    assert ui.page.locator("#chat .bot-row").last.locator("a.cite-ref").count() == 0
    expect(ui.page.locator("#turn-2 .cites-banner")).to_contain_text(NOT_AN_ANSWER)
    assert ui.page.locator("#turn-2 article.cite-nearest").count() >= 1
    assert ui.page.locator("#turn-2 mark").count() == 0
    ui.shot("laptop-4-not-found")
    ui.assert_all_local()


# Questions about the report answered with middling confidence (bench/quality.py's details): the
# test asks the one the served model currently answers below the sure level, so a refit of the
# abstention model moves which one, not whether the caution shows.
MIDDLING = (
    "重点排污单位自动监测数据弄虚作假有什么处理？",
    "黄部长的报告讲了多长时间？",
    "2023年要新增多少个城市纳入北方地区清洁取暖支持范围？",
    "关闭搬迁企业地块的土壤污染怎么管控？",
    "哪些人员列席了这次会议？",
    "谁出席会议并讲话？",
)


def test_an_answer_given_with_low_confidence_carries_a_caution(ui, live_server):
    import httpx
    from playwright.sync_api import expect

    replies = [httpx.post(f"{live_server.url}/api/ask", json={"question": q}, timeout=60).json() for q in MIDDLING]
    unsure = [(q, a) for q, a in zip(MIDDLING, replies) if a["found"] and a["unsure"]]
    assert unsure, (
        f"none of MIDDLING is answered below the sure level now: {[(a['found'], a['confidence']) for a in replies]}"
    )
    reply = ui.ask(unsure[0][0], 1)
    assert reply.startswith("把握不大"), reply
    assert ui.page.locator("#chat .bot-row").last.locator("a.cite-ref").count() >= 1  # still a cited answer
    expect(ui.page.locator("#turn-1 .cites-unsure")).to_contain_text("把握不大")
    assert ui.page.locator("#turn-1 mark").count() >= 1
    ui.shot("laptop-5-unsure")
    assert not ui.ask("全国完成了多少座尾矿库环境风险排查？", 2).startswith("把握不大")  # a sure answer: none
    expect(ui.page.locator("#turn-2 .cites-banner")).to_have_count(0)
    ui.assert_all_local()


def open_documents(ui):
    ui.page.get_by_role("tab", name="文档 / Documents").click()
    ui.page.wait_for_selector("#doc-table")


def upload(ui, tmp_path, *docs):
    from playwright.sync_api import expect

    paths = []
    for name, content in docs:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        paths.append(str(path))
    ui.page.set_input_files("#upload input[type=file]", paths)
    for name, _ in docs:  # the upload list shows each name as stem + extension
        expect(ui.page.locator("#upload")).to_contain_text(Path(name).stem)


def test_upload_rebuild_then_new_document_is_cited_and_markup_in_it_stays_text(ui, live_server, tmp_path):
    from playwright.sync_api import expect

    open_documents(ui)
    expect(ui.page.locator("#doc-table")).to_contain_text(REPORT)
    upload(ui, tmp_path, NEW_DOC, XSS_DOC)
    ui.page.click("#add")
    ui.page.wait_for_selector("#doc-status .progress-level", timeout=60_000)  # the rebuild shows progress
    ui.shot("laptop-5-rebuilding")

    # While the rebuild runs, the chat still answers from the old index.
    ui.page.get_by_role("tab", name="问答 / Chat").click()
    if ui.page.locator("#doc-status .status-ok").count() == 0:
        ui.ask("谁主持开幕会？", 1)
        assert ui.page.locator('#turn-1 article[data-paragraph="24"]').count() >= 1
    open_documents(ui)
    ui.page.wait_for_selector("#doc-status .status-ok", timeout=REBUILD_TIMEOUT)
    for name, _ in (NEW_DOC, XSS_DOC):
        expect(ui.page.locator("#doc-table")).to_contain_text(name)
        assert (live_server.data_dir / name).exists()  # kept, so a later `qa build` includes it
    expect(ui.page.locator("#app-head")).to_contain_text("已索引 3 个文档")
    ui.shot("laptop-6-rebuilt")

    ui.page.get_by_role("tab", name="问答 / Chat").click()
    turn = ui.page.locator("#cites details.turn").count() + 1
    reply = ui.ask("星河湾湿地公园2023年记录到多少种候鸟？", turn)
    assert "217" in reply
    cited = ui.page.locator(f'#turn-{turn} article[data-doc="{NEW_DOC[0]}"]')
    assert cited.count() >= 1 and cited.first.get_attribute("data-paragraph") == "2"

    ui.ask("青石镇的古井有多深？", turn + 1)
    passage = ui.page.locator(f'#turn-{turn + 1} article[data-doc="{XSS_DOC[0]}"]').first
    expect(passage).to_contain_text(XSS_SCRIPT)  # shown as the literal text it is
    expect(passage).to_contain_text(XSS_IMG)
    assert passage.locator("script, img").count() == 0
    assert ui.page.locator("#chat img[src='x'], #cites img").count() == 0
    assert ui.page.evaluate("typeof window.__xss") == "undefined"
    ui.shot("laptop-7-new-document-cited")

    # Remove the probe again: the file goes from data/, the rebuilt index no longer lists it.
    open_documents(ui)
    ui.page.click("#remove-doc input")
    ui.page.get_by_role("option", name=XSS_DOC[0]).click()
    ui.page.click("#remove")
    expect(ui.page.locator("#doc-status .status-ok")).to_contain_text(
        "已删除 / Removed: xss_probe.txt", timeout=REBUILD_TIMEOUT
    )
    expect(ui.page.locator("#doc-table")).not_to_contain_text(XSS_DOC[0])
    assert not (live_server.data_dir / XSS_DOC[0]).exists()
    ui.assert_all_local()


def test_bad_upload_is_refused_with_a_message_and_nothing_changes(ui, tmp_path):
    from playwright.sync_api import expect

    open_documents(ui)
    table = ui.page.locator("#doc-table")
    expect(table).to_contain_text(REPORT)
    before = table.inner_text()
    upload(ui, tmp_path, ("photo.txt", bytes(range(256)) * 64))
    ui.page.fill("#paste-title textarea", "草稿")
    ui.page.click("#add")
    error = ui.page.locator("#doc-status .status-error")
    expect(error).to_contain_text("未添加任何内容 / Nothing was added")
    expect(error).to_contain_text("photo.txt")
    assert table.inner_text() == before
    assert ui.page.input_value("#paste-title textarea") == "草稿"  # what was typed stays
    ui.shot("laptop-8-bad-upload")
    ui.assert_all_local()


def test_narrow_screen_stacks_the_sources_below_the_chat(browser, live_server):
    phone = UI(browser, live_server.url, PHONE)
    try:
        phone.shot("phone-0-start")
        phone.ask("2023年核与辐射安全监管的重点任务", 1)
        page = phone.page
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        chat = page.locator("#chat").bounding_box()
        cites = page.locator("#cites").bounding_box()
        assert cites["y"] >= chat["y"] + chat["height"] and cites["width"] > 300
        assert page.locator('#turn-1 article[data-paragraph="20"]').count() == 1
        phone.shot("phone-1-answer")
        page.locator("#chat .bot-row").last.locator("a.cite-ref").first.click()
        # Stacked below the chat, the page scrolls until the passage is wholly on screen (or, if it is
        # taller than the screen, starts in the top half), not just peeking in at the bottom edge.
        page.wait_for_function("""() => { const r = document.querySelector('#cite-1-1').getBoundingClientRect();
            return r.top >= -1 && (r.bottom <= innerHeight || r.top < innerHeight / 2); }""")
        phone.shot("phone-2-marker-clicked")
        phone.assert_all_local()
    finally:
        phone.close()
