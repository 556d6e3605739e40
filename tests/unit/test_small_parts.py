"""Small edges: the progress bar, the graph's settings, the outline of template output."""

from __future__ import annotations

import io

import pytest

from syncd.commands.progress import ProgressBar, format_bar
from syncd.core.outline import Block, block_lines, parse_blocks, template_blocks
from syncd.edges.graph_settings import parse_settings


def test_progress_bar_redraws_one_line_and_ends_it() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, columns=lambda: 120, clock=iter([0.0, 10.0, 20.0]).__next__)
    bar.update(1, 4, 3)
    bar.update(4, 4, 9)
    bar.close()
    assert stream.getvalue() == (
        "\r\x1b[K[#######                       ] 1/4 books, 3 highlights, ETA 0:30"
        "\r\x1b[K[##############################] 4/4 books, 9 highlights, ETA 0:00"
        "\r\x1b[K")


@pytest.mark.parametrize("width", [10, 20, 30, 40, 49, 80, 200])
def test_the_bar_never_reaches_the_last_column(width: int) -> None:
    """issue 12, item 4: a line as wide as the terminal wraps; the bar stays a column short."""
    line = format_bar(width, 9999, 10000, 123456, 3725.0)
    assert len(line) <= width - 1
    assert "9999/10000" in line or width < 20


def test_progress_bar_that_never_drew_writes_nothing() -> None:
    stream = io.StringIO()
    ProgressBar(stream).close()
    assert stream.getvalue() == ""


def test_graph_settings_read_the_keys_and_ignore_comments() -> None:
    edn = ('{;; :file/name-format :legacy\n :file/name-format :triple-lowbar\n'
           ' :journal/page-title-format "yyyy-MM-dd" ; "MMM do, yyyy"\n'
           ' :pages-directory "notes;pages"}')
    settings = parse_settings(edn)
    assert (settings.name_format, settings.journal_format, settings.pages_directory) == (
        "triple-lowbar", "yyyy-MM-dd", "notes;pages")


def test_a_config_edn_without_the_name_format_is_legacy_and_none_at_all_is_triple_lowbar() -> None:
    assert parse_settings("{}").name_format == "legacy"
    assert parse_settings(None).name_format == "triple-lowbar"
    assert parse_settings(None).journal_format == "MMM do, yyyy"


def test_template_output_nests_by_indentation_with_or_without_bullets() -> None:
    output = "- top\n\tchild\n\t\tgrandchild\n    - sibling, four spaces as a tab\n\n- next"
    assert [(b.depth, b.text) for b in template_blocks(output)] == [
        (0, "top"), (1, "child"), (2, "grandchild"), (1, "sibling, four spaces as a tab"),
        (0, "next")]


def test_block_lines_escape_continuations_that_would_start_a_block() -> None:
    block = Block(0, "first\n- dash\n# heading\n#tag stays\n\nlast")
    assert block_lines(block, 1) == ["\t- first", "\t  \\- dash", "\t  \\# heading",
                                     "\t  #tag stays", "\t  ", "\t  last"]
    assert block_lines(block, 1, "    ")[1] == "      \\- dash"


def test_parse_blocks_spans_and_headings_end_blocks() -> None:
    lines = ["title:: x", "", "- a", "\t- b", "\t  more b", "- c", "## Heading", "- d"]
    blocks = parse_blocks(lines)
    assert [(b.depth, b.start, b.own_end, b.end) for b in blocks] == [
        (0, 2, 3, 5), (1, 3, 5, 5), (0, 5, 6, 6), (0, 7, 8, 8)]
