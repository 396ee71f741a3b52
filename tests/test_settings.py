"""The settings tree: defaults < file < environment < flags, and one line naming every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, load_settings
from index.errors import ConfigError


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    # A citebot.toml in the working directory would be read: run where there is none.
    monkeypatch.chdir(tmp_path)


def _file(tmp_path: Path, body: str | bytes) -> Path:
    path = tmp_path / "citebot.toml"
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
    return path


def test_each_source_overrides_the_one_below_it(tmp_path):
    config = _file(tmp_path, "[retrieval]\nk = 3\ndense_weight = 1\n[answer]\nmax_statements = 2\n")
    environ = {"CITEBOT_K": "4", "CITEBOT_EXTRACTIVE": "yes"}
    settings = load_settings({"k": 7, "model": None}, config=config, environ=environ)
    assert settings.retrieval.k == 7                    # flag over environment over file
    assert settings.retrieval.dense_weight == 1.0       # file over default (an integer is a float)
    assert settings.answer.max_statements == 2
    assert settings.answer.extractive is True
    assert settings.model.model == ""                   # a None flag leaves the default


@pytest.mark.parametrize(("body", "expected"), [
    ("[retrieval]\nkk = 3\n", "unknown setting retrieval.kk in {file}"),
    ("[retreival]\nk = 3\n", "unknown section [retreival] in {file}"),
    ("k = 3\n", "setting 'k' in {file} belongs in the [retrieval] table"),
    ("[retrieval]\nk = true\n", "invalid setting retrieval.k = True in {file}: expected a number, not a boolean"),
    ("[retrieval]\nk = \"five\"\n", "invalid setting retrieval.k = 'five' in {file}"),
    ("[retrieval]\ncandidates = 0\n", "invalid setting retrieval.candidates = 0 in {file}"),
    ("[index]\nchunk_chars = 0\n", "invalid setting index.chunk_chars = 0 in {file}"),
    ("[index]\nembed_batch = 0\n", "invalid setting index.embed_batch = 0 in {file}"),
    ("[index]\nlanguage = \"klingon\"\n", "invalid setting index.language = 'klingon' in {file}"),
    ("[retrieval]\ndense_weight = -1\n", "invalid setting retrieval.dense_weight = -1 in {file}"),
    ("[answer]\nabstain_threshold = 1.5\n", "invalid setting answer.abstain_threshold = 1.5 in {file}"),
    ("[answer]\nabstain_threshold = -0.1\n", "invalid setting answer.abstain_threshold = -0.1 in {file}"),
    ("[answer]\nquote_mode = \"sentence\"\n", "invalid setting answer.quote_mode = 'sentence' in {file}"),
    ("[answer]\nmin_statements = 4\nmax_statements = 2\n",
     "invalid setting answer in {file}: min_statements must not exceed max_statements"),
    ("[index]\nhome = \"\"\n", "invalid setting index.home = '' in {file}: must not be empty"),
    ("[retrieval]\nk = [", "invalid TOML in {file}"),
    ("retrieval = 3\n", "[retrieval] in {file} must be a table of settings"),
])
def test_a_bad_settings_file_is_refused_with_one_line_naming_key_and_file(tmp_path, body, expected):
    config = _file(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(config=config, environ={})
    message = str(caught.value)
    assert message.startswith(expected.format(file=config))
    assert "\n" not in message


def test_the_model_table_holds_the_model_settings(tmp_path):
    config = _file(tmp_path, '[model]\nmodel = "/models/m.gguf"\nn_ctx = 2048\n')
    settings = load_settings(config=config, environ={})
    assert (settings.model.model, settings.model.n_ctx) == ("/models/m.gguf", 2048)


def test_a_nul_character_in_a_folder_setting_is_refused_in_one_line(tmp_path):
    config = _file(tmp_path, '[index]\nhome = "a\\u0000b"\n')
    with pytest.raises(ConfigError, match="index.home .* must not contain a NUL character"):
        load_settings(config=config, environ={})


def test_a_settings_file_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    config = _file(tmp_path, "[retrieval]\n# r\xe9glage\nk = 3\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"^settings file .* is not UTF-8 text$"):
        load_settings(config=config, environ={})


@pytest.mark.parametrize(("environ", "expected"), [
    ({"CITEBOT_K": "abc"}, "invalid setting retrieval.k = 'abc' in the environment (CITEBOT_K)"),
    ({"CITEBOT_HOME": ""}, "invalid setting index.home = '' in the environment (CITEBOT_HOME)"),
    ({"CITEBOT_EXTRACTIVE": "maybe"}, "invalid setting answer.extractive = 'maybe' in the environment"),
    ({"CITEBOT_CHUNK_OVERLAP": "600"}, "invalid setting index in the environment (CITEBOT_CHUNK_OVERLAP)"),
])
def test_a_bad_environment_variable_is_named(environ, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert str(caught.value).startswith(expected)


def test_a_bad_flag_is_named_as_a_flag():
    with pytest.raises(ConfigError, match=r"^invalid setting retrieval.k = 100000 in the flag --k: "):
        load_settings({"k": 100000}, environ={})


def test_an_unknown_flag_name_is_a_programming_error_caught_at_once():
    with pytest.raises(ConfigError, match="unknown setting 'kay'"):
        load_settings({"kay": 1}, environ={})


def test_calibrated_threshold_is_none_not_zero():
    assert Settings().answer.abstain_threshold is None
    assert load_settings(environ={"CITEBOT_ABSTAIN_THRESHOLD": "calibrated"}).answer.abstain_threshold is None
    assert load_settings(environ={"CITEBOT_ABSTAIN_THRESHOLD": "0.2"}).answer.abstain_threshold == 0.2


def test_settings_are_frozen_and_replace_validates():
    settings = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.retrieval.k = 9  # type: ignore[misc]
    assert settings.replace(k=9, home="/tmp/h").retrieval.k == 9
    with pytest.raises(ConfigError):
        settings.replace(chunk_chars=0)


def test_environment_lists_split_on_the_path_separator():
    settings = load_settings(environ={"CITEBOT_CORPUS": "a:b"})
    assert settings.index.corpus == ("a", "b")
