"""Response curves as one self-contained SVG (small multiples, no plotting library).

One panel per campaign (largest current spend first): the fitted daily curve (one ``<path>`` per
campaign; dashed when the curve is not trusted), the days it was fitted on (dots, day-of-week
adjusted), the fitted spend range (shaded band), the current spend (hollow circle) and the
proposed spend (filled circle; green up, red down, grey unchanged).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from xml.sax.saxutils import escape

import numpy as np

from pipeline.analytics.budget.allocation import Allocation, CampaignAllocation
from pipeline.analytics.budget.curves import CampaignKey, CurveFit, Goal

_PANEL_W, _PANEL_H = 270, 180
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 44, 12, 34, 26
_HEADER = 40
_UP, _DOWN, _SAME = "#1a7f37", "#cf222e", "#6e7781"
_BINDING_LABELS = {"min": "at min", "max": "at max", "platform_floor": "platform floor", "held": "held"}


def response_curves_svg(
    curves: Mapping[CampaignKey, CurveFit],
    allocation: Allocation | None = None,
    *,
    columns: int = 4,
    max_panels: int = 24,
    title: str | None = None,
) -> str:
    """An SVG document (string) with one panel per campaign, at most ``max_panels`` of them."""
    detail: dict[CampaignKey, CampaignAllocation] = (
        {c.key: c for c in allocation.campaigns} if allocation is not None else {}
    )
    ordered = sorted(curves.values(), key=lambda c: (-c.current_spend, c.key))
    shown = ordered[:max_panels]
    columns = max(1, min(columns, len(shown) or 1))
    rows = math.ceil(len(shown) / columns) if shown else 1
    width = columns * _PANEL_W
    height = _HEADER + rows * _PANEL_H + 16
    goal = shown[0].goal if shown else Goal.VALUE
    unit = "conversion value" if goal is Goal.VALUE else "conversions"
    heading = title or f"Daily response curves: spend \u2192 {unit}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica,Arial,sans-serif" font-size="10">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="18" font-size="13" font-weight="bold">{escape(heading)}</text>',
        '<text x="8" y="33" fill="#57606a">dots: fitted days (weekday-adjusted) \u00b7 band: fitted spend '
        "range \u00b7 hollow: current spend \u00b7 filled: proposed (green up, red down) \u00b7 dashed: curve "
        "not trusted (held)</text>",
    ]
    for index, curve in enumerate(shown):
        x0 = (index % columns) * _PANEL_W
        y0 = _HEADER + (index // columns) * _PANEL_H
        parts.append(_panel(curve, detail.get(curve.key), x0, y0))
    if len(ordered) > len(shown):
        parts.append(
            f'<text x="8" y="{height - 4}" fill="#57606a">{len(ordered) - len(shown)} more campaign(s) '
            "with smaller spend not shown</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def svg_data_uri(svg: str) -> str:
    """``data:image/svg+xml;base64,...`` for embedding in markdown (``![curves](uri)``)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _panel(curve: CurveFit, detail: CampaignAllocation | None, x0: float, y0: float) -> str:
    current = detail.current_daily if detail else curve.current_spend
    proposed = detail.proposed_daily if detail else None
    points = curve.points
    x_candidates = [current, proposed or 0.0, curve.spend_range[1], *(p[0] for p in points)]
    if detail is not None:
        x_candidates.append(detail.max_daily)
    x_max = max(max(x_candidates) * 1.15, 1.0)
    grid = np.linspace(0.0, x_max, 60)
    values = np.asarray(curve.response(grid), dtype=np.float64)
    observed = sorted(p[1] for p in points)
    y_top = max(float(values.max()), observed[int(0.95 * (len(observed) - 1))] if observed else 0.0, 1e-9)
    y_max = y_top * 1.1

    left, top = x0 + _PAD_L, y0 + _PAD_T
    w = _PANEL_W - _PAD_L - _PAD_R
    h = _PANEL_H - _PAD_T - _PAD_B

    def px(v: float) -> float:
        return left + w * min(max(v / x_max, 0.0), 1.0)

    def py(v: float) -> float:
        return top + h * (1.0 - min(max(v / y_max, 0.0), 1.0))

    label = f"{curve.platform} \u00b7 {curve.campaign_name}"
    label = label if len(label) <= 44 else label[:43] + "\u2026"
    trusted = curve.trusted
    ret_label = "ROAS" if curve.goal is Goal.VALUE else "conv/spend"
    if trusted:
        r2 = "-" if curve.r2_holdout is None else f"{curve.r2_holdout:.2f}"
        subtitle = f"{ret_label} {curve.observed_return:.2f} \u00b7 elasticity {curve.elasticity:.2f} \u00b7 holdout R\u00b2 {r2}"
    else:
        subtitle = (
            f"{ret_label} {curve.observed_return:.2f} \u00b7 {curve.status.value.replace('_', ' ')}: held"
        )
    change_label = None
    if detail is not None and detail.change is not None:
        why = _BINDING_LABELS.get(detail.binding.value, "")
        change_label = f"{detail.change:+.0%}" + (f" ({why})" if why else "")

    out = [f'<g class="campaign" data-campaign-id="{escape(curve.campaign_id)}">']
    out.append(
        f"<title>{escape(curve.platform)} {escape(curve.campaign_id)}: {escape(curve.reason or 'ok')}</title>"
    )
    out.append(f'<text x="{x0 + 8}" y="{y0 + 12}" font-weight="bold">{escape(label)}</text>')
    out.append(f'<text x="{x0 + 8}" y="{y0 + 24}" fill="#57606a">{escape(subtitle)}</text>')
    lo, hi = curve.spend_range
    if hi > 0:
        out.append(
            f'<rect x="{px(lo):.1f}" y="{top:.1f}" width="{max(px(hi) - px(lo), 1.0):.1f}" height="{h:.1f}" '
            'fill="#ddf4ff" opacity="0.7"/>'
        )
    # Axes as lines (paths are reserved for curves: one per campaign).
    out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#8c959f"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#8c959f"/>')
    out.append(f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" fill="#57606a">{_short(y_max)}</text>')
    out.append(f'<text x="{left - 4}" y="{top + h}" text-anchor="end" fill="#57606a">0</text>')
    out.append(
        f'<text x="{left + w}" y="{top + h + 14}" text-anchor="end" fill="#57606a">spend {_short(x_max)}</text>'
    )
    if change_label is not None:
        out.append(
            f'<text x="{left + w}" y="{top + 10}" text-anchor="end" fill="#24292f">{escape(change_label)}</text>'
        )
    for spend, value in points:
        out.append(
            f'<circle cx="{px(spend):.1f}" cy="{py(value):.1f}" r="1.4" fill="#8c959f" opacity="0.6"/>'
        )
    d = " ".join(
        f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}"
        for i, (x, y) in enumerate(zip(grid, values, strict=True))
    )
    dash = "" if trusted else ' stroke-dasharray="4 3"'
    out.append(f'<path d="{d}" fill="none" stroke="#0969da" stroke-width="1.8"{dash}/>')
    if current > 0:
        out.append(
            f'<circle cx="{px(current):.1f}" cy="{py(float(curve.response(current))):.1f}" r="4" '
            'fill="#ffffff" stroke="#24292f" stroke-width="1.5"/>'
        )
    if proposed is not None and (proposed > 0 or current > 0):
        color = (
            _SAME
            if abs(proposed - current) <= 0.005 * max(current, 1.0)
            else _UP
            if proposed > current
            else _DOWN
        )
        out.append(
            f'<circle cx="{px(proposed):.1f}" cy="{py(float(curve.response(proposed))):.1f}" r="3.5" fill="{color}"/>'
        )
    out.append("</g>")
    return "\n".join(out)


def _short(value: float) -> str:
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}"


__all__ = ["response_curves_svg", "svg_data_uri"]
