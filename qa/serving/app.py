"""The Gradio UI (chat with cited passages, document management) and `qa serve`.

No retrieval logic here: every question goes to `QAService.ask`, every corpus change to the
service. Gradio, FastAPI and uvicorn are imported inside functions so `import qa.serving.app` is cheap.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from qa.documents import SUFFIXES
from qa.errors import BadInputError, QAError
from qa.serving import render as ui

STATIC = Path(__file__).parent / "static"
TITLE = "文档问答 · Document Q&A"
# "Try" buttons: the corpus's own example questions (examples.txt beside its documents, kept in the
# index: docs/synonyms.md), at most this many; none without the file. Never questions from code.
MAX_EXAMPLES = 4
# Asked once at start so the first user question is answered at full speed (the model, the
# segmenter, and for English the CC-CEDICT reverse index: qa/indexing/cedict.py).
WARM_UP = ("这些文档讲了什么？", "What are these documents about?")
# Bundled/system fonts only: a web font from elsewhere stalls first paint when offline.
FONTS = (
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
    "ui-sans-serif",
    "system-ui",
    "sans-serif",
)
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Noto Sans Mono CJK SC", "monospace")
SEARCHING = "正在查找… / Searching…"
STREAM_DELAY = 0.04  # seconds between streamed sentences: reads as typing without slowing answers
ADD, REPLACE = "add", "replace"
REBUILD_FAILED = "重建失败，旧索引继续服务 / Rebuild failed, the previous index keeps serving: "
IDLE = "上传文件或粘贴文本，然后“保存并重建索引”；重建期间问答继续使用当前索引。/ Upload or paste, then Save & rebuild; chat keeps answering from the current index meanwhile."


def offline_env() -> None:
    """Turn off everything in Gradio and the HF hub client that would call out to the internet."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_respond(service, delay: float = STREAM_DELAY):
    """Return the chat handler: (question, messages, turns) -> streams (textbox, messages, panel, turns)."""
    import gradio as gr

    from qa.answering.compose import caution

    def respond(question, messages, turns):
        question = (question or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        history = ui.history_of(messages)
        asked = [*(messages or []), {"role": "user", "content": ui.md_escape(question)}]

        def reply(content):  # a new list each time: Gradio diffs what it sent against what comes next
            return [*asked, {"role": "assistant", "content": content}]

        yield "", reply(SEARCHING), gr.skip(), gr.skip()
        try:
            answer = service.ask(question, history)
        except QAError as err:
            yield "", reply(ui.md_escape(f"出错了 / Error: {err}")), gr.skip(), gr.skip()
            return
        data = answer.to_json()
        # One recorded turn per answer shown: a cleared chat (or an API client sending a shorter
        # conversation) drops the stale ones, so marker ids and panel sections stay in step.
        shown = sum(1 for m in messages or () if ui.role_of(m) == "assistant")
        turns = [*(turns or [])[:shown], data]
        panel = ui.panel_html(turns)
        known = {int(c["n"]) for c in data["citations"]} if answer.found else set()
        note = ui.caution_markdown(caution(question)) if answer.unsure else ""
        pieces, text = ui.stream_pieces(answer.answer) or [""], ""
        for i, piece in enumerate(pieces):
            text += piece
            last = i == len(pieces) - 1
            # The panel goes out with the first piece (the markers need it) and again, unchanged, with
            # the last, which is what API clients get; in between, redrawing would reset its scroll.
            content = note + ui.answer_markdown(text, len(turns), known)
            yield "", reply(content), panel if i == 0 or last else gr.skip(), turns
            if not last:
                time.sleep(delay)

    return respond


class DocsHandlers:
    """The Documents tab's actions; each returns (status, table, health, remove-choices, ...).

    Every action checks the admin token first (when QA_TOKEN is set) and reads uploads only
    from `upload_root` (Gradio's upload folder): a client can name any path in a file reference."""

    HEADERS = [
        "文件 / File",
        "标题 / Title",
        "类型 / Type",
        "页数 / Pages",
        "段落 / Paras",
        "片段 / Chunks",
        "索引时间 / Indexed",
    ]

    def __init__(self, service, upload_root: Path | None = None):
        self.service = service
        self._upload_root = upload_root

    @property
    def upload_root(self) -> Path:
        if self._upload_root is None:
            from qa.serving.security import upload_root

            self._upload_root = upload_root()
        return self._upload_root

    def _denied(self, token, authorization, with_inputs: bool):
        """A refusal to return when the token is wrong, else None."""
        from qa.serving.security import TOKEN_NEEDED, token_ok

        if token_ok(self.service.settings.token, token, authorization):
            return None
        status = ui.status_html(TOKEN_NEEDED, ok=False)
        return (status, *self._skip3(), *self._skip3()) if with_inputs else (status, *self._skip3())

    def table(self) -> list[list]:
        """Return the Documents table rows for the serving index, then a row per file its build did not index."""
        rows = [
            [
                d.get("name", ""),
                d.get("title", ""),
                ui.kind_label(d.get("kind")),
                d.get("pages") or "—",
                d.get("paragraphs", 0),
                d.get("passages", 0),
                ui.local_time(d.get("indexed_at")),
            ]
            for d in self.service.documents()
        ]
        for s in self._skipped():
            rows.append([Path(s["path"]).name, f"未索引 / not indexed: {s['reason']}", "—", "—", 0, 0, ""])
        return rows

    def _skipped(self) -> list[dict]:
        """Files the serving index's build did not index (none when there is no index)."""
        try:
            return self.service.skipped()
        except QAError:
            return []

    def refresh(self):
        """Return (table, health line, remove dropdown) for the current index."""
        import gradio as gr

        try:
            rows = self.table()
        except QAError:
            rows = []
        names = [r[0] for r in rows]
        return rows, ui.header_html(self.service.health()), gr.update(choices=names, value=None)

    def _rebuild(self, progress) -> str:
        """Rebuild the index with progress; return a status line. Chat keeps using the old index meanwhile."""
        start = time.monotonic()
        self.service.rebuild(progress=lambda f, msg="": progress(float(f), desc=str(msg or "")))
        h = self.service.health()
        skipped = self._skipped()
        note = ""
        if skipped:
            listed = "；".join(f"{Path(s['path']).name}：{s['reason']}" for s in skipped[:5])
            more = f" 等 {len(skipped)} 个" if len(skipped) > 5 else ""
            note = f" 未索引 / Not indexed{more}：{listed}"
        return (
            f"索引已重建：{h.get('documents', 0)} 个文档，{h.get('passages', 0)} 个片段，"
            f"用时 {time.monotonic() - start:.1f} 秒。/ Index rebuilt.{note}"
        )

    def add(self, files, title, text, mode, progress, token="", authorization=None):
        """Store uploaded files and pasted text, then rebuild; on any failure the corpus is left as it was."""
        import gradio as gr

        from qa.serving.security import uploaded_file

        denied = self._denied(token, authorization, with_inputs=True)
        if denied:
            return denied
        keep = (gr.skip(), gr.skip(), gr.skip())  # the inputs stay as they were, so nothing typed is lost
        files, title, text = files or [], (title or "").strip(), text or ""
        if not files and not text.strip():
            msg = (
                "粘贴的文本是空的 / the pasted text is empty"
                if title
                else "请先上传文件或粘贴文本 / nothing to add: upload a file or paste text"
            )
            return (ui.status_html(msg, ok=False), *keep, *self._skip3())
        journal: list = []
        saved = []
        try:  # everything is checked before anything in data_dir changes
            uploads = [(Path(str(path)).name, uploaded_file(path, self.upload_root).read_bytes()) for path in files]
            for name, data in uploads:
                self.service.check_upload(name, data)
            if text.strip():
                self.service.check_upload(_pasted_name(title), text.encode("utf-8"))
            moved = self.service.clear_documents() if mode == REPLACE else []
        except (QAError, OSError) as err:
            return (ui.status_html(f"未添加任何内容 / Nothing was added: {err}", ok=False), *keep, *self._skip3())
        try:
            for name, data in uploads:
                saved.append(self.service.save_upload(name, data, journal))
            if text.strip():
                saved.append(self.service.save_text(title, text, journal))
        except (QAError, OSError) as err:
            self._undo(journal, moved)
            return (ui.status_html(f"未添加任何内容 / Nothing was added: {err}", ok=False), *keep, *self._skip3())
        try:
            msg = self._rebuild(progress)
        except Exception as err:  # noqa: BLE001 - whatever failed, the corpus goes back as it was
            self._undo(journal, moved)
            return (ui.status_html(f"{REBUILD_FAILED}{_message(err)}", ok=False), *keep, *self.refresh())
        kept = [b for _, b in journal if b] + list(moved)
        if kept:  # overwritten or replaced documents are set aside, not deleted
            msg += f" 原有文档已备份到 / Previous versions kept in: {kept[0].parent}"
        return (ui.status_html(f"已添加 / Added: {'、'.join(saved)}。{msg}", ok=True), None, "", "", *self.refresh())

    def _undo(self, journal, moved) -> None:
        """Put back what this attempt overwrote, delete what it added, restore what a replace moved aside."""
        self.service.undo(journal)
        self.service.restore_documents(moved)

    def rebuild(self, progress, token="", authorization=None):
        """Rebuild from data_dir as it is (e.g. after files were added there by hand)."""
        denied = self._denied(token, authorization, with_inputs=False)
        if denied:
            return denied
        try:
            return ui.status_html(self._rebuild(progress), ok=True), *self.refresh()
        except Exception as err:  # noqa: BLE001 - the old index keeps serving; say why
            return ui.status_html(f"{REBUILD_FAILED}{_message(err)}", ok=False), *self.refresh()

    def remove(self, name, progress, token="", authorization=None):
        """Move a document out of data_dir (into a backup) and rebuild without it."""
        denied = self._denied(token, authorization, with_inputs=False)
        if denied:
            return denied
        if not name:
            return ui.status_html("请先选择要删除的文档 / choose a document to remove first", ok=False), *self._skip3()
        try:
            backup = self.service.remove_document(name)
        except QAError as err:
            return ui.status_html(f"删除失败 / Could not remove {name}: {err}", ok=False), *self.refresh()
        try:
            msg = self._rebuild(progress)
        except Exception as err:  # noqa: BLE001
            return ui.status_html(f"已删除文件 {name}，但{REBUILD_FAILED}{_message(err)}", ok=False), *self.refresh()
        done = f"已删除 / Removed: {name}（备份 / kept in {backup.parent}）。{msg}"
        return ui.status_html(done, ok=True), *self.refresh()

    @staticmethod
    def _skip3():
        import gradio as gr

        return gr.skip(), gr.skip(), gr.skip()


def _pasted_name(title: str) -> str:
    title = title or "pasted"
    return title if Path(title).suffix.lower() in (".txt", ".md") else f"{title}.txt"


def _message(err: Exception) -> str:
    """A domain error's own message; anything else is logged and named without internals."""
    if isinstance(err, QAError):
        return str(err)
    import logging

    logging.getLogger("qa").exception("rebuild failed")
    return f"内部错误 / internal error ({type(err).__name__}); see the server log"


def build_blocks(service):
    """Build the Gradio Blocks: a Chat tab and a Documents tab, wired to `service`."""
    offline_env()
    import gradio as gr

    respond = make_respond(service)
    docs = DocsHandlers(service)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        health = gr.HTML(ui.header_html(None), elem_id="app-head")
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("问答 / Chat", id="chat"):
                with gr.Row(equal_height=False, elem_id="chat-row"):
                    with gr.Column(scale=3, min_width=300):
                        chatbot = gr.Chatbot(
                            label="对话 / Chat",
                            elem_id="chat",
                            height="var(--qa-chat-h)",
                            latex_delimiters=[],
                            feedback_options=None,
                            buttons=["copy"],
                            show_label=False,
                            placeholder="向文档提问，回答里的 [n] 指向右侧的原文段落。<br>Ask the documents; each [n] points to its passage.",
                        )
                        with gr.Row(elem_id="ask-row"):
                            question = gr.Textbox(
                                placeholder="输入问题，按回车发送 / Ask a question, press Enter",
                                show_label=False,
                                scale=8,
                                container=False,
                                elem_id="question",
                                max_lines=4,
                            )
                            send = gr.Button("提问 / Ask", variant="primary", scale=1, min_width=96, elem_id="send")
                        with gr.Row(elem_id="examples"):
                            shown = examples_of(service)
                            try_label = gr.HTML(
                                '<span class="examples-label">试试 / Try:</span>',
                                elem_classes="examples-label-wrap",
                                visible=bool(shown),
                            )
                            example_buttons = [
                                gr.Button(
                                    shown[i] if i < len(shown) else "",
                                    size="sm",
                                    variant="secondary",
                                    elem_classes="example",
                                    visible=i < len(shown),
                                )
                                for i in range(MAX_EXAMPLES)
                            ]
                            new_chat = gr.Button("新对话 / New conversation", size="sm", elem_id="new-chat")
                    with gr.Column(scale=2, min_width=280):
                        panel = gr.HTML(ui.panel_html([]), elem_id="cites", padding=False)
            with gr.Tab("文档 / Documents", id="docs"):
                # Progress and results of every corpus action show here, above both columns.
                status = gr.HTML(ui.status_html(IDLE, ok=None), elem_id="doc-status", min_height=52)
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        table = gr.Dataframe(
                            headers=DocsHandlers.HEADERS,
                            interactive=False,
                            wrap=True,
                            max_height=320,
                            column_widths=["22%", "28%", "9%", "8%", "8%", "8%", "17%"],
                            label="已索引的文档 / Indexed documents",
                            elem_id="doc-table",
                        )
                        with gr.Row(equal_height=True):
                            to_remove = gr.Dropdown(
                                label="删除文档 / Remove a document",
                                choices=[],
                                scale=3,
                                elem_id="remove-doc",
                                allow_custom_value=True,  # API clients name the document; the service checks it
                                info="删除后自动重建索引 / the index is rebuilt afterwards",
                            )
                            remove = gr.Button(
                                "删除 / Remove", variant="stop", scale=1, min_width=100, elem_id="remove"
                            )
                        rebuild = gr.Button("重建索引 / Rebuild index", elem_id="rebuild")
                    with gr.Column(scale=2, min_width=300):
                        files = gr.File(
                            label=f"上传文件 / Upload files ({' '.join(SUFFIXES)})",
                            file_types=list(SUFFIXES),
                            file_count="multiple",
                            height=120,
                            elem_id="upload",
                        )
                        title = gr.Textbox(label="或粘贴文本：标题 / Or paste text: title", elem_id="paste-title")
                        text = gr.Textbox(label="正文 / Text", lines=4, max_lines=12, elem_id="paste-text")
                        mode = gr.Radio(
                            [("添加到语料库 / Add to corpus", ADD), ("替换整个语料库 / Replace corpus", REPLACE)],
                            value=ADD,
                            show_label=False,
                            elem_id="mode",
                        )
                        admin = gr.Textbox(
                            label="管理口令 / Admin token",
                            type="password",
                            visible=bool(service.settings.token),
                            elem_id="admin-token",
                            info="添加、删除和重建需要口令 / needed to add, remove or rebuild",
                        )
                        add = gr.Button("保存并重建索引 / Save & rebuild", variant="primary", elem_id="add")

        chat_io = dict(outputs=[question, chatbot, panel, turns], show_progress="hidden", concurrency_id="chat")
        question.submit(respond, [question, chatbot, turns], api_name="chat", **chat_io)
        send.click(respond, [question, chatbot, turns], api_visibility="private", **chat_io)
        for b in example_buttons:
            b.click(respond, [b, chatbot, turns], api_visibility="private", **chat_io)
        new_chat.click(
            lambda: ("", [], ui.panel_html([]), []),
            None,
            [question, chatbot, panel, turns],
            api_visibility="private",
            show_progress="hidden",
        )

        listing = [table, health, to_remove]
        corpus = dict(concurrency_id="corpus", concurrency_limit=1, show_progress_on=[status])

        def add_documents(files, title, text, mode, token, request: gr.Request, progress=gr.Progress()):
            return docs.add(files, title, text, mode, progress, token, _authorization(request))

        def rebuild_index(token, request: gr.Request, progress=gr.Progress()):
            return docs.rebuild(progress, token, _authorization(request))

        def remove_document(name, token, request: gr.Request, progress=gr.Progress()):
            return docs.remove(name, progress, token, _authorization(request))

        for fn in (add_documents, rebuild_index, remove_document):
            # This module uses postponed annotations, and `gr` is local: give Gradio the class itself,
            # or it will not recognize the parameter that receives the request.
            fn.__annotations__["request"] = gr.Request
        added = add.click(
            add_documents,
            [files, title, text, mode, admin],
            [status, files, title, text, *listing],
            api_name="add_documents",
            **corpus,
        )
        rebuilt = rebuild.click(rebuild_index, [admin], [status, *listing], api_name="rebuild", **corpus)
        removed = remove.click(
            remove_document, [to_remove, admin], [status, *listing], api_name="remove_document", **corpus
        )
        # The examples belong to the corpus being served: shown again after every corpus change.
        examples_io = dict(api_visibility="private", show_progress="hidden")
        for done in (added, rebuilt, removed):
            done.then(lambda: example_updates(service), None, [try_label, *example_buttons], **examples_io)
        chatbot.clear(
            lambda: (ui.panel_html([]), []), None, [panel, turns], api_visibility="private", show_progress="hidden"
        )
        demo.load(docs.refresh, None, listing, api_visibility="private", show_progress="hidden")
        demo.load(lambda: example_updates(service), None, [try_label, *example_buttons], **examples_io)
    return demo


def examples_of(service) -> list[str]:
    """The serving corpus's example questions for the "Try" buttons ([] without an index or examples.txt)."""
    try:
        return service.examples()[:MAX_EXAMPLES]
    except QAError:
        return []


def example_updates(service) -> list:
    """Updates for the "Try" label and buttons: the corpus's examples, the unused buttons hidden."""
    import gradio as gr

    shown = examples_of(service)
    buttons = [gr.update(value=q, visible=True) for q in shown]
    buttons += [gr.update(value="", visible=False)] * (MAX_EXAMPLES - len(shown))
    return [gr.update(visible=bool(shown)), *buttons]


def _authorization(request) -> str | None:
    """The Authorization header of the request behind a Gradio event, if any."""
    try:
        return request.headers.get("authorization")
    except AttributeError:
        return None


def theme():
    """Return a theme with system CJK fonts and no font downloads."""
    import gradio as gr

    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=list(FONTS), font_mono=list(MONO))


