"""An SVG bar chart of run-time ratios to native: one group of bars per
program (and one for the geometric means), one bar per runner, a line at
1.0. Written by hand, no plotting library needed."""

from xml.sax.saxutils import escape

COLORS = ["#4c72b0", "#55a868", "#2e7d32", "#8172b2", "#64b5cd", "#c44e52", "#dd8452", "#937860", "#da8bc3",
          "#8c8c8c", "#ccb974"]


def svg_chart(ratio, means, programs, runner_names, title):
    runners = [r for r in runner_names if r != "native"]
    groups = [(p, {r: ratio.get((p, r)) for r in runners}) for p in programs]
    groups.append(("geomean", {r: means.get(r) for r in runners}))
    bar, gap, left, top, width = 9, 10, 120, 60, 560
    group_h = bar * len(runners) + gap
    height = top + group_h * len(groups) + 40
    values = [v for _, g in groups for v in g.values() if v is not None]
    vmax = max([1.0, *values]) * 1.08
    x = lambda v: left + width * v / vmax  # noqa: E731

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 180}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14">{escape(title)}</text>',
           f'<text x="{left}" y="38" fill="#555">run time / native run time (lower is better; median of runs)</text>']
    # grid
    step = 0.5 if vmax <= 4 else 1.0 if vmax <= 8 else 2.0
    v = 0.0
    while v <= vmax:
        out.append(f'<line x1="{x(v):.1f}" y1="{top - 5}" x2="{x(v):.1f}" y2="{height - 35}" stroke="#eee"/>')
        out.append(f'<text x="{x(v):.1f}" y="{height - 22}" text-anchor="middle" fill="#555">{v:g}</text>')
        v += step
    for gi, (name, vals) in enumerate(groups):
        y0 = top + gi * group_h
        weight = ' font-weight="bold"' if name == "geomean" else ""
        out.append(f'<text x="{left - 6}" y="{y0 + group_h / 2:.1f}" text-anchor="end"{weight}>{escape(name)}</text>')
        for ri, r in enumerate(runners):
            val = vals.get(r)
            y = y0 + ri * bar
            if val is None:
                out.append(f'<text x="{left + 3}" y="{y + bar - 1}" fill="#c00" font-size="8">no result</text>')
                continue
            out.append(f'<rect x="{left}" y="{y}" width="{x(val) - left:.1f}" height="{bar - 1}" '
                       f'fill="{COLORS[ri % len(COLORS)]}"><title>{escape(name)} {escape(r)}: {val:.2f}x</title></rect>')
            if name == "geomean":
                out.append(f'<text x="{x(val) + 3:.1f}" y="{y + bar - 1}" font-size="8">{val:.2f}</text>')
    out.append(f'<line x1="{x(1.0):.1f}" y1="{top - 5}" x2="{x(1.0):.1f}" y2="{height - 35}" stroke="black" '
               f'stroke-dasharray="4 3"/>')
    for ri, r in enumerate(runners):
        ly = top + ri * 16
        out.append(f'<rect x="{left + width + 20}" y="{ly}" width="12" height="10" fill="{COLORS[ri % len(COLORS)]}"/>')
        out.append(f'<text x="{left + width + 36}" y="{ly + 9}">{escape(r)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
