"""The JSON API beside the UI: POST /api/ask (same object as `qa ask --json`) and GET /healthz.

Status codes: 400 for a request the client must fix (with a message saying how), 413 for a body
over MAX_BODY bytes, 503 when the server cannot answer right now (no index, a damaged one, the
model unavailable, a build holding the index); 500 only for a bug, without internals.
"""

import json
import logging

from qa.errors import BadInputError, QAError

MAX_BODY = 256 * 1024  # a question, its history and some slack; the question limit is far lower
log = logging.getLogger("qa.api")


def parse_body(raw: bytes):
    """Decode a JSON body; ValueError with a message for anything that is not plain JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("请求体不是 UTF-8 / body is not valid UTF-8 JSON") from None
    except RecursionError:
        raise ValueError("请求体嵌套太深 / body is nested too deeply; send a flat JSON object") from None
    except ValueError:
        raise ValueError("请求体不是 JSON / body is not valid JSON") from None


def parse_ask(payload, max_history: int = 20) -> tuple[str, list[str]]:
    """Validate an /api/ask body's shape; raise ValueError with a message a client can act on.

    The question's content (empty after removing invisible characters, too long, not valid
    Unicode) is checked by the service, which every entry point shares."""
    if not isinstance(payload, dict):
        raise ValueError('请求体必须是 JSON 对象 / body must be a JSON object: {"question": "...", "history": []}')
    question = payload.get("question")
    if not isinstance(question, str):
        raise ValueError('缺少 question 字段 / "question" must be a string')
    history = payload.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise ValueError('history 必须是字符串列表 / "history" must be a list of earlier questions (strings)')
    if len(history) > max_history:
        raise ValueError(
            f"history 太长 / history has {len(history)} questions, over the {max_history} limit; "
            "send only the most recent ones"
        )
    return question, history


def error_status(err: QAError) -> int:
    """400 when the client can fix it; 503 when the server's state is the problem."""
    return 400 if isinstance(err, BadInputError) else 503


def add_routes(app, service) -> None:
    """Register /api/ask and /healthz on a FastAPI app (before Gradio is mounted at "/")."""
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    def error(message: str, status: int) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.post("/api/ask")
    async def api_ask(request: Request):
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                return error(f"请求体太大 / body is over {MAX_BODY} bytes; send a shorter question and history", 413)
        try:
            question, history = parse_ask(parse_body(raw), service.settings.max_history)
        except ValueError as err:
            return error(str(err), 400)
        try:
            answer = await run_in_threadpool(service.ask, question, history)
        except QAError as err:
            return error(str(err), error_status(err))
        except Exception:  # noqa: BLE001 - a bug: log it, tell the client without internals
            log.exception("/api/ask failed")
            return error("内部错误 / internal error; the server log has the details", 500)
        return JSONResponse(answer.to_json())

    @app.get("/healthz")
    async def healthz():
        health = await run_in_threadpool(service.health)
        return JSONResponse(health, status_code=200 if health.get("ok") else 503)
