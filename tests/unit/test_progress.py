"""The progress bar of `syncd sync` on a terminal (syncd/commands/progress.py)."""

from __future__ import annotations

import io

import pytest

from syncd.commands.progress import ProgressBar, format_bar


def test_progress_bar_redraws_one_line_and_ends_it() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, columns=lambda: 120, clock=iter([0.0, 10.0, 20.0]).__next__)
    bar.update(1, 4, 3)
    bar.update(4, 4, 9)
    bar.close()
    assert stream.getvalue() == (
        "\r\x1b[K[#######                       ] 1/4 books, 3 highlights, ETA 0:30"
        "\r\x1b[K[##############################] 4/4 books, 9 highlights, ETA 0:00"
        "\r\x1b[K"
    )


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
