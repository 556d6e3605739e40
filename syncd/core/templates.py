"""Readwise-compatible templates: Jinja2 in a sandbox, with Readwise's variables and filters.

The default page format is itself a set of templates (`syncd/templates/<format>/*.j2`), so a custom
template from the config is the same mechanism with other text. A template that does not compile
or fails to render raises `TemplateError` naming the template and the line.

Multi-line values (a highlight's text, a note) are handed to templates with their line breaks
replaced by `LINE_BREAK`, so that every line a template outputs is one block; `syncd.blocks` turns
the marker back into continuation lines as the page format wants.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from syncd.core.django_dates import django_date
from syncd.errors import TemplateError

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

# Jinja2 (and PyYAML here) are imported when a template is first compiled or rendered, not with
# this module: a sync that writes nothing renders nothing (issue 20: a no-op's imports).

SECTIONS = ("page_title", "metadata", "highlight_header", "highlight", "sync_log", "frontmatter")
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


def clean(value: str, *, keep_controls: bool = False) -> str:
    """Return text as it may go into a template: line breaks marked, control characters gone
    (`keep_controls`: kept, but a NUL, as Readwise's export keeps them in a title's lines)."""
    if value.isprintable():  # no line break, no control character: nothing to do (and fast)
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\x00", "") if keep_controls else _CONTROL.sub("", text)
    return text.replace("\n", LINE_BREAK)


def yaml_value(value: object) -> str:
    """Return a template value as one YAML value, whatever it holds, so that `key: {{ x }}` is
    valid YAML of the right type for Obsidian's properties: a date as `2023-01-07` (a date), a
    number as itself, a list as a flow list of strings (`["a", "b: c"]`: a list), any other text
    as a double-quoted string (`": # ' \" ---` and line breaks escaped: text), nothing as `""`."""
    import jinja2

    if isinstance(value, jinja2.Undefined) or value is None:
        return '""'
    if isinstance(value, TemplateDate):
        return value.moment.date().isoformat()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return _yaml_float(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_text(item) for item in value) + "]"
    return _yaml_text(value)


def _yaml_float(value: float) -> str:
    """A float as YAML 1.1 reads a float back: `.inf`, `.nan`, and an exponent only after a
    mantissa with a dot (`5e-324` is text to YAML 1.1, `5.0e-324` a number)."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def _yaml_text(value: object) -> str:
    text = str(value).replace(LINE_BREAK, "\n")
    # JSON's string is YAML's double-quoted scalar; characters YAML may not hold are dropped.
    return json.dumps(_NOT_YAML.sub("", text), ensure_ascii=False)


# What YAML (1.1, as PyYAML and Obsidian read it) does not allow in a document, even escaped
# as JSON leaves it: other non-printable characters, and the byte order mark.
_NOT_YAML = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff\ud800-\udfff]"
)


def check_frontmatter(text: str) -> dict[str, Any]:
    """Return the properties of a rendered front matter; raise ValueError if it is not a YAML
    mapping of property names."""
    import yaml

    try:
        properties = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML ({' '.join(str(error).split())})") from None
    if not isinstance(properties, dict) or not all(isinstance(k, str) for k in properties):
        raise ValueError("not a YAML mapping of property names (`name: value` lines)")
    return properties


def _environment(*, yaml_output: bool = False) -> SandboxedEnvironment:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        autoescape=False,
        keep_trailing_newline=False,
        undefined=jinja2.ChainableUndefined,
        finalize=yaml_value if yaml_output else None,
    )
    env.filters["date"] = _date_filter
    env.filters["pluralize"] = _pluralize
    return env


def default_sources(page_format: str) -> dict[str, str]:
    """Return the default templates of a page format (`logseq` or `obsidian`), by section."""
    folder = resources.files("syncd") / "templates" / page_format
    return {
        name: (folder / f"{name}.j2").read_text(encoding="utf-8") if name != "frontmatter" else ""
        for name in SECTIONS
    }  # no front matter unless asked for