def create_app(service):
    """Return a FastAPI app: /api/ask and /healthz, and the Gradio UI mounted at "/"."""
    offline_env()
    from fastapi import FastAPI

    from qa.serving.gradio_loader import import_gradio

    gr = import_gradio()

    from qa.serving.api import add_routes

    app = FastAPI(title=TITLE, docs_url=None, redoc_url=None, openapi_url=None)
    add_routes(app, service)  # before the mount at "/", which would otherwise catch these paths
    blocks = build_blocks(service)
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        ssr_mode=False,
        theme=theme(),
        footer_links=["api"],
        # Gradio refuses bigger uploads before they reach the disk; the service checks the same limit.
        max_file_size=service.settings.max_file_bytes,
        css=(STATIC / "app.css").read_text(encoding="utf-8"),
        js=(STATIC / "app.js").read_text(encoding="utf-8"),
    )
    # Gradio checks that a file reference a client sends names a file uploaded to this server only
    # once the Blocks "has launched", which launch() sets and mount_gradio_app does not: without
    # this, a client could name any path on the server and the upload handler would read it.
    # DocsHandlers checks the path again; tests/test_security.py sends such a reference.
    blocks.has_launched = True
    return mounted


def _check_port(host: str, port: int) -> None:
    """Fail early with a clear message when the port is taken (uvicorn's own error is a stack of logs)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            raise BadInputError(
                f"cannot listen on {host}:{port} ({err.strerror}); pass another --port or stop the other server"
            ) from None


def _console_progress():
    """Return a progress(fraction, message) callback that draws one updating line on stderr."""

    def progress(fraction: float, message: str = "") -> None:
        bar = "█" * int(24 * max(0.0, min(1.0, fraction)))
        sys.stderr.write(f"\r[{bar:<24}] {fraction:4.0%} {message[:60]:<60}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


def serve(settings, insecure: bool = False) -> None:
    """Ensure the index (building it from data_dir if missing), load the model once, and serve the app."""
    offline_env()
    import uvicorn

    from qa.serving.security import check_exposure
    from qa.serving.service import QAService

    check_exposure(settings.host, settings.token, insecure)
    _check_port(settings.host, settings.port)
    start = time.monotonic()
    service = QAService(settings)
    try:
        service.ensure_index(progress=_console_progress())
        for question in WARM_UP:
            service.ask(question)
    except QAError as err:
        # Serve anyway: the page shows the problem, and its Documents tab can add files and rebuild.
        print(
            f"警告 / Warning: {err}\n界面照常启动，可在“文档 / Documents”页修复。/ "
            "Serving anyway; fix it from the Documents tab.",
            file=sys.stderr,
            flush=True,
        )
    app = create_app(service)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"就绪 / Ready in {time.monotonic() - start:.1f}s: http://{host}:{settings.port}", flush=True)
    # Open browser tabs hold event streams; don't let them keep Ctrl+C waiting.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=2)
