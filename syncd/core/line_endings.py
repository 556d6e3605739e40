"""A page's line endings and byte-order mark, as the user's editor saved them.

syncd plans on a page's text with `\\n` line endings and no byte-order mark (`split`), and
writes its new text back in the page's own form (`join`): a page a Windows editor saved (CRLF,
a UTF-8 BOM) keeps both. A page whose lines end both ways is `MIXED`: it reads as if every line
ended with `\\n`, but it is never written (which ending would a new line get?).
"""

from __future__ import annotations

from dataclasses import dataclass

BOM = "\ufeff"
CRLF = "\r\n"
LF = "\n"


@dataclass(frozen=True)
class Form:
    """How a page's text is laid out in its file: `newline` ("\\n", "\\r\\n", or None when
    both are found: mixed) and whether it opens with a byte-order mark."""

    newline: str | None = LF
    bom: bool = False

    @property
    def mixed(self) -> bool:
        return self.newline is None

    def describe(self) -> str:
        if self.newline is None:
            return "mixed line endings (CRLF and LF)"
        ending = "CRLF" if self.newline == CRLF else "LF"
        return f"{ending} line endings" + (", a byte-order mark" if self.bom else "")


PLAIN = Form()


def form_of(raw: str) -> Form:
    """The form of a page's text as read from its file (decoded, nothing changed yet). A line
    ending in CR LF and another in a lone LF make it mixed; a lone CR is text, not an ending."""
    bom = raw.startswith(BOM)
    crlf = raw.count(CRLF)
    lf = raw.count(LF)
    if crlf and crlf < lf:
        return Form(None, bom)
    return Form(CRLF if crlf else LF, bom)


def split(raw: str) -> tuple[str, Form]:
    """A page's text as syncd plans on it (LF line endings, no byte-order mark), and its form."""
    form = form_of(raw)
    text = raw[len(BOM) :] if form.bom else raw
    if form.newline != LF:
        text = text.replace(CRLF, LF)
    return text, form


def join(text: str, form: Form) -> str:
    """`text` (LF line endings) as the page's file holds it in `form`. Never called for a mixed
    form: such a page is not written."""
    assert form.newline is not None, "a page with mixed line endings is never written"
    if form.newline == CRLF:
        text = text.replace(LF, CRLF)
    return BOM + text if form.bom else text
