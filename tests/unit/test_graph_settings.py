"""syncd/edges/graph_settings.py: what a Logseq graph's `logseq/config.edn` says about pages."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.edges.graph_settings import parse_settings, read_settings


def test_graph_settings_read_the_keys_and_ignore_comments() -> None:
    edn = (
        "{;; :file/name-format :legacy\n :file/name-format :triple-lowbar\n"
        ' :journal/page-title-format "yyyy-MM-dd" ; "MMM do, yyyy"\n'
        ' :pages-directory "notes;pages"}'
    )
    settings = parse_settings(edn)
    assert (settings.name_format, settings.journal_format, settings.pages_directory) == (
        "triple-lowbar",
        "yyyy-MM-dd",
        "notes;pages",
    )


def test_a_config_edn_without_the_name_format_is_legacy_and_none_at_all_is_triple_lowbar() -> None:
    assert parse_settings("{}").name_format == "legacy"
    assert parse_settings(None).name_format == "triple-lowbar"
    assert parse_settings(None).journal_format == "MMM do, yyyy"


def test_a_semicolon_inside_a_string_is_not_a_comment_and_escaped_quotes_are_kept() -> None:
    settings_ = parse_settings(
        '{:journal/page-title-format "yyyy;MM" ; comment "x"\n :pages-directory "my \\"notes\\""}'
    )
    assert settings_.journal_format == "yyyy;MM"
    assert settings_.pages_directory == 'my "notes"'


def test_a_commented_out_key_is_not_read() -> None:
    settings_ = parse_settings('{;; :pages-directory "old"\n :journals-directory "days"}')
    assert (settings_.pages_directory, settings_.journals_directory) == ("pages", "days")


def test_read_settings_of_a_graph_without_logseq_folder_is_the_new_graph_default(
    tmp_path: Path,
) -> None:
    assert not read_settings(tmp_path).found
    assert read_settings(tmp_path / "missing").name_format == "triple-lowbar"
    (tmp_path / "logseq").mkdir()
    (tmp_path / "logseq" / "config.edn").write_bytes(b'{:pages-directory "p\xff"}')
    found = read_settings(tmp_path)
    assert found.found and found.name_format == "legacy"
    assert found.pages_directory == "p\ufffd"  # a stray byte does not stop syncd


@settings(max_examples=100, deadline=None)
@given(
    st.from_regex(r"[a-zA-Z0-9 /_.;-]{1,20}", fullmatch=True),
    st.sampled_from(["legacy", "triple-lowbar"]),
)
def test_any_folder_name_and_name_format_are_read_back(folder: str, name_format: str) -> None:
    edn = f'{{:file/name-format :{name_format}\n :pages-directory "{folder}" ; a comment\n}}'
    found = parse_settings(edn)
    assert (found.pages_directory, found.name_format) == (folder, name_format)
