"""One self-contained HTML page: headings with tables, figures (inline PNG), key/value lists, text.

`write_html(path, title=..., sections=[(heading, content), ...])` is what `simulate`, `sweep` and
`recommend` call for their `--html` reports. The page references no external URL: styles are
inline and figures are embedded as base64 PNG, so it can be mailed or attached to a ticket.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["flatten_mapping", "render_content", "write_html"]

MAX_TABLE_ROWS = 500

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #4c72b0; padding-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; color: #333; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f5f9; border-bottom: 2px solid #bbb; }
td:first-child, th:first-child { text-align: left; }
table.kv td:first-child { font-family: ui-monospace, Menlo, Consolas, monospace; color: #444; }
table.kv td { text-align: left; }
tr:hover td { background: #fafbfd; }
img { max-width: 100%; height: auto; margin: .5em 0; }
p.note { color: #666; font-size: .85em; }
footer { margin-top: 3em; color: #888; font-size: .8em; }
"""


def flatten_mapping(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys: {"a": {"b": 1}} -> {"a.b": 1}; lists of mappings indexed."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_mapping(value, name))
        elif (
            isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value)
        ):
            # Phases and the like: "traffic.pattern.1.rps", the path with_overrides takes.
            flat.update(flatten_mapping({str(i): v for i, v in enumerate(value)}, name))
        else:
            flat[name] = value
    return flat


def _format_value(value: Any) -> str:
    """A short text form of a scalar, list or array for a key/value table."""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return f"array of {value.size}" if value.size > 20 else str(value.tolist())
    if isinstance(value, list | tuple) and len(value) > 20:
        return f"{len(value)} values: {', '.join(map(str, value[:10]))}, …"
    return str(value)


def _format_float(value: float) -> str:
    """Table floats: four significant digits, whole numbers with separators from 1,000 up."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _figure_png_base64(obj: Any) -> str:
    """The PNG bytes of a Figure, Axes or array of Axes, base64-encoded."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(obj, np.ndarray):
        obj = obj.ravel()[0]
    fig = obj.figure if isinstance(obj, Axes) else obj
    if not isinstance(fig, Figure):
        raise TypeError(f"not a matplotlib figure: {type(obj).__name__}")
    buf = io.BytesIO()
    # Strip metadata: the default "Software" entry holds a URL, and the page promises none.
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _is_figure(obj: Any) -> bool:
    """True for a matplotlib Figure, an Axes or a numpy array of Axes."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(obj, np.ndarray):
        return obj.size > 0 and isinstance(obj.ravel()[0], Axes)
    return isinstance(obj, Figure | Axes)


def _frame_html(df: pd.DataFrame) -> str:
    """A DataFrame as an HTML table (escaped), cut at MAX_TABLE_ROWS with a note."""
    note = ""
    if len(df) > MAX_TABLE_ROWS:
        note = f'<p class="note">First {MAX_TABLE_ROWS} of {len(df):,} rows.</p>'
        df = df.head(MAX_TABLE_ROWS)
    show_index = not isinstance(df.index, pd.RangeIndex)
    table: str = df.to_html(
        index=show_index, border=0, escape=True, na_rep="n/a", float_format=_format_float
    )
    return table + note


def render_content(content: Any) -> str:
    """HTML for one section's content: DataFrame, Figure/Axes, mapping, string, or a list."""
    if isinstance(content, pd.DataFrame):
        return _frame_html(content)
    if isinstance(content, pd.Series):
        return _frame_html(content.to_frame())
    if _is_figure(content):
        data = _figure_png_base64(content)
        return f'<img alt="figure" src="data:image/png;base64,{data}">'
    if isinstance(content, Mapping):
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_format_value(v))}</td></tr>"
            for k, v in flatten_mapping(content).items()
        )
        return f'<table class="kv"><tbody>{rows}</tbody></table>'
    if isinstance(content, str):
        paragraphs = [p for p in content.split("\n\n") if p.strip()]
        return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    if isinstance(content, Iterable):
        return "\n".join(render_content(item) for item in content)
    raise TypeError(f"cannot render section content of type {type(content).__name__}")


def write_html(
    path: str | Path,
    *,
    title: str,
    sections: Sequence[tuple[str, Any]],
) -> Path:
    """Write one self-contained HTML page and return its path.

    Args:
        path: the file to write (parent folders are created).
        title: the page title and top heading.
        sections: (heading, content) pairs. Content is a DataFrame (table), a matplotlib
            Figure / Axes / array of Axes (inline PNG), a mapping (key/value table, nested
            keys dotted), a string (paragraphs, escaped; blank lines split them) or a list
            of these.

    Returns:
        The path written.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, content in sections:
        parts.append(f"<section><h2>{html.escape(heading)}</h2>")
        parts.append(render_content(content))
        parts.append("</section>")
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts.append(f"<footer>Generated by planner on {html.escape(stamp)}.</footer>")
    parts.append("</body></html>")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
