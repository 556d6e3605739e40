"""syncd/core/templates.py: Readwise-compatible templates in Jinja's sandbox. A template that
does not compile or fails to render is one line naming the config file, the template and the
line; a template cannot reach Python's internals; values keep their line breaks as one block;
front matter values are always valid YAML of their type."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import syncd.core.templates as templates_module
from syncd.core.templates import (
    LINE_BREAK,
    SECTIONS,
    TemplateDate,
    Templates,
    check_frontmatter,
    clean,
    default_sources,
    yaml_value,
)
from syncd.errors import TemplateError

MOMENT = datetime(2023, 3, 17, 17, 5, tzinfo=timezone.utc)


def render(template: str, **context: object) -> str:
    return Templates("logseq", {"highlight": template}, source="config.yaml").render(
        "highlight", context
    )


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
def test_every_section_has_a_default_that_compiles(page_format: str) -> None:
    sources = default_sources(page_format)
    assert set(sources) == set(SECTIONS) and sources["frontmatter"] == ""
    assert all(sources[name].strip() for name in SECTIONS if name != "frontmatter")
    Templates(page_format)


def test_a_template_that_does_not_compile_names_file_template_and_line() -> None:
    with pytest.raises(TemplateError) as caught:
        Templates("logseq", {"metadata": "ok\nstill ok\n{% if %}"}, source="config.yaml")
    message = str(caught.value)
    assert message.startswith("config.yaml: at 'templates.metadata': line 3: ")
    assert "\n" not in message and caught.value.exit_code == 2


def test_a_template_that_fails_to_render_names_template_and_line() -> None:
    with pytest.raises(TemplateError) as caught:
        render("first\n{{ text }}\n{{ text.no_such_method() }}", text="x")
    assert str(caught.value).startswith(
        "config.yaml: at 'templates.highlight': line 3: UndefinedError"
    )


@pytest.mark.parametrize(
    "text", ["{{ 1 // 0 }}", "{{ 'a' - 1 }}", "{{ range(10**9)|list }}", "{{ '%d' % 'x' }}"]
)
def test_any_other_render_failure_is_a_template_error_never_a_traceback(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(f"first line\n{text}")
    assert str(caught.value).startswith("config.yaml: at 'templates.highlight': line 2: ")


@pytest.mark.parametrize(
    "text",
    [
        "{{ text.__class__.__mro__ }}",
        "{{ text.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ '{0.__class__.__mro__}'.format(text) }}",
        "{{ text.__class__.__base__.__subclasses__() }}",
    ],
)
def test_the_sandbox_hides_python_internals(text: str) -> None:
    try:
        out = render(text, text="hello")
    except TemplateError as error:
        assert "SecurityError" in str(error) or "Undefined" in str(error)
        return
    assert "class" not in out and "module" not in out and "function" not in out


def test_a_missing_variable_and_its_attributes_are_empty_not_errors() -> None:
    assert render("[{{ nothing }}|{{ nothing.deeper.still }}]") == "[|]"


def test_readwise_filters_pluralize_and_date() -> None:
    assert render("{{ n }} book{{ n|pluralize }}", n=1) == "1 book"
    assert render("{{ n }} book{{ n|pluralize }}", n=2) == "2 books"
    assert render("{{ xs|pluralize('y,ies') }}", xs=[1]) == "y"
    assert render("{{ xs|pluralize('y,ies') }}", xs=[]) == "ies"
    assert render("{{ n|pluralize }}", n="not a number") == ""
    assert render("{{ d|date('Y-m-d') }}", d="2023-03-17T17:05:00Z") == "2023-03-17"
    assert render("{{ d|date }}", d=date(2023, 3, 17)) == "March 17, 2023"
    shown = TemplateDate("Mar 17th, 2023", MOMENT)
    assert render("{{ d }} / {{ d|date('j F') }}", d=shown) == "Mar 17th, 2023 / 17 March"
    assert render("[{{ d|date }}]", d="") == "[]"


def test_clean_marks_line_breaks_and_drops_control_characters() -> None:
    assert clean("plain") == "plain"
    assert clean("a\r\nb\rc\nd\x00e\x1bf\tg") == f"a{LINE_BREAK}b{LINE_BREAK}c{LINE_BREAK}def\tg"


TEXT = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        TEXT,
        st.lists(TEXT, max_size=4),
        st.integers(),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_yaml_value_is_always_one_yaml_value_of_the_same_type(value: object) -> None:
    parsed = yaml.safe_load(f"key: {yaml_value(value)}\n")
    assert list(parsed) == ["key"]
    if value is None:
        assert parsed["key"] == ""
    elif isinstance(value, (bool, int, float)):
        assert parsed["key"] == value and type(parsed["key"]) is type(value)
    elif isinstance(value, list):
        assert isinstance(parsed["key"], list) and len(parsed["key"]) == len(value)
    else:
        assert isinstance(parsed["key"], str)


def test_yaml_value_of_dates_is_a_yaml_date() -> None:
    assert yaml.safe_load(f"d: {yaml_value(TemplateDate('x', MOMENT))}")["d"] == MOMENT.date()
    assert yaml_value(date(2023, 1, 7)) == "2023-01-07"


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_a_frontmatter_template_stays_valid_yaml_whatever_the_title(title: str) -> None:
    templates = Templates("obsidian", {"frontmatter": "title: {{ title }}\ntags: {{ tags }}\n"})
    out = templates.render("frontmatter", {"title": title, "tags": ["a", title]})
    properties = check_frontmatter(out)
    assert set(properties) == {"title", "tags"} and len(properties["tags"]) == 2


@pytest.mark.parametrize("text", ["- a list", "just text", "a: [", "1: x"])
def test_check_frontmatter_refuses_what_is_not_a_mapping_of_names(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_frontmatter(text)
    assert "\n" not in str(caught.value)


_VALUE = st.text(
    st.sampled_from(["a", " ", "\n", "\t", "\x00", "{", "}", "#", "[", "]", "é", "🧠", "0"])
)


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
@settings(max_examples=300, deadline=None)
@given(
    text=_VALUE,
    location=_VALUE,
    url=_VALUE,
    note=_VALUE,
    tags=st.lists(_VALUE, max_size=3),
)
def test_the_default_highlight_template_s_python_twin_writes_what_it_writes(
    page_format: str, text: str, location: str, url: str, note: str, tags: list[str]
) -> None:
    context = {
        "highlight_text": text,
        "highlight_location": location,
        "highlight_location_url": url,
        "highlight_note": note,
        "highlight_tags": tags,
        "title": "T",
    }
    jinja = templates_module._compiled(
        templates_module.default_sources(page_format)["highlight"], yaml_output=False
    )
    assert Templates(page_format).render("highlight", context) == jinja.render(context)


@pytest.mark.parametrize("page_format", ["logseq", "obsidian"])
@pytest.mark.parametrize("section", ["page_title", "metadata", "highlight_header", "frontmatter"])
@settings(max_examples=150, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {
            name: _VALUE
            for name in (
                "title",
                "full_title",
                "author",
                "category",
                "url",
                "source_url",
                "image_url",
                "document_note",
                "summary",
                "time",
            )
        }
    ),
    tags=st.lists(_VALUE, max_size=3),
    flags=st.tuples(st.booleans(), st.booleans()),
    day=st.dates(),
)
def test_the_default_page_templates_python_twins_write_what_they_write(
    page_format: str,
    section: str,
    values: dict[str, str],
    tags: list[str],
    flags: tuple[bool, bool],
    day: date,
) -> None:
    """Issue 20: a page's title, metadata, header and (no) front matter are rendered in Python
    when their templates are the defaults."""
    moment = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
    context = {
        **values,
        "document_tags": tags,
        "date": TemplateDate(values["time"], moment),
        "is_new_page": flags[0],
        "has_new_highlights": flags[1],
    }
    jinja = templates_module._compiled(
        templates_module.default_sources(page_format)[section], yaml_output=section == "frontmatter"
    )
    assert Templates(page_format)._twins[section] is not None
    assert Templates(page_format).render(section, context) == jinja.render(context)


def test_a_default_highlight_renders_without_a_jinja_context_a_custom_one_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 20: a Jinja render per highlight (its context, lookups, sandbox) was a tenth of a
    first sync; the default template is rendered by its Python twin."""
    import jinja2.environment

    contexts: list[object] = []
    real = jinja2.environment.new_context

    def counted(*args: object, **kwargs: object) -> object:
        contexts.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.environment, "new_context", counted)
    context = {
        "highlight_text": "x",
        "highlight_location": "",
        "highlight_location_url": "",
        "highlight_note": "n",
        "highlight_tags": [],
    }
    assert Templates("obsidian").render("highlight", context) == "- x\n    - Note: n"
    assert contexts == []
    custom = Templates("obsidian", {"highlight": "- {{ highlight_text }}!"})
    assert custom.render("highlight", context) == "- x!"
    assert len(contexts) == 1