def default_frontmatter() -> str:
    """The front matter `sync.frontmatter: true` writes (Obsidian properties)."""
    return (resources.files("syncd") / "templates" / "obsidian" / "frontmatter.j2").read_text(
        encoding="utf-8"
    )


class Templates:
    """The compiled templates of a vault: defaults, overridden by the config's. In `frontmatter`
    every `{{ value }}` is written as a YAML value (`yaml_value`), so the YAML stays valid.

    The config's templates are compiled at once (one that does not compile is an error of the
    config); the defaults when first rendered."""

    def __init__(
        self, page_format: str, overrides: Mapping[str, str] | None = None, source: object = None
    ) -> None:
        self.page_format = page_format
        self.source = source  # the config file, named in errors
        self.overrides = dict(overrides or {})
        self._sources: dict[str, str] | None = None  # the defaults and overrides, once read
        # The default templates of a page (highlight, title, metadata, header, front matter),
        # rendered by their Python twins (`_DEFAULT_TWINS`): a Jinja render (a context, its
        # lookups, a sandbox) per highlight was a tenth of a first sync, and four a book a
        # tenth of what was left of rendering. Tests hold each twin to its template's output.
        self._twins = {
            name: twin
            for name, twin in _DEFAULT_TWINS[page_format].items()
            if name not in self.overrides
        }
        self._compiled: dict[str, jinja2.Template] = {}
        for name in self.overrides:
            self._template(name)

    @property
    def default_highlight(self) -> bool:
        """Whether highlights are rendered by the default template (its Python twin): its
        variables are the highlight's alone, and its output is known."""
        return "highlight" in self._twins

    def _template(self, name: str) -> jinja2.Template:
        """The section's template, compiled at its first use. Raise TemplateError if it does
        not compile, KeyError if there is no such section."""
        compiled = self._compiled.get(name)
        if compiled is not None:
            return compiled
        import jinja2

        if self._sources is None:
            self._sources = {**default_sources(self.page_format), **self.overrides}
        text = self._sources[name]
        try:
            compiled = _compiled(text, yaml_output=name == "frontmatter")
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(
                self.source, f"templates.{name}", f"line {error.lineno}: {error.message}"
            ) from None
        self._compiled[name] = compiled
        return compiled

    def render(self, section: str, context: Mapping[str, Any]) -> str:
        """Render one section; raise TemplateError naming it and the line that failed."""
        twin = self._twins.get(section)
        if twin is not None:
            return twin(context)
        template = self._template(section)
        import jinja2

        try:
            return template.render(context)
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as error:
            line = _failing_line(error)
            where = f"line {line}: " if line else ""
            raise TemplateError(
                self.source, f"templates.{section}", f"{where}{type(error).__name__}: {error}"
            ) from None


def _logseq_highlight(context: Mapping[str, Any]) -> str:
    """syncd/templates/logseq/highlight.j2, in Python."""
    out = "- " + str(context["highlight_text"]) + location_text(context) + "\n"
    tags = context["highlight_tags"]
    if tags:
        out += "\n\t- **Tags**: " + "".join(f"#[[{tag}]] " for tag in tags) + "\n"
    out += "\n"
    note = context["highlight_note"]
    if note:
        out += "\n\t- **Note**: " + str(note) + "\n"
    return out


def _obsidian_highlight(context: Mapping[str, Any]) -> str:
    """syncd/templates/obsidian/highlight.j2, in Python."""
    out = "- " + str(context["highlight_text"]) + location_text(context)
    tags = context["highlight_tags"]
    if tags:
        out += "\n    - Tags: " + "".join(f"[[{tag}]] " for tag in tags)
    note = context["highlight_note"]
    if note:
        out += "\n    - Note: " + str(note)
    return out


def location_text(context: Mapping[str, Any]) -> str:
    """` ([label](link))`, ` (label)` or "": a highlight's place, as the default highlight
    templates write it after its text."""
    location, url = context["highlight_location"], context["highlight_location_url"]
    if location and url:
        return f" ([{location}]({url}))"
    return f" ({location})" if location else ""


def _logseq_page_title(context: Mapping[str, Any]) -> str:
    """syncd/templates/logseq/page_title.j2, in Python."""
    return str(context["title"]) + " (highlights)"


