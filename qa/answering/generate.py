"""Optional generation: rewrite an extractive answer into fluent prose through an OpenAI-compatible chat endpoint.

Only the cited sentences go to the endpoint, so the model cannot draw on anything the
citations do not show, and its [n] markers still point at the same citations. The extractive
answer stays the fallback: any failure, or a reply that cites nothing valid, returns it unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import urllib.request

from qa.config import Settings
from qa.types import Answer

log = logging.getLogger("qa.answering.generate")

SYSTEM_PROMPT = (
    "你是文档问答助手。只能根据用户给出的编号句子回答问题，不得使用句子以外的任何知识，不得推测或补充。"
    "每句话后面保留它所依据的句子编号，例如“……[1]”；只能使用给出的编号。"
    "如果这些句子不能回答问题，就直接说明文档中没有答案。"
    "用提问所用的语言回答：中文问题用中文，英文问题用英文。回答简洁，不要复述问题。\n"
    "You answer only from the numbered sentences given; keep each [n] marker after the sentence it "
    "supports; say so if the sentences do not answer the question; answer in the question's language."
)

# A marker as models write it: [1], [1,2], [1][2], or with full-width brackets (［1］, 【1】),
# which Chinese-tuned models often use. Leading spaces go with a removed marker.
_MARKER = re.compile(r"(\s*)[\[［【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]］】]")
# Reasoning models served behind the same API (Qwen3, DeepSeek-R1) may prepend their thinking.
_THINK = re.compile(r"<think>.*?</think>", re.S)


def rewrite(answer: Answer, settings: Settings) -> Answer:
    """Return `answer` rewritten from its cited sentences, or unchanged when that is not possible."""
    if not answer.found or not settings.llm_url:
        return answer  # a declined answer has no support to rewrite, only nearest passages
    sentences = _numbered_sentences(answer)
    if not sentences:
        return answer
    try:
        reply = _complete(_messages(answer, sentences), settings)
    except Exception as e:  # noqa: BLE001 - the contract is "never raise": any failure means fall back
        log.warning("generation failed, using the extractive answer: %s", _one_line(e))
        return answer
    text = clean(reply, {c.n for c in answer.citations})
    if not _MARKER.search(text):
        log.warning("generated answer cites no given sentence, using the extractive answer")
        return answer
    return dataclasses.replace(answer, answer=text, generated=True)


def clean(text: str, valid: set[int]) -> str:
    """Drop markers whose number is not in `valid`, normalizing the rest to [n][m]."""

    def keep(m: re.Match) -> str:
        ns = [int(n) for n in re.split(r"\s*[,，、]\s*", m.group(2))]
        kept = "".join(f"[{n}]" for n in dict.fromkeys(ns) if n in valid)
        return m.group(1) + kept if kept else ""

    return _MARKER.sub(keep, _THINK.sub("", text)).strip()


def endpoint(url: str) -> str:
    """The chat completions URL for a configured base URL (e.g. http://localhost:8080/v1)."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


def _numbered_sentences(answer: Answer) -> list[tuple[int, str]]:
    # The highlights are the sentences the extractive answer rests on; whole paragraphs would
    # invite the model to answer from text the citation does not highlight.
    return [(c.n, h.strip()) for c in answer.citations for h in c.highlights if h.strip()]


def _messages(answer: Answer, sentences: list[tuple[int, str]]) -> list[dict]:
    lines = [f"问题：{answer.question}"]
    if answer.query and answer.query != answer.question:
        # A follow-up ("那今年呢？") means little alone; retrieval's expanded query carries its context.
        lines.append(f"（这是追问，结合上文的意思：{answer.query}）")
    lines.append("\n句子：")
    lines += [f"[{n}] {s}" for n, s in sentences]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def _complete(messages: list[dict], settings: Settings) -> str:
    body = {"model": settings.llm_model, "messages": messages, "temperature": 0}
    headers = {"Content-Type": "application/json"}
    if settings.llm_api_key:
        headers["Authorization"] = f"Bearer {settings.llm_api_key}"
    request = urllib.request.Request(
        endpoint(settings.llm_url),
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers=headers,
        method="POST",
    )
    # urlopen raises HTTPError for 4xx/5xx; other non-200 replies (204, 3xx not followed) are checked here.
    with urllib.request.urlopen(request, timeout=settings.llm_timeout) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from {endpoint(settings.llm_url)}")
        data = json.loads(response.read().decode("utf-8"))
    content = data["choices"][0]["message"]["content"]
    if not isinstance(content, str):
        raise ValueError(f"reply content is {type(content).__name__}, not text")
    return content


def _one_line(e: Exception) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())
