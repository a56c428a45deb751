"""The JSON API beside the UI: POST /api/ask (same object as `qa ask --json`) and GET /healthz."""

from qa.errors import QAError


def parse_ask(payload) -> tuple[str, list[str]]:
    """Validate an /api/ask body; raise ValueError with a message a client can act on."""
    if not isinstance(payload, dict):
        raise ValueError('请求体必须是 JSON 对象 / body must be a JSON object: {"question": "...", "history": []}')
    question = payload.get("question")
    if not isinstance(question, str):
        raise ValueError('缺少 question 字段 / "question" must be a string')
    if not question.strip():
        raise ValueError("问题不能为空 / question is empty: ask something")
    history = payload.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise ValueError('history 必须是字符串列表 / "history" must be a list of earlier questions (strings)')
    return question, history


def add_routes(app, service) -> None:
    """Register /api/ask and /healthz on a FastAPI app (before Gradio is mounted at "/")."""
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    @app.post("/api/ask")
    async def api_ask(request: Request):
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"error": "请求体不是 JSON / body is not valid JSON"}, status_code=400)
        try:
            question, history = parse_ask(payload)
        except ValueError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        try:
            answer = await run_in_threadpool(service.ask, question, history)
        except QAError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        return JSONResponse(answer.to_json())

    @app.get("/healthz")
    async def healthz():
        health = await run_in_threadpool(service.health)
        return JSONResponse(health, status_code=200 if health.get("ok") else 503)
