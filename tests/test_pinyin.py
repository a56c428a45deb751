"""English questions spell the corpus's Chinese names in pinyin: qa/indexing/pinyin.py."""

from qa.indexing import cedict
from qa.indexing.pinyin import Names, is_pinyin, readings
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


def test_the_names_an_english_question_gives():
    lexicon = Lexicon("luming bay\t鹭鸣湾\n", names=Names(lambda: VOCAB))
    names = lexicon.english_names
    # CC-CEDICT's proper noun, the corpus's word a pinyin spelling gives; the first word only when
    # CC-CEDICT does not know it
    assert names("When did Tangzhou sign with Tokyo?") == [(["Tangzhou"], ["棠州"]), (["Tokyo"], ["东京", "上野"])]
    assert names("Tangzhou signed what?") == [(["Tangzhou"], ["棠州"])]
    assert names("Together with whom did it sign?") == []
    # not names: a glossary phrase (the corpus's own data), a people's adjective, a Roman numeral,
    # an acronym, a word CC-CEDICT gives only common words for, a name no dictionary writes
    assert names("Did Luming Bay's Japanese staff work in Wartime for the UN?") == []
    assert names("What happens in Act II?") == []
    assert names("What does the Stock Exchange of Washburn list?") == []
    # a run of capitalized words is one name, also spelled whole; a month is CC-CEDICT's proper noun
    assert names("Where is Lu Mingwan?") == [(["Lu", "Mingwan"], ["鲁国", "鸣湾", "鹭鸣湾"])]
    assert names("On December 15, who came?") == [(["December"], ["十二月"])]


def test_pinyin_is_mandarin_syllables_one_after_another():
    assert is_pinyin("Shicheng") and is_pinyin("Qi'an") and is_pinyin("Lumingwan")
    assert not is_pinyin("Washburn") and not is_pinyin("Chao-hsiang")  # not pinyin (Wade-Giles)
    assert not is_pinyin("Dammam")  # m alone (呣) is a reading, not a syllable a name is spelled with


def test_a_chinese_name_in_pinyin_that_spells_no_corpus_word_is_absent():
    names = Lexicon(names=Names(lambda: VOCAB)).english_names
    assert names("Where was Cai Min born?") == [(["Cai", "Min"], [])]  # no 蔡敏 in this corpus
    assert names("Where is Tangzhou?") == [(["Tangzhou"], ["棠州"])]
    # a run CC-CEDICT knows whole is its proper noun (not a pinyin name, though hong and kong are syllables)
    assert names("Where is Hong Kong?") == [(["Hong", "Kong"], ["香港", "港"])]
    assert names("Where is Washburn?") == []  # not pinyin: a foreign name no dictionary writes
