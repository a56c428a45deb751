"""Settings from QA_* environment variables: parsing, overrides, and messages for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings, from_env
from qa.errors import BadInputError


def test_defaults_without_environment():
    s = from_env({})
    assert s == Settings()
    assert (s.index_dir, s.data_dir, s.top_k, s.chunk_chars) == (Path("index"), Path("data"), 3, 200)


def test_ints_floats_strings_and_paths_parse(tmp_path):
    s = from_env(
        {
            "QA_TOP_K": "8",
            "QA_CHUNK_CHARS": " 150 ",
            "QA_CHUNK_OVERLAP": "0",
            "QA_PORT": "8080",
            "QA_LLM_TIMEOUT": "2.5",
            "QA_INDEX_DIR": str(tmp_path / "idx"),
            "QA_DATA_DIR": "~/docs",
            "QA_MODEL": "/models/e5",
            "QA_MAX_FILE_BYTES": "1000",
        }
    )
    assert (s.top_k, s.chunk_chars, s.chunk_overlap, s.port) == (8, 150, 0, 8080)
    assert s.llm_timeout == 2.5
    assert s.index_dir == tmp_path / "idx" and isinstance(s.index_dir, Path)
    assert s.data_dir == Path.home() / "docs"  # ~ is expanded
    assert s.model == "/models/e5"
    assert s.max_file_bytes == 1000


def test_empty_values_and_unrelated_variables_are_ignored():
    assert from_env({"QA_TOP_K": "", "TOP_K": "9", "QA_NOT_A_SETTING": "x"}) == Settings()


def test_flags_override_environment_but_none_does_not(tmp_path):
    s = from_env({"QA_TOP_K": "8", "QA_INDEX_DIR": "env-index"}, top_k=3, index_dir=None)
    assert s.top_k == 3 and s.index_dir == Path("env-index")


@pytest.mark.parametrize(
    "var, raw, kind",
    [
        ("QA_TOP_K", "five", "int"),
        ("QA_CHUNK_CHARS", "2.5", "int"),
        ("QA_PORT", "80a", "int"),
        ("QA_LLM_TIMEOUT", "soon", "float"),
    ],
)
def test_unparsable_values_name_the_variable_and_the_fix(var, raw, kind):
    with pytest.raises(BadInputError) as e:
        from_env({var: raw})
    msg = str(e.value)
    assert var in msg and repr(raw) in msg and kind in msg and "unset it or fix the value" in msg


@pytest.mark.parametrize(
    "env, words",
    [
        ({"QA_TOP_K": "0"}, "top_k must be > 0, got 0"),
        ({"QA_CHUNK_CHARS": "-5"}, "chunk_chars must be > 0, got -5"),
        ({"QA_MAX_FILE_BYTES": "0"}, "max_file_bytes must be > 0"),
        ({"QA_CHUNK_OVERLAP": "-1"}, "chunk_overlap must be >= 0, got -1"),
        ({"QA_PORT": "70000"}, "port must be in 1..65535, got 70000"),
        ({"QA_SURE_CONFIDENCE": "1.5"}, "sure_confidence must be in 0..1"),
    ],
)
def test_values_that_cannot_work_are_refused(env, words):
    with pytest.raises(BadInputError, match=words.replace(".", r"\.")):
        from_env(env)


def test_flag_values_are_validated_too():
    with pytest.raises(BadInputError, match="chunk_chars must be > 0"):
        from_env({}, chunk_chars=0)


def test_replace_ignores_none():
    s = Settings().replace(top_k=None, candidates=12)
    assert (s.top_k, s.candidates) == (3, 12)


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().cache_dir == tmp_path / "qa"
    assert from_env({"QA_CACHE_DIR": str(tmp_path / "c")}).cache_dir == tmp_path / "c"
