"""Tests of syncd.config: the schema's rules, defaults, `${VAR}` expansion, the token's sources
and secrecy, the generated example and starter configs, lookup order and file permissions.

Every failing case asserts that the one-line message names the file, the key and the problem.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from syncd.config import permissions
from syncd.config.build import parse_duration
from syncd.config.generate import example_config, key_table, starter_config
from syncd.config.load import config_from_mapping, find_config_path, load_config
from syncd.config.permissions import config_permission_warning
from syncd.config.schema import CATEGORIES, SCHEMA, Option, Section
from syncd.config.values import Config
from syncd.errors import ConfigError

TOKEN = "s3cr3t-t0ken-value-xyz"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """An environment with a home folder and nothing else (no token, no XDG variables)."""
    return {"HOME": str(home)}


def write(folder: Path, text: str, name: str = "config.yaml", mode: int = 0o600) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def load(folder: Path, text: str, env: Mapping[str, str], **kwargs: bool) -> Config:
    return load_config(write(folder, text), env, **kwargs)


def fails(folder: Path, text: str, env: Mapping[str, str], **kwargs: bool) -> str:
    """Load a config that must fail; return the message, checked to be one line naming the file."""
    path = write(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert caught.value.exit_code == 2
    return message


def with_token(env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "READWISE_TOKEN": TOKEN}


MINIMAL = "vault:\n  path: ~/notes\n"


# --- defaults and a full config ---------------------------------------------------------------


def test_minimal_config_takes_every_default(
    tmp_path: Path, home: Path, env: dict[str, str]
) -> None:
    config = load(tmp_path, MINIMAL, with_token(env))
    assert config.source == tmp_path / "config.yaml"
    assert config.readwise.token == TOKEN
    assert config.readwise.base_url == "https://readwise.io"
    assert config.vault.path == home / "notes"
    assert (config.vault.format, config.vault.folder, config.vault.timezone) == (
        "logseq",
        None,
        None,
    )
    assert config.state_dir == home / ".local" / "state" / "syncd"
    assert config.sync.interval == 3600.0
    assert config.sync.on_start is True
    assert config.sync.categories == CATEGORIES
    assert config.sync.update_changed_highlights is True
    assert config.sync.remove_deleted_highlights is False
    assert config.sync.resync_deleted_pages is False
    assert config.sync.sync_log_page == "Readwise"
    assert config.sync.include_tags == config.sync.exclude_tags == ()
    assert dict(config.templates) == {}
    assert config.log_level == "info"


def test_every_key_set(tmp_path: Path, env: dict[str, str]) -> None:
    text = f"""
readwise:
  token: {TOKEN}
  base_url: http://127.0.0.1:8765/
vault:
  path: {tmp_path}/vault
  format: obsidian
  folder: Readwise/Books/
  timezone: Europe/Berlin
state_dir: {tmp_path}/state
sync:
  interval: 90s
  on_start: false
  categories: [books, tweets]
  include_tags: [favorite]
  exclude_tags: [private, draft]
  update_changed_highlights: false
  remove_deleted_highlights: true
  resync_deleted_pages: true
  sync_log_page: null
templates:
  page_title: "{{{{ title }}}}"
  sync_log: ""
