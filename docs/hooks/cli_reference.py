"""The CLI reference, generated from the typer app at build time so that it cannot drift from the code.

A mkdocs hook (mkdocs.yml, `hooks:`): `on_page_markdown` replaces the marker line in
docs/reference/cli.md with every command of `nameclf.cli.app` (in the order `nameclf --help` lists
them): its usage, help and epilog, then a table of its arguments and options, each with its help,
default and environment variable, read from the click command typer builds
(`typer.main.get_command`), as `--help` reads them. Hidden parameters are left out, as `--help`
leaves them out. The tables are HTML, escaped here, so that no help text is read as Markdown.
"""

from __future__ import annotations

import enum
import html
import re
from typing import Any

MARKER = "<!-- nameclf-cli-reference -->"
PAGE = "reference/cli.md"
CODE = re.compile(r"`([^`]+)`")


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str | None:
    if page.file.src_uri != PAGE:
        return None
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} has lost its marker line {MARKER}: the CLI reference has nowhere to go")
    return markdown.replace(MARKER, reference())


def reference() -> str:
    import typer

    from nameclf.cli import app

    # typer brings its own copy of click: its contexts are made through the command's context_class
    root = typer.main.get_command(app)
    context = root.context_class(root, info_name="nameclf")
    sections = [command_section(root, context, heading="`nameclf`")]
    for name in root.list_commands(context):
        command = root.get_command(context, name)
        if command is None or command.hidden:
            continue
        sub = command.context_class(command, info_name=name, parent=context)
        sections.append(command_section(command, sub, heading=f"`nameclf {name}`"))
    return "\n\n".join(sections) + "\n"


def command_section(command: Any, context: Any, heading: str) -> str:
    usage = " ".join([context.command_path, *command.collect_usage_pieces(context)])
    parts = [f"## {heading}", f"<p><code>{html.escape(usage)}</code></p>"]
    parts += [paragraph(text) for text in (command.help or "").split("\n\n") if text.strip()]
    params = [param for param in command.get_params(context) if not getattr(param, "hidden", False)]
    arguments = [param for param in params if param.param_type_name == "argument"]
    options = [param for param in params if param.param_type_name == "option"]
    if arguments:
        rows = [[code(param.human_readable_name), plain(getattr(param, "help", None) or "")] for param in arguments]
        parts.append(table(["argument", "what it is"], rows))
    if options:
        rows = [
            [option_names(param, context), plain(param.help or ""), default(param), environment(param)]
            for param in options
        ]
        parts.append(table(["option", "what it does", "default", "environment variable"], rows))
    if command.epilog:
        parts.append(paragraph(command.epilog))
    return "\n\n".join(parts)


def option_names(param: Any, context: Any) -> str:
    names = ", ".join(code(name, "nameclf-option") for name in [*param.opts, *param.secondary_opts])
    if param.is_flag:
        return names
    return f"{names} {code(param.make_metavar(context))}"


def default(param: Any) -> str:
    """The default as `--help` shows it: its own words where the option gives some, else its value."""
    shown = param.show_default
    if isinstance(shown, str):
        return plain(shown)
    value = param.default
    if not shown or value is None or value == () or (param.is_flag and not param.secondary_opts):
        return ""
    if param.is_flag:  # a --this/--that pair: the one in force
        return code(param.opts[0] if value else param.secondary_opts[0])
    if isinstance(value, enum.Enum):
        value = value.value
    return code(str(value))


def environment(param: Any) -> str:
    names = param.envvar if isinstance(param.envvar, (list, tuple)) else [param.envvar] if param.envvar else []
    return ", ".join(code(name) for name in names)


def plain(markup: str) -> str:
    """Help text in typer's rich markup as HTML: the markup's styles dropped, `code` kept as code."""
    from rich.text import Text

    text = html.escape(Text.from_markup(markup).plain)
    return CODE.sub(r"<code>\1</code>", " ".join(text.split()))


def paragraph(markup: str) -> str:
    return f"<p>{plain(markup)}</p>"


def code(text: str, css_class: str | None = None) -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<code{attribute}>{html.escape(text)}</code>"


def table(header: list[str], rows: list[list[str]]) -> str:
    """One HTML table, a row a line and no blank line inside, so that Markdown passes it through whole."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "\n".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
