"""A small document model, rendered to Markdown and to one self-contained HTML page from the same blocks.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Alert`, :class:`Table`,
:class:`Image`, :class:`Gallery`, :class:`CodeBlock`, :class:`Bullets`) whose text is *inline*: a
string, :class:`Code`, :class:`Strong`, or a list of those. :func:`to_markdown` and :func:`to_html`
render the same blocks; the HTML embeds every image as a base64 data URI and has its CSS inline,
so it is one file with no external resource. The numbers' text (percentages, intervals,
plurals) is written by the helpers at the end, so every table and caption says them alike.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, Union

__all__ = ["Code", "Strong", "Inline", "Heading", "Paragraph", "Alert", "Table", "Image", "Gallery", "CodeBlock",
           "Bullets", "to_markdown", "to_html", "pct", "paper_pct", "plural", "mean_std", "interval"]


@dataclass
class Code:
    """Inline code: a command, a path, a key."""

    text: str


@dataclass
class Strong:
    """Inline bold text."""

    text: str


Inline = Union[str, Code, Strong, list]


@dataclass
class Heading:
    level: int
    text: Inline


@dataclass
class Paragraph:
    text: Inline


@dataclass
class Alert:
    """A paragraph shown as a warning, before anything it qualifies."""

    text: Inline


@dataclass
class Table:
    header: list[Inline]
    rows: list[list[Inline]]
    numeric: set[int] = field(default_factory=set)  # columns aligned right


@dataclass
class Image:
    path: str  # relative to the report's folder, forward slashes
    caption: str


@dataclass
class Gallery:
    """Figures shown side by side in HTML (one after the other in Markdown)."""

    images: list[Image]


@dataclass
class CodeBlock:
    text: str


@dataclass
class Bullets:
    items: list[Inline]


def _inline(text: Inline, code: Callable[[str], str], strong: Callable[[str], str], plain: Callable[[str], str]) -> str:
    """Inline text in one output format: ``code``, ``strong`` and ``plain`` render each kind of run."""
    if isinstance(text, list):
        return "".join(_inline(part, code, strong, plain) for part in text)
    if isinstance(text, Code):
        return code(text.text)
    if isinstance(text, Strong):
        return strong(text.text)
    return plain(text)


def _md_inline(text: Inline) -> str:
    return _inline(text, lambda t: f"`{t}`", lambda t: f"**{t}**", lambda t: t)


def to_markdown(blocks: list) -> str:
    """The blocks as Markdown; images are linked by their path relative to the report."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + _md_inline(block.text), ""]
        elif isinstance(block, Paragraph):
            lines += [_md_inline(block.text), ""]
        elif isinstance(block, Alert):
            lines += ["> **WARNING** " + _md_inline(block.text), ""]
        elif isinstance(block, Table):
            def cells(values):
                return "| " + " | ".join(_md_inline(v).replace("|", "\\|") for v in values) + " |"
            rule = ["---:" if i in block.numeric else "---" for i in range(len(block.header))]
            lines += [cells(block.header), "| " + " | ".join(rule) + " |"] + [cells(r) for r in block.rows] + [""]
        elif isinstance(block, (Image, Gallery)):
            for image in block.images if isinstance(block, Gallery) else [block]:
                lines += [f"![{image.caption}]({image.path})", "", f"*{image.caption}*", ""]
        elif isinstance(block, CodeBlock):
            lines += ["```sh", block.text, "```", ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md_inline(item)}" for item in block.items] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _html_inline(text: Inline) -> str:
    return _inline(text, lambda t: f"<code>{html.escape(t)}</code>", lambda t: f"<strong>{html.escape(t)}</strong>",
                   html.escape)


_CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1f; margin: 0;
       background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.6em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
.warning { background: #fff4d6; border-left: 5px solid #d98e04; padding: 10px 14px; margin: 12px 0 18px;
           font-weight: 600; }
.table-wrap { overflow-x: auto; margin: 10px 0 16px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d8d8d8; padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td { min-width: 3.5em; }
code { font: 12.5px/1.4 Menlo, Consolas, monospace; background: #f2f4f7; padding: 1px 4px; border-radius: 3px; }
pre { background: #f2f4f7; padding: 10px 14px; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 8px 20px; }
"""


def _html_figure(image: Image, root: Path) -> str:
    data = base64.b64encode((root / image.path).read_bytes()).decode("ascii")
    caption = html.escape(image.caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>")


def to_html(blocks: list, title: str, root: Path) -> str:
    """The report as one HTML file; images are read from ``root`` and embedded as data URIs."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_html_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{_html_inline(block.text)}</p>")
        elif isinstance(block, Alert):
            body.append(f'<p class="warning">WARNING: {_html_inline(block.text)}</p>')
        elif isinstance(block, Table):
            def row(tag, values):
                return "<tr>" + "".join(
                    f'<{tag}{" class=num" if i in block.numeric else ""}>{_html_inline(v)}</{tag}>'
                    for i, v in enumerate(values)) + "</tr>"
            body.append('<div class="table-wrap"><table><thead>' + row("th", block.header) + "</thead><tbody>"
                        + "".join(row("td", r) for r in block.rows) + "</tbody></table></div>")
        elif isinstance(block, Image):
            body.append(_html_figure(block, root))
        elif isinstance(block, Gallery):
            body.append('<div class="gallery">' + "".join(_html_figure(image, root) for image in block.images)
                        + "</div>")
        elif isinstance(block, CodeBlock):
            body.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_html_inline(item)}</li>" for item in block.items) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# ----------------------------------------------------------------------------------------------
# Numbers as the report shows them
# ----------------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def paper_pct(value: float | None) -> str:
    """A paper's number with the decimals it was given (61.28 %), at least one (85.0 %)."""
    if value is None:
        return "–"
    text = f"{100 * value:.2f}"
    return (text[:-1] if text.endswith("0") else text) + " %"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def mean_std(summary: dict | None) -> str:
    if not summary:
        return "–"
    spread = summary.get("std") is not None and len(summary["runs"]) > 1
    return pct(summary["mean"]) + (f" ± {100 * summary['std']:.1f}" if spread else "")


def interval(values: Sequence[float] | None) -> str:
    return "–" if not values else f"{100 * values[0]:.1f}–{100 * values[1]:.1f} %"
