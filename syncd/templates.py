"""Readwise-compatible templates: Jinja2 in a sandbox, with Readwise's variables and filters.

The default page format is itself a set of templates (`syncd/templates/<format>/*.j2`), so a custom
template from the config is the same mechanism with other text. A template that does not compile
or fails to render raises `TemplateError` naming the template and the line.

Multi-line values (a highlight's text, a note) are handed to templates with their line breaks
replaced by `LINE_BREAK`, so that every line a template outputs is one block; `syncd.blocks` turns
the marker back into continuation lines as the page format wants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from syncd.dates import django_date
from syncd.errors import TemplateError

SECTIONS = ("page_title", "metadata", "highlight_header", "highlight", "sync_log")
LINE_BREAK = "\x00"  # stands for a line break inside a value; NUL never survives sanitising
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TemplateDate(str):
    """A date as templates see it: prints in the vault's date format, and keeps the moment so
    that `date|date('F j, Y')` can format it anew."""

    moment: datetime

    def __new__(cls, text: str, moment: datetime) -> TemplateDate:
        obj = super().__new__(cls, text)
        obj.moment = moment
        return obj


def _date_filter(value: object, fmt: str = "F j, Y") -> str:
    if isinstance(value, TemplateDate):
        return django_date(value.moment, fmt)
    if isinstance(value, (date, datetime)):
        return django_date(value, fmt)
    if isinstance(value, str) and value:
        return django_date(datetime.fromisoformat(value.replace("Z", "+00:00")), fmt)
    return ""


def _pluralize(value: object, suffix: str = "s") -> str:
    """Django's pluralize: `'s'`, or `'es'`, or `'y,ies'` (singular,plural)."""
    singular, _, plural = suffix.rpartition(",") if "," in suffix else ("", "", suffix)
    try:
        count = len(value) if isinstance(value, (list, tuple, dict)) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return singular if count == 1 else plural


def clean(value: str) -> str:
    """Return text as it may go into a template: line breaks marked, control characters gone."""
    if value.isprintable():  # no line break, no control character: nothing to do (and fast)
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).replace("\n", LINE_BREAK)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=False, keep_trailing_newline=False,
        undefined=jinja2.ChainableUndefined,
    )
    env.filters["date"] = _date_filter
    env.filters["pluralize"] = _pluralize
    return env


def default_sources(page_format: str) -> dict[str, str]:
    """Return the default templates of a page format (`logseq` or `obsidian`), by section."""
    folder = resources.files("syncd") / "templates" / page_format
    return {name: (folder / f"{name}.j2").read_text(encoding="utf-8") for name in SECTIONS}


class Templates:
    """The five compiled templates of a vault: defaults, overridden by the config's."""

    def __init__(self, page_format: str, overrides: Mapping[str, str] | None = None,
                 source: object = None) -> None:
        self.page_format = page_format
        self.source = source  # the config file, named in errors
        self.overrides = dict(overrides or {})
        env = _environment()
        sources = {**default_sources(page_format), **self.overrides}
        self._compiled: dict[str, jinja2.Template] = {}
        for name, text in sources.items():
            try:
                template = env.from_string(text)
                # Jinja keeps a template's globals as a ChainMap and copies it into every
                # render's context; flattened once (they never change), a render costs half.
                template.globals = dict(template.globals)
                self._compiled[name] = template
            except jinja2.TemplateSyntaxError as error:
                raise TemplateError(self.source, f"templates.{name}",
                                    f"line {error.lineno}: {error.message}") from None

    def render(self, section: str, context: Mapping[str, Any]) -> str:
        """Render one section; raise TemplateError naming it and the line that failed."""
        try:
            return self._compiled[section].render(context)
        except jinja2.TemplateError as error:
            line = _failing_line(error)
            where = f"line {line}: " if line else ""
            raise TemplateError(self.source, f"templates.{section}",
                                f"{where}{type(error).__name__}: {error}") from None
        except (TypeError, ValueError, ArithmeticError) as error:
            raise TemplateError(self.source, f"templates.{section}",
                                f"{type(error).__name__}: {error}") from None


def _failing_line(error: Exception) -> int | None:
    tb = error.__traceback__
    line = getattr(error, "lineno", None)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