log_level: debug
"""
    config = load(tmp_path, text, env)
    assert config.readwise.token == TOKEN
    assert config.readwise.base_url == "http://127.0.0.1:8765"
    assert config.vault == type(config.vault)(
        tmp_path / "vault", "obsidian", "Readwise/Books", "Europe/Berlin"
    )
    assert config.state_dir == tmp_path / "state"
    assert config.sync.interval == 90.0
    assert config.sync.on_start is False
    assert config.sync.categories == ("books", "tweets")
    assert config.sync.include_tags == ("favorite",)
    assert config.sync.exclude_tags == ("private", "draft")
    assert config.sync.update_changed_highlights is False
    assert config.sync.remove_deleted_highlights is True
    assert config.sync.resync_deleted_pages is True
    assert config.sync.sync_log_page is None
    assert dict(config.templates) == {"page_title": "{{ title }}", "sync_log": ""}
    assert config.log_level == "debug"


def test_config_is_frozen(tmp_path: Path, env: dict[str, str]) -> None:
    config = load(tmp_path, MINIMAL, with_token(env))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.log_level = "debug"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.templates["highlight"] = "x"  # type: ignore[index]


def test_config_from_mapping_without_a_file(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_from_mapping({"vault": {"path": "graph"}}, None, with_token(env))
    assert config.source is None
    assert config.vault.path == tmp_path / "graph"
    with pytest.raises(ConfigError, match=r"^config: at 'vault.path': required key is missing$"):
        config_from_mapping({}, None, with_token(env))


# --- unknown keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("vault:\n  path: x\n  formt: logseq\n", "vault.formt", "did you mean 'format'?"),
        ("vault:\n  path: x\nsycn:\n  on_start: true\n", "sycn", "did you mean 'sync'?"),
        ("vault:\n  path: x\ntoken: abc\n", "token", "did you mean 'readwise.token'?"),
        (
            "vault:\n  path: x\ntemplates:\n  title: x\n",
            "templates.title",
            "did you mean 'page_title'?",
        ),
        (
            "vault:\n  path: x\nsync:\n  frequency: 5m\n",
            "sync.frequency",
            "expected one of interval",
        ),
        ("vault:\n  path: x\n1: one\n", "1", "unknown key"),
    ],
)
def test_unknown_key_is_named(
    tmp_path: Path, env: dict[str, str], text: str, key: str, problem: str
) -> None:
    message = fails(tmp_path, text, with_token(env))
    assert f"at '{key}': unknown key" in message
    assert problem in message


# --- wrong types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "expected", "got"),
    [
        ("vault:\n  path: 5\n", "vault.path", "a path (a string)", "an integer"),
        (
            "vault:\n  path: x\nsync:\n  on_start: please\n",
            "sync.on_start",
            "true or false",
            "a string",
        ),
        (
            "vault:\n  path: x\nsync:\n  categories: books\n",
            "sync.categories",
            "a list of strings",
            "a string",
        ),
        (
            "vault:\n  path: x\nsync:\n  include_tags: [ok, 3]\n",
            "sync.include_tags[1]",
            "a string",
            "an integer",
        ),
        (
            "vault:\n  path: x\nsync:\n  interval: true\n",
            "sync.interval",
            "a duration",
            "a boolean",
        ),
        ("vault:\n  path: x\nsync:\n  interval: [1]\n", "sync.interval", "a duration", "a list"),
        ("vault:\n  path: x\nreadwise: [a]\n", "readwise", "a mapping", "a list"),
        (
            "vault:\n  path: x\nreadwise:\n  base_url: {a: 1}\n",
            "readwise.base_url",
            "a string",
            "a mapping",
        ),
        (
            "vault:\n  path: x\ntemplates:\n  highlight: 3.5\n",
            "templates.highlight",
            "a string",
            "a number",
        ),
        ("vault:\n  path: x\nlog_level: 2023-01-01\n", "log_level", "a string", "a date"),
        ("vault:\n  path: x\nsync:\n  on_start:\n", "sync.on_start", "true or false", "null"),
        ("vault:\n  path:\n", "vault.path", "a path", "null"),
        ("vault: notes\n", "vault", "a mapping", "a string"),
    ],
)
def test_wrong_type_names_expected_and_got(
    tmp_path: Path, env: dict[str, str], text: str, key: str, expected: str, got: str
) -> None:
    message = fails(tmp_path, text, with_token(env))
    assert re.search(
        rf"at '{re.escape(key)}': expected {re.escape(expected)}.*, got "
        rf"{re.escape(got)}",
        message,
    ), message


def test_top_level_must_be_a_mapping(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, "- vault\n- path\n", with_token(env))
    assert message.endswith("expected a mapping of keys at the top, got a list")


# --- vault.path -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "vault:\n",
        "vault: {}\n",
        "readwise:\n  base_url: https://readwise.io\n",
    ],
)
def test_vault_path_is_required(tmp_path: Path, env: dict[str, str], text: str) -> None:
    message = fails(tmp_path, text, with_token(env))
    assert message.endswith("at 'vault.path': required key is missing")


def test_bare_tilde_is_null_in_yaml_and_the_message_says_so(
    tmp_path: Path, env: dict[str, str]
) -> None:
    message = fails(tmp_path, "vault:\n  path: ~\n", with_token(env))
    assert message.endswith(
        "at 'vault.path': expected a path (a string), got null (no value; "
        "write '~' in quotes for the home folder)"
    )


def test_empty_vault_path_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, "vault:\n  path: ''\n", with_token(env))
    assert message.endswith("at 'vault.path': must not be empty")


def test_tilde_is_the_home_from_env(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    config = load(tmp_path, "vault:\n  path: '~'\nstate_dir: /elsewhere/state\n", with_token(env))
    assert config.vault.path == home
    assert load(tmp_path, MINIMAL, with_token(env)).vault.path == home / "notes"


def test_relative_paths_are_taken_from_the_config_folder(
    tmp_path: Path, env: dict[str, str]
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    config = load(folder, "vault:\n  path: ../graph\nstate_dir: state\n", with_token(env))
    assert config.vault.path == tmp_path / "graph"
    assert config.state_dir == folder / "state"


# --- ${VAR} expansion -------------------------------------------------------------------------


def test_variables_are_expanded_in_every_string(tmp_path: Path, env: dict[str, str]) -> None:
    text = """
vault:
  path: ${NOTES}/graph
  format: ${FORMAT}
sync:
  interval: ${EVERY}
  include_tags: [a, "${TAG}"]
  sync_log_page: Log ${USER}
templates:
  highlight: "{{ highlight_text }} ${USER}"
