"""What users type, made safe before anything else sees it: questions and conversation history.

Every entry point (CLI, UI, JSON API, `qa eval`) goes through `QAService`, which calls these.
Invisible characters (zero-width spaces, bidi marks, BOMs, control characters) are removed
before the emptiness check, so a question of only such characters is empty, not a confident
answer to nothing. Text that is not valid Unicode (a lone surrogate, e.g. "\\ud800" in JSON or an
undecodable byte in a command-line argument) is refused with a message, never passed on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from qa.errors import BadInputError

# Line and paragraph separators and other control characters that separate words become spaces.
_SPACING = re.compile(r"[\t\n\r\v\f\x1c-\x1f\x85\u2028\u2029]")
_SPACES = re.compile(r"\s+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _visible(ch: str) -> bool:
    """False for control (Cc), format (Cf: zero-width, bidi, BOM, soft hyphen) and noncharacters."""
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return False
    cp = ord(ch)
    return not (0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE)


def normalize(text: str) -> str:
    """Remove invisible characters and collapse whitespace; refuse text that is not valid Unicode."""
    if not isinstance(text, str):
        raise BadInputError(f"the question must be text, got {type(text).__name__}")
    bad = _SURROGATE.search(text)
    if bad:
        raise BadInputError(
            f"the question contains an invalid character (U+{ord(bad.group()):04X}, half of a surrogate pair): "
            "it is not valid Unicode text; check the encoding of whatever sent it (问题含有无效字符)"
        )
    text = _SPACING.sub(" ", text)
    if not text.isascii():
        text = "".join(ch for ch in text if _visible(ch))
    else:
        text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    return _SPACES.sub(" ", text).strip()


def clean_question(question: str, max_chars: int) -> str:
    """The question as retrieval should see it, or BadInputError (empty, too long, not valid text)."""
    q = normalize(question)
    if not q:
        raise BadInputError(
            "the question is empty (only spaces or invisible characters); type a question (问题为空，请输入问题)"
        )
    if len(q) > max_chars:
        raise BadInputError(
            f"the question is {len(q)} characters, over the {max_chars} limit; ask something shorter (问题太长，请缩短)"
        )
    return q


def clean_history(history: Sequence[str], max_items: int, max_chars: int) -> list[str]:
    """The latest `max_items` earlier questions, normalized; empty ones dropped, over-long ones cut."""
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise BadInputError("history must be a list of earlier questions (strings)")
    out = []
    for h in list(history)[-max_items:]:
        if not isinstance(h, str):
            raise BadInputError("history must be a list of earlier questions (strings)")
        h = normalize(h)
        if h:
            out.append(h[:max_chars])
    return out
