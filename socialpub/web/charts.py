"""The analytics pages' charts, drawn on the server as SVG by pygal: no script
runs in the page (pygal's tooltip script is not linked, and the inline
settings it writes for that script are taken out of the SVG), the picture scales
to a phone's width, and every chart is drawn beside a table of the same
numbers for screen readers (the templates' part)."""
from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.style import Style

from ..networks.insights import METRIC_LABELS

_STYLE = Style(background="transparent", plot_background="transparent", foreground="#1f2933",
               foreground_strong="#1f2933", foreground_subtle="#7b8794", opacity=".9", opacity_hover="1",
               colors=("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2"),
               font_family="system-ui, sans-serif", label_font_size=12, major_label_font_size=12,
               legend_font_size=13, value_font_size=12, title_font_size=14)
#: What every chart shares: no script, no XML prolog (it is inline), sized by the page, not by its attributes.
_CONFIG = dict(style=_STYLE, js=(), disable_xml_declaration=True, explicit_size=False, width=720, height=320,
               margin=8, margin_bottom=24, show_legend=True, legend_at_bottom=True, legend_at_bottom_columns=3,
               no_data_text="No numbers yet", truncate_legend=-1, truncate_label=-1)


def _svg(chart) -> Markup:
    """The chart as inline SVG, without the ``<script>`` of settings pygal writes for its tooltip script."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in [c for c in parent if c.tag == "script"]:
            parent.remove(child)
    return Markup(ElementTree.tostring(tree, encoding="unicode"))


def lines(series: dict, title: str | None = None) -> Markup:
    """A line per series over time (``{label: [(datetime, value), …]}``); an empty series is left out."""
    longest = max((len(points) for points in series.values()), default=0)
    chart = pygal.DateTimeLine(**_CONFIG, title=title, x_label_rotation=0, show_dots=longest < 40,
                               x_value_formatter=lambda t: t.strftime("%d %b %H:%M"))
    for label, points in series.items():
        if points:
            chart.add(label, points)
    return _svg(chart)


def bars(labels: list, series: dict, title: str | None = None) -> Markup:
    """Bars of each series (``{label: [value per label]}``; None: not available) by label."""
    chart = pygal.Bar(**_CONFIG, title=title, x_label_rotation=0 if len(labels) < 6 else 30)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return _svg(chart)


def days(points: list, name: str, title: str | None = None) -> Markup:
    """One line of an account's number by day (``[{"day": "YYYY-MM-DD", name: value}]``)."""
    chart = pygal.DateLine(**{**_CONFIG, "show_legend": False}, title=title, x_label_rotation=0,
                           x_value_formatter=lambda d: d.strftime("%d %b"))
    values = [(dt.date.fromisoformat(p["day"]), p[name]) for p in points if p.get(name) is not None]
    if values:
        chart.add(METRIC_LABELS.get(name, name), values)
    return _svg(chart)