"""
    variables = {
        "NOTES": str(tmp_path),
        "FORMAT": "obsidian",
        "EVERY": "5m",
        "TAG": "fav",
        "USER": "ann",
    }
    config = load(tmp_path, text, with_token({**env, **variables}))
    assert config.vault.path == tmp_path / "graph"
    assert config.vault.format == "obsidian"
    assert config.sync.interval == 300.0
    assert config.sync.include_tags == ("a", "fav")
    assert config.sync.sync_log_page == "Log ann"
    assert config.templates["highlight"] == "{{ highlight_text }} ann"


def test_double_dollar_keeps_a_literal_variable(tmp_path: Path, env: dict[str, str]) -> None:
    text = "vault:\n  path: x\nsync:\n  sync_log_page: costs $${PRICE} and ${A}\n"
    config = load(tmp_path, text, with_token({**env, "A": "b"}))
    assert config.sync.sync_log_page == "costs ${PRICE} and b"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("vault:\n  path: ${NOTES_DIR}/graph\n", "vault.path"),
        ("vault:\n  path: x\nsync:\n  exclude_tags: [a, '${NOTES_DIR}']\n", "sync.exclude_tags[1]"),
        ("vault:\n  path: x\nreadwise:\n  base_url: ${NOTES_DIR}\n", "readwise.base_url"),
    ],
)
def test_unset_variable_names_key_and_variable(
    tmp_path: Path, env: dict[str, str], text: str, key: str
) -> None:
    message = fails(tmp_path, text, with_token(env))
    assert message.endswith(f"at '{key}': environment variable ${{NOTES_DIR}} is not set")


# --- the token --------------------------------------------------------------------------------


def test_env_token_overrides_config_and_file(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path, "from-file\n", name="token")
    text = "readwise:\n  token: from-config\n  token_file: token\nvault:\n  path: x\n"
    assert (
        load(tmp_path, text, {**env, "READWISE_TOKEN": " from-env\n"}).readwise.token == "from-env"
    )
    assert load(tmp_path, text, env).readwise.token == "from-config"
    text = "readwise:\n  token_file: token\nvault:\n  path: x\n"
    assert load(tmp_path, text, env).readwise.token == "from-file"


def test_empty_env_token_is_ignored(tmp_path: Path, env: dict[str, str]) -> None:
    text = "readwise:\n  token: from-config\nvault:\n  path: x\n"
    assert load(tmp_path, text, {**env, "READWISE_TOKEN": ""}).readwise.token == "from-config"


def test_token_from_a_variable_and_token_file_from_credentials(
    tmp_path: Path, env: dict[str, str]
) -> None:
    text = "readwise:\n  token: ${MY_TOKEN}\nvault:\n  path: x\n"
    assert load(tmp_path, text, {**env, "MY_TOKEN": TOKEN}).readwise.token == TOKEN
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    write(credentials, f"  {TOKEN}\n\n", name="readwise-token")
    text = "readwise:\n  token_file: ${CREDENTIALS_DIRECTORY}/readwise-token\nvault:\n  path: x\n"
    config = load(tmp_path, text, {**env, "CREDENTIALS_DIRECTORY": str(credentials)})
    assert config.readwise.token == TOKEN


@pytest.mark.parametrize(
    "text", [MINIMAL, "readwise:\n  token:\n" + MINIMAL, "readwise:\n  token: '  '\n" + MINIMAL]
)
def test_no_token_is_an_error(tmp_path: Path, env: dict[str, str], text: str) -> None:
    message = fails(tmp_path, text, env)
    assert message.endswith(
        "at 'readwise.token': no Readwise token (set readwise.token, "
        "readwise.token_file or $READWISE_TOKEN)"
    )


def test_no_token_is_fine_when_not_required(tmp_path: Path, env: dict[str, str]) -> None:
    assert load(tmp_path, MINIMAL, env, require_token=False).readwise.token == ""
    text = "readwise:\n  token_file: missing-token\n" + MINIMAL
    assert load(tmp_path, text, env, require_token=False).readwise.token == ""
    text = "readwise:\n  token_file: ${CREDENTIALS_DIRECTORY}/token\n" + MINIMAL
    assert load(tmp_path, text, env, require_token=False).readwise.token == ""


def test_unreadable_token_file_names_the_file(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, "readwise:\n  token_file: missing-token\n" + MINIMAL, env)
    assert f"at 'readwise.token_file': cannot read {tmp_path / 'missing-token'}: " in message
    (tmp_path / "a-folder").mkdir()
    message = fails(tmp_path, "readwise:\n  token_file: a-folder\n" + MINIMAL, env)
    assert f"at 'readwise.token_file': cannot read {tmp_path / 'a-folder'}: " in message


def test_empty_token_file_is_an_error(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path, "\n  \n", name="token")
    message = fails(tmp_path, "readwise:\n  token_file: token\n" + MINIMAL, env)
    assert message.endswith(f"at 'readwise.token_file': {tmp_path / 'token'} is empty")


def test_unset_variable_in_token_names_only_the_variable(
    tmp_path: Path, env: dict[str, str]
) -> None:
    message = fails(tmp_path, "readwise:\n  token: ${RW_TOKEN}\n" + MINIMAL, env)
    assert message.endswith("at 'readwise.token': environment variable ${RW_TOKEN} is not set")


@pytest.mark.parametrize(
    "text",
    [
        f"readwise:\n  token: {TOKEN}\n  base_url: http://example.com\n" + MINIMAL,
        f"readwise:\n  token: {TOKEN}\n  tokn: {TOKEN}\n" + MINIMAL,
        f"readwise:\n  token: [{TOKEN}]\n" + MINIMAL,
        f"readwise:\n  token: {{{TOKEN}: 1}}\n" + MINIMAL,
        f'readwise:\n  token: "{TOKEN}\n' + MINIMAL,
        f"readwise:\n  token: {TOKEN}\n  token: {TOKEN}\n" + MINIMAL,
        f"readwise:\n  token: {TOKEN} {TOKEN}\n" + MINIMAL,
        f'readwise:\n  token: "{TOKEN}\\n"\n  x: 1\n' + MINIMAL,
        f"readwise:\n  token: '{TOKEN}\tx'\n" + MINIMAL,
        f"readwise: {TOKEN}\n" + MINIMAL,
        f"{TOKEN}\n",
        f"readwise:\n  token: {TOKEN}\nvault:\n  path: x\n  format: 1\n",
    ],
)
def test_token_never_appears_in_messages(tmp_path: Path, env: dict[str, str], text: str) -> None:
    message = fails(tmp_path, text, env)
    assert TOKEN not in message


def test_token_with_spaces_from_env_or_file_is_refused_unquoted(
    tmp_path: Path, env: dict[str, str]
) -> None:
    message = fails(tmp_path, MINIMAL, {**env, "READWISE_TOKEN": f"{TOKEN} x"})
    assert message.endswith(
        "at 'readwise.token': $READWISE_TOKEN contains spaces or control characters"
    )
    assert TOKEN not in message
    write(tmp_path, f"{TOKEN}\n{TOKEN}\n", name="token")
    message = fails(tmp_path, "readwise:\n  token_file: token\n" + MINIMAL, env)
    assert "at 'readwise.token_file': " in message
    assert TOKEN not in message


def test_token_never_appears_in_repr(tmp_path: Path, env: dict[str, str]) -> None:
    config = load(tmp_path, f"readwise:\n  token: {TOKEN}\n" + MINIMAL, env)
    assert config.readwise.token == TOKEN
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert TOKEN not in repr(config.readwise)


# --- readwise.base_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://readwise.io/", "https://readwise.io"),
        ("https://proxy.example.com/readwise//", "https://proxy.example.com/readwise"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost/", "http://localhost"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_base_url_accepted(tmp_path: Path, env: dict[str, str], url: str, expected: str) -> None:
    config = load(tmp_path, f"readwise:\n  base_url: '{url}'\n" + MINIMAL, with_token(env))
    assert config.readwise.base_url == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://readwise.io", "is not https:// (http:// is allowed only for 127.0.0.1"),
        ("http://127.0.0.2", "is not https://"),
        ("http://localhost.evil.com", "is not https://"),
        ("ftp://readwise.io", "expected an https:// URL"),
        ("readwise.io", "expected an https:// URL"),
        ("https://", "expected an https:// URL"),
        ("https://readwise.io:notaport", "is not a valid URL"),
        ("https://readwise.io/?a=1", "must not have a query or a fragment"),
        ("https://user:pw@readwise.io", "must not hold a user name or password"),
    ],
)
def test_base_url_refused(tmp_path: Path, env: dict[str, str], url: str, problem: str) -> None:
    message = fails(tmp_path, f"readwise:\n  base_url: '{url}'\n" + MINIMAL, with_token(env))
    assert "at 'readwise.base_url': " in message
    assert problem in message
    assert "pw" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://readwise.io/api?token={T}",  # refused for http://, and for the query
        "https://readwise.io/?token={T}",
        "https://readwise.io/#{T}",
        "https://user:{T}@readwise.io",
        "https://{T}@readwise.io/",
        "ftp://{T}@readwise.io/?token={T}",
        "https://readwise.io:notaport/?token={T}",
        "readwise.io?token={T}",
    ],
)
def test_base_url_messages_never_echo_a_token_in_it(
    tmp_path: Path, env: dict[str, str], url: str
) -> None:
    """Issue 10, item 10: a token put in base_url's query string, fragment or user info is
    redacted from the one-line error (which still names the key and shows the rest)."""
    url = url.format(T=TOKEN)
    message = fails(tmp_path, f"readwise:\n  base_url: '{url}'\n" + MINIMAL, with_token(env))
    assert "at 'readwise.base_url': " in message
    assert TOKEN not in message
    assert "readwise.io" in message and "***" in message


# --- vault.format, vault.folder, vault.timezone -----------------------------------------------


def test_format_must_be_logseq_or_obsidian(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, MINIMAL + "  format: roam\n", with_token(env))
    assert message.endswith("at 'vault.format': expected one of logseq, obsidian, got 'roam'")


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("pages", "pages"), ("./a/b/", "a/b"), (".", "."), ("Réad wise", "Réad wise")],
)
def test_folder_accepted(tmp_path: Path, env: dict[str, str], folder: str, expected: str) -> None:
    config = load(tmp_path, MINIMAL + f"  folder: '{folder}'\n", with_token(env))
    assert config.vault.folder == expected


@pytest.mark.parametrize(
    ("folder", "problem"),
    [
        ("/etc", "must be a folder inside the vault"),
        ("../outside", "must be a folder inside the vault"),
        ("a/../../b", "must be a folder inside the vault"),
        ("", "must not be empty"),
    ],
)
def test_folder_refused(tmp_path: Path, env: dict[str, str], folder: str, problem: str) -> None:
    message = fails(tmp_path, MINIMAL + f"  folder: '{folder}'\n", with_token(env))
    assert "at 'vault.folder': " in message
    assert problem in message


def test_valid_timezone(tmp_path: Path, env: dict[str, str]) -> None:
    config = load(tmp_path, MINIMAL + "  timezone: America/New_York\n", with_token(env))
    assert config.vault.timezone == "America/New_York"


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "Europe/Berlinn", "", "../../etc/passwd", "/etc/localtime"]
)
def test_invalid_timezone(tmp_path: Path, env: dict[str, str], zone: str) -> None:
    message = fails(tmp_path, MINIMAL + f"  timezone: '{zone}'\n", with_token(env))
    assert f"at 'vault.timezone': unknown time zone {zone!r}" in message


# --- state_dir --------------------------------------------------------------------------------


def test_state_dir_default_follows_xdg(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    xdg = tmp_path / "xdg-state"
    config = load(tmp_path, MINIMAL, with_token({**env, "XDG_STATE_HOME": str(xdg)}))
    assert config.state_dir == xdg / "syncd"
    # The XDG spec says a relative value is invalid and must be ignored.
    config = load(tmp_path, MINIMAL, with_token({**env, "XDG_STATE_HOME": "relative"}))
    assert config.state_dir == home / ".local" / "state" / "syncd"


@pytest.mark.parametrize("state_dir", ["~/notes/.syncd", "~/notes", "~/notes/a/../b"])
def test_state_dir_inside_the_vault_is_refused(
    tmp_path: Path, env: dict[str, str], state_dir: str
) -> None:
    message = fails(tmp_path, MINIMAL + f"state_dir: {state_dir}\n", with_token(env))
    assert "at 'state_dir': " in message
    assert "is inside the vault" in message


def test_default_state_dir_inside_the_vault_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, "vault:\n  path: ~/\n", with_token(env))
    assert "at 'state_dir': the default state_dir " in message
    assert "is inside the vault" in message


def test_state_dir_inside_the_vault_through_a_symlink(
    tmp_path: Path, home: Path, env: dict[str, str]
) -> None:
    (home / "notes").mkdir()
    (tmp_path / "link").symlink_to(home / "notes")
    message = fails(tmp_path, MINIMAL + f"state_dir: {tmp_path}/link/state\n", with_token(env))
    assert "at 'state_dir': " in message


def test_state_dir_next_to_the_vault_is_fine(
    tmp_path: Path, home: Path, env: dict[str, str]
) -> None:
    config = load(tmp_path, MINIMAL + "state_dir: ~/notes-state\n", with_token(env))
    assert config.state_dir == home / "notes-state"


# --- sync -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [
        ("60m", 3600),
        ("90s", 90),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1h 30m 15s", 5415),
        ("1d", 86400),
        ("1.5h", 5400),
        ("90", 90),
        ("'120'", 120),
        ("1", 1),
        ("2.5", 2.5),
        ("1s", 1),
    ],
)
def test_interval_accepted(
    tmp_path: Path, env: dict[str, str], interval: str, seconds: float
) -> None:
    config = load(tmp_path, MINIMAL + f"sync:\n  interval: {interval}\n", with_token(env))
    assert config.sync.interval == seconds


@pytest.mark.parametrize(
    ("interval", "problem"),
    [
        ("abc", "expected a duration such as 60m"),
        ("10x", "expected a duration"),
        ("30m1h", "expected a duration"),
        ("''", "expected a duration"),
        ("h", "expected a duration"),
        (".nan", "expected a duration"),
        (".inf", "expected a duration"),
        ("0", "out of range"),
        ("0.5s", "out of range"),
        ("-5", "out of range"),
        ("400d", "out of range"),
    ],
)
def test_interval_refused(tmp_path: Path, env: dict[str, str], interval: str, problem: str) -> None:
    message = fails(tmp_path, MINIMAL + f"sync:\n  interval: {interval}\n", with_token(env))
    assert "at 'sync.interval': " in message
    assert problem in message


def test_parse_duration() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration(45) == 45.0
    assert parse_duration("soon") is None


def test_categories_must_be_known(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, MINIMAL + "sync:\n  categories: [books, videos]\n", with_token(env))
    assert message.endswith(
        "at 'sync.categories[1]': expected one of books, articles, tweets, "
        "podcasts, supplementals, got 'videos'"
    )


def test_categories_must_not_be_empty(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, MINIMAL + "sync:\n  categories: []\n", with_token(env))
    assert "at 'sync.categories': must list at least one category" in message


def test_categories_duplicates_are_dropped(tmp_path: Path, env: dict[str, str]) -> None:
    config = load(
        tmp_path, MINIMAL + "sync:\n  categories: [tweets, books, tweets]\n", with_token(env)
    )
    assert config.sync.categories == ("tweets", "books")


def test_push_is_off_by_default(tmp_path: Path, env: dict[str, str]) -> None:
    config = load(tmp_path, MINIMAL, with_token(env))
    assert config.sync.push == () and config.sync.push_delay == 60.0


def test_push_names_fields(tmp_path: Path, env: dict[str, str]) -> None:
    config = load(
        tmp_path, MINIMAL + "sync:\n  push: [tags, note]\n  push_delay: 2m\n", with_token(env)
    )
    assert config.sync.push == ("tags", "note") and config.sync.push_delay == 120.0


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("push: [note, title]", "sync.push[1]", "expected one of note, tags, text, got 'title'"),
        ("push: note", "sync.push", "expected a list of strings"),
        ("push_delay: soon", "sync.push_delay", "expected a duration"),
        ("push_delay: -5", "sync.push_delay", "out of range"),
    ],
)
def test_bad_push_is_one_line_naming_key_and_value(
    tmp_path: Path, env: dict[str, str], text: str, where: str, problem: str
) -> None:
    message = fails(tmp_path, MINIMAL + f"sync:\n  {text}\n", with_token(env))
    assert f"at '{where}': " in message and problem in message and "\n" not in message


def test_empty_sync_log_page_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, MINIMAL + "sync:\n  sync_log_page: ' '\n", with_token(env))
    assert "at 'sync.sync_log_page': must not be empty (use null" in message


# --- templates and log_level ------------------------------------------------------------------


def test_templates_keep_only_the_overrides(tmp_path: Path, env: dict[str, str]) -> None:
    text = MINIMAL + "templates:\n  highlight: '- {{ highlight_text }}'\n  metadata: null\n"
    config = load(tmp_path, text, with_token(env))
    assert dict(config.templates) == {"highlight": "- {{ highlight_text }}"}


def test_unknown_template_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, MINIMAL + "templates:\n  footer: x\n", with_token(env))
    assert message.endswith(
        "at 'templates.footer': unknown key (expected one of page_title, "
        "metadata, highlight_header, highlight, sync_log, frontmatter)"
    )


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error"])
def test_log_level_accepted(tmp_path: Path, env: dict[str, str], level: str) -> None:
    assert load(tmp_path, MINIMAL + f"log_level: {level}\n", with_token(env)).log_level == level


def test_log_level_refused(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, MINIMAL + "log_level: verbose\n", with_token(env))
    assert message.endswith(
        "at 'log_level': expected one of debug, info, warning, error, got 'verbose'"
    )


# --- the file itself --------------------------------------------------------------------------


def test_yaml_syntax_error_gives_file_and_line(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, "vault:\n  path: x\nsync:\n  interval: [60m\n", with_token(env))
    assert re.search(r"config\.yaml: invalid YAML at line \d+, column \d+: ", message)
    message = fails(tmp_path, "vault:\n  path: x\n bad indent: 1\n", with_token(env))
    assert "invalid YAML at line 3, column 2" in message


def test_duplicate_key_gives_file_and_line(tmp_path: Path, env: dict[str, str]) -> None:
    message = fails(tmp_path, "vault:\n  path: x\n  path: y\n", with_token(env))
    assert message.endswith("invalid YAML at line 3, column 3: duplicate key 'path'")


def test_missing_file_names_it(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, with_token(env))
    assert str(caught.value).startswith(f"{path}: no such file")


def test_folder_instead_of_file(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"is a folder, not a config file$"):
        load_config(tmp_path, with_token(env))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_names_it(tmp_path: Path, env: dict[str, str]) -> None:
    path = write(tmp_path, MINIMAL, mode=0o000)
    with pytest.raises(ConfigError) as caught:
        load_config(path, with_token(env))
    assert str(caught.value).startswith(f"{path}: cannot read it: ")


def test_permission_denied_names_the_file(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, MINIMAL)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError) as caught:
        load_config(path, with_token(env))
    assert str(caught.value) == f"{path}: cannot read it: Permission denied"


def test_not_utf8_names_it(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"vault:\n  path: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: is not UTF-8 text$"):
        load_config(path, with_token(env))


def test_utf8_bom_is_fine(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_config(path, with_token(env)).vault.path.name == "notes"


# --- the generated example and starter configs ------------------------------------------------


def leaf_keys(section: Section, where: str = "") -> list[str]:
    keys: list[str] = []
    for name, spec in section.options.items():
        key = f"{where}.{name}" if where else name
        keys += leaf_keys(spec, key) if isinstance(spec, Section) else [key]
    return keys


def test_example_file_is_the_generated_example() -> None:
    assert (REPO / "config.example.yaml").read_text(encoding="utf-8") == example_config()


def test_the_readme_lists_every_key_with_its_default_as_the_schema_says() -> None:
    """issue 12, item 6 (README stands alone): pip installs carry no config.example.yaml, so
    the README holds the table of every key and its default, generated from the schema; a key
    added, renamed or given another default without the README following fails here."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = key_table()
    assert table in readme
    rows = table.splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == leaf_keys(SCHEMA)
    assert "| `sync.interval` | `60m` |" in table and "| `vault.path` | required |" in table
    assert "config.example.yaml" not in readme


