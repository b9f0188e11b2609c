"""The page: Jinja2 templates from the package's ``templates/`` folder, rendered to one string.

Autoescaping is on and undefined variables are errors that name them; figures (inline SVG) and
tables (HTML built by :mod:`._htmltable`) are marked safe where they are made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from valuecompass import __version__
from valuecompass.report._inputs import ReportData
from valuecompass.report._section import FigureAsset

_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedSection:
    id: str
    title: str
    html: Markup


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("valuecompass.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def inline_svg(figure: FigureAsset, svg: str) -> Markup:
    """A matplotlib SVG document as an element to place in HTML, labelled for screen readers.

    Its ids (``axes_1``, clip paths, markers) and the references to them get the figure's id as
    a prefix, so that ids stay unique across the page's figures.
    """
    body = _PROLOG.sub("", svg, count=1)
    prefix = f"{figure.id}-"
    body = body.replace(' id="', f' id="{prefix}').replace("url(#", f"url(#{prefix}")
    body = body.replace('href="#', f'href="#{prefix}')
    label = Markup.escape(f"Figure {figure.number}. {figure.title}")
    body = body.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return Markup(body)


def render_section(
    env: Environment, template: str, context: dict[str, Any], files_dir: str
) -> Markup:
    return Markup(env.get_template(template).render(**context, files_dir=files_dir))


def render_page(
    env: Environment, data: ReportData, sections: Sequence[RenderedSection], files_dir: str
) -> str:
    names = ", ".join(m.name for m in data.models)
    lede = f"People against {names}." if data.people is not None else f"Value profile of {names}."
    if data.centred:
        from valuecompass.stats import CENTRED_NOTE

        lede += " " + CENTRED_NOTE
    return env.get_template("report.html.j2").render(
        title="ValueCompass report",
        lede=lede,
        sections=sections,
        files_dir=files_dir,
        version=__version__,
    )