def _obsidian_page_title(context: Mapping[str, Any]) -> str:
    """syncd/templates/obsidian/page_title.j2, in Python."""
    return "# " + str(context["title"])


def _logseq_highlight_header(context: Mapping[str, Any]) -> str:
    """syncd/templates/logseq/highlight_header.j2, in Python."""
    if context["is_new_page"]:
        return f"- Highlights first synced by [[Readwise]] [[{context['date']}]]\n"
    if context["has_new_highlights"]:
        return f"- New highlights added [[{context['date']}]] at {context['time']}\n"
    return ""


def _obsidian_highlight_header(context: Mapping[str, Any]) -> str:
    """syncd/templates/obsidian/highlight_header.j2, in Python."""
    if context["is_new_page"]:
        return "\n## Highlights\n"
    if context["has_new_highlights"]:
        day = _date_filter(context["date"], "F j, Y")
        return f"## New highlights added {day} at {context['time']}\n"
    return ""


def _logseq_metadata(context: Mapping[str, Any]) -> str:
    """syncd/templates/logseq/metadata.j2, in Python."""
    url, note, summary, tags = (
        context["url"],
        context["document_note"],
        context["summary"],
        context["document_tags"],
    )
    return (
        f"author:: [[{context['author']}]]\n"
        f'full-title:: "{context["full_title"]}"\n'
        f"category:: #{context['category']}\n"
        + (f"url:: {url}" if url else "")
        + "\n"
        + (f"document_note:: {str(note).replace(chr(10), ' ')}" if note else "")
        + "\n"
        + (f"summary:: {str(summary).replace(chr(10), ' ')}" if summary else "")
        + "\n"
        + ("tags:: " + "".join([f"#[[{tag}]] " for tag in tags]) if tags else "")
    )


def _obsidian_metadata(context: Mapping[str, Any]) -> str:
    """syncd/templates/obsidian/metadata.j2, in Python."""
    image_url, author, note, tags, summary, url = (
        context["image_url"],
        context["author"],
        context["document_note"],
        context["document_tags"],
        context["summary"],
        context["url"],
    )
    return (
        (f"![rw-book-cover]({image_url})\n\n" if image_url else "")
        + "## Metadata\n- Author: "
        + (f"[[{author}]]" if author else "")
        + f"\n- Full Title: {context['full_title']}\n- Category: #{context['category']}\n"
        + (f"- Document Note: {note}\n" if note else "")
        + ("- Document Tags: " + "".join([f"[[{tag}]] " for tag in tags]) + "\n" if tags else "")
        + (f"- Summary: {summary}\n" if summary else "")
        + (f"- URL: {url}\n" if url else "")
    )


def _no_frontmatter(context: Mapping[str, Any]) -> str:
    """The default `frontmatter` template: none (see `default_sources`)."""
    return ""


_DEFAULT_TWINS: dict[str, dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "logseq": {
        "highlight": _logseq_highlight,
        "page_title": _logseq_page_title,
        "highlight_header": _logseq_highlight_header,
        "metadata": _logseq_metadata,
        "frontmatter": _no_frontmatter,
    },
    "obsidian": {
        "highlight": _obsidian_highlight,
        "page_title": _obsidian_page_title,
        "highlight_header": _obsidian_highlight_header,
        "metadata": _obsidian_metadata,
        "frontmatter": _no_frontmatter,
    },
}


@functools.lru_cache(maxsize=256)
def _compiled(text: str, *, yaml_output: bool) -> jinja2.Template:
    """A template's text compiled, once per process (a daemon builds its templates for every
    sync; compiling them was a fifth of a small sync's time). Raise TemplateSyntaxError."""
    template = _environment(yaml_output=yaml_output).from_string(text)
    # Jinja keeps a template's globals as a ChainMap and copies it into every render's
    # context; flattened once (they never change), a render costs half.
    template.globals = dict(template.globals)
    return template


def _failing_line(error: Exception) -> int | None:
    tb = error.__traceback__
    line = getattr(error, "lineno", None)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