def test_example_documents_every_key() -> None:
    text = example_config()
    for key in leaf_keys(SCHEMA):
        name = key.rsplit(".", 1)[-1]
        assert re.search(rf"^\s*(# )?{name}:", text, re.MULTILINE), key


def test_every_option_has_a_description_and_a_default_or_example() -> None:
    def options(section: Section) -> list[Option]:
        found: list[Option] = []
        for spec in section.options.values():
            found += options(spec) if isinstance(spec, Section) else [spec]
        return found

    for option in options(SCHEMA):
        assert option.description.endswith(".")
        assert option.default is not None or option.example is not None
        assert option.default is not None or option.required or option.default_doc


def test_example_loads(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    config = load(tmp_path, example_config(), with_token(env))
    assert config.vault.path == home / "notes"
    assert config.readwise.token == TOKEN
    assert config == load(tmp_path, MINIMAL, with_token(env))  # its values are the defaults


def test_example_loads_with_every_commented_key_uncommented(
    tmp_path: Path, home: Path, env: dict[str, str]
) -> None:
    names = {key.rsplit(".", 1)[-1] for key in leaf_keys(SCHEMA)}
    uncommented = []
    for line in example_config().splitlines():
        match = re.fullmatch(r"(\s*)# ([a-z_]+): (.*)", line)
        if match and match.group(2) in names:
            line = f"{match.group(1)}{match.group(2)}: {match.group(3)}"
        uncommented.append(line)
    # templates.frontmatter is Obsidian's (a Logseq graph refuses it: see below).
    text = "\n".join(uncommented).replace("\n  format: logseq\n", "\n  format: obsidian\n")
    config = load(tmp_path, text, env)
    assert config.readwise.token == "your-readwise-access-token"
    assert config.vault.timezone == "Europe/Berlin"
    assert config.vault.folder == "pages"
    assert set(config.templates) == {
        "page_title",
        "metadata",
        "highlight_header",
        "highlight",
        "sync_log",
        "frontmatter",
    }


def test_frontmatter_switch(tmp_path: Path, env: dict[str, str]) -> None:
    """issue 11 (front matter): `sync.frontmatter: true` is the built-in front matter unless a
    `templates.frontmatter` is given; either one in a Logseq graph is one line naming it."""
    from syncd.core.templates import default_frontmatter

    obsidian = MINIMAL.replace("vault:\n", "vault:\n  format: obsidian\n", 1)
    assert "format: obsidian" in obsidian
    config = load(tmp_path, obsidian + "sync:\n  frontmatter: true\n", with_token(env))
    assert config.sync.frontmatter and config.templates["frontmatter"] == default_frontmatter()
    config = load(
        tmp_path,
        obsidian + "sync:\n  frontmatter: true\ntemplates:\n  frontmatter: 'a: {{ title }}'\n",
        with_token(env),
    )
    assert config.templates["frontmatter"] == "a: {{ title }}"
    assert "frontmatter" not in load(tmp_path, obsidian, with_token(env)).templates
    message = fails(tmp_path, MINIMAL + "sync:\n  frontmatter: true\n", with_token(env))
    assert message.endswith(
        "at 'sync.frontmatter': front matter is for vault.format obsidian; "
        "a Logseq page's properties are its metadata template"
    )


def test_starter_config_with_token(tmp_path: Path, env: dict[str, str]) -> None:
    text = starter_config(str(tmp_path / "my graph"), TOKEN)
    assert text.startswith("# ")
    config = load(tmp_path, text, env)
    assert config.vault.path == tmp_path / "my graph"
    assert config.readwise.token == TOKEN
    assert config.vault.format == "logseq"


def test_starter_config_without_token(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    text = starter_config("~/Obsidian", None, vault_format="obsidian")
    assert "# token: " in text
    message = fails(tmp_path, text, env)
    assert "at 'readwise.token': no Readwise token" in message
    config = load(tmp_path, text, with_token(env))
    assert config.vault.path == home / "Obsidian"
    assert config.vault.format == "obsidian"


@pytest.mark.parametrize("vault", ["~", "yes", "null", "a: b", "#notes", "'quoted'", "x\ty"])
def test_starter_config_quotes_odd_paths(tmp_path: Path, env: dict[str, str], vault: str) -> None:
    config = load(tmp_path, starter_config(f"/v/{vault}", None), with_token(env))
    assert config.vault.path == Path(f"/v/{vault}")


# --- find_config_path -------------------------------------------------------------------------


def test_find_config_path_order(tmp_path: Path, home: Path) -> None:
    env = {
        "HOME": str(home),
        "SYNCD_CONFIG": str(tmp_path / "env.yaml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    assert find_config_path(str(tmp_path / "flag.yaml"), env) == tmp_path / "flag.yaml"
    assert find_config_path(None, env) == tmp_path / "env.yaml"
    del env["SYNCD_CONFIG"]
    assert find_config_path(None, env) == tmp_path / "xdg" / "syncd" / "config.yaml"
    del env["XDG_CONFIG_HOME"]
    assert find_config_path(None, env) == home / ".config" / "syncd" / "config.yaml"


def test_find_config_path_ignores_empty_and_relative_variables(home: Path) -> None:
    env = {"HOME": str(home), "SYNCD_CONFIG": "", "XDG_CONFIG_HOME": "relative/dir"}
    assert find_config_path(None, env) == home / ".config" / "syncd" / "config.yaml"


def test_find_config_path_expands_tilde_and_makes_absolute(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"HOME": str(home)}
    assert find_config_path("~/syncd.yaml", env) == home / "syncd.yaml"
    monkeypatch.chdir(tmp_path)
    assert find_config_path("local.yaml", env) == tmp_path / "local.yaml"


# --- permissions ------------------------------------------------------------------------------


def test_permission_warning_for_a_readable_token(tmp_path: Path) -> None:
    path = write(tmp_path, f"readwise:\n  token: {TOKEN}\n" + MINIMAL, mode=0o644)
    warning = config_permission_warning(path)
    assert warning is not None
    assert "\n" not in warning
    assert str(path) in warning
    assert "0644" in warning
    assert "chmod 600" in warning
    assert TOKEN not in warning


@pytest.mark.parametrize(("mode", "who"), [(0o640, "its group"), (0o604, "other users")])
def test_permission_warning_says_who(tmp_path: Path, mode: int, who: str) -> None:
    path = write(tmp_path, f"readwise:\n  token: {TOKEN}\n" + MINIMAL, mode=mode)
    assert f"can be read by {who} " in (config_permission_warning(path) or "")


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (f"readwise:\n  token: {TOKEN}\n" + MINIMAL, 0o600),
        (f"readwise:\n  token: {TOKEN}\n" + MINIMAL, 0o400),
        (MINIMAL, 0o644),
        ("readwise:\n  token: ${READWISE_TOKEN}\n" + MINIMAL, 0o644),
        ("readwise:\n  token_file: /run/credentials/token\n" + MINIMAL, 0o644),
        ("vault: [unclosed\n", 0o644),
    ],
)
def test_no_permission_warning(tmp_path: Path, text: str, mode: int) -> None:
    assert config_permission_warning(write(tmp_path, text, mode=mode)) is None


def test_a_private_config_is_not_parsed_again_for_the_permission_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command checks the config's permissions; a file only its owner can read needs no
    look inside it (the load parses it: with the pure-Python YAML reader, 1 ms for `syncd
    init`'s config, 7 ms for the example)."""
    path = write(tmp_path, f"readwise:\n  token: {TOKEN}\n" + MINIMAL, mode=0o600)
    parsed: list[str] = []
    monkeypatch.setattr(permissions.yaml, "safe_load", lambda text: parsed.append(text))
    assert config_permission_warning(path) is None
    assert parsed == []


def test_no_permission_warning_for_a_missing_file(tmp_path: Path) -> None:
    assert config_permission_warning(tmp_path / "missing.yaml") is None


@pytest.mark.parametrize(
    "given",
    [
        "https://readwise.io/api/v2",
        "https://readwise.io/api/v2/",
        "https://readwise.io/API/V2/",
        "https://readwise.io//api/v3",
        "https://readwise.io/",
    ],
)
def test_a_base_url_pasted_with_the_api_path_is_the_address(
    tmp_path: Path, env: dict[str, str], given: str
) -> None:
    """issue 21, item 3: syncd adds /api/v2 itself; pasted, it is left out."""
    config = load(tmp_path, f"readwise:\n  base_url: {given}\n{MINIMAL}", with_token(env))
    assert config.readwise.base_url == "https://readwise.io"
    assert config.readwise.base_url_source == f"readwise.base_url in {tmp_path / 'config.yaml'}"
