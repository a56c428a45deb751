"""English questions spell the corpus's Chinese names in pinyin: qa/indexing/pinyin.py."""

from qa.indexing import cedict
from qa.indexing.pinyin import Names, readings
from qa.indexing.synonyms import Lexicon

VOCAB = ["鹭鸣", "鸣湾", "棠州", "启岸", "电子", "水库", "重庆", "绿色", "湾区"]


def test_every_reading_of_a_character_and_u_for_u_umlaut():
    assert {"zhong", "chong"} <= set(readings("重"))
    assert "lu" in readings("绿")


def test_bigrams_and_three_character_names_by_their_pinyin():
    names = Names(lambda: VOCAB)
    assert names.spell("Tangzhou") == ["棠州"]
    assert names.spell("Qi'an") == ["启岸"]  # the apostrophe splits syllables, the spelling ignores it
    assert names.spell("Chongqing") == ["重庆"]  # 重 read chong
    assert names.spell("Lumingwan") == ["鹭鸣湾"]  # 鹭鸣 + 鸣湾 share 鸣
    assert names.spell("Beijing") == []  # not in this corpus
    assert names.spell("Lu") == []  # too short to tell names apart


def test_only_capitalized_words_english_does_not_know():
    names = Names(lambda: VOCAB)
    terms = names.terms("What is the total storage capacity of the Luming Bay reservoir?", cedict.known)
    assert terms == ["鹭鸣"]  # Bay and What are English words; reservoir is not capitalized
    assert names.terms("how much did qi'an electronics spend?", cedict.known) == []


def test_the_lexicon_adds_the_names_after_the_dictionarys_words():
    lexicon = Lexicon(names=Names(lambda: VOCAB))
    terms = lexicon.english_terms("How much did Qi'an Electronics spend on research?").split()
    assert "启岸" in terms and terms.index("启岸") > 0
    assert "启岸" not in Lexicon().english_terms("How much did Qi'an Electronics spend on research?")


def test_the_table_is_built_on_first_use_only():
    calls = []
    names = Names(lambda: calls.append(1) or VOCAB)
    assert calls == []
    names.spell("Tangzhou"), names.spell("Qi'an")
    assert calls == [1]
