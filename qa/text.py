"""Facts about text that every stage shares: one definition each.

Which characters are Chinese, whether a question is English, how a year is written. Modules
import these instead of keeping their own copies, so a fix (say, a wider CJK range) lands once.
"""

from __future__ import annotations

import re

# CJK Unified Ideographs and Extension A: what "a Chinese character" means throughout.
CJK = re.compile(r"[\u3400-\u9fff]")
# A four-digit year 1950-2099, followed by 年 or a word boundary (2023年, "in 2023").
YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?:年|\b)")

# The words of a Chinese question that ask (what, which, who, how many, why, whether ...) and its
# final particles: general question phrasing, on any corpus. A term holding one names nothing to
# look for in a passage.
ASKING = re.compile(
    r"什么|哪|谁|多少|多大|多长|多久|几|怎么|怎样|如何|为什么|为何|何时|是否|是不是|有没有|请问|吗|呢|吧|啊|么"
)


def is_english(text: str) -> bool:
    """No Chinese character and at least one Latin letter: the question is asked in English."""
    return not CJK.search(text) and bool(re.search(r"[A-Za-z]", text))
