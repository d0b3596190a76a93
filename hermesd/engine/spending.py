"""Spending over time, from the session index: ``hermes/usageReport``, ``hermesd usage``, the caps, doctor's row.

Every hermesd process (each daemon, the in-process CLI) writes its turns'
usage into the one session index, so a cap read from it holds across all of
them. Days are local calendar days; a cap counts reported and estimated
costs, and a report names the replies whose cost is unknown.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from hermesd.engine.errors import HermesError
from hermesd.engine.usage import TOTAL_FIELDS, money, totals
from hermesd.protocol import ParamsError, SpendingLimit, UsageReportResult, UsageRow

if TYPE_CHECKING:
    from hermesd.engine.session_index import SessionIndex

DEFAULT_SINCE = "30d"
_SPAN = re.compile(r"(\d{1,5})([dh])")


def since_day(since: str | None, now: float | None = None) -> str:
    """The first day a report covers: ``7d`` (today and the 6 days before), ``24h``, or a date ``2026-12-01``."""
    now = time.time() if now is None else now
    text = (since or DEFAULT_SINCE).strip()
    span = _SPAN.fullmatch(text)
    if span:
        count, unit = int(span.group(1)), span.group(2)
        seconds = max(count - 1, 0) * 86400 if unit == "d" else count * 3600
        return time.strftime("%Y-%m-%d", time.localtime(now - seconds))
    try:
        return time.strftime("%Y-%m-%d", time.strptime(text, "%Y-%m-%d"))
    except ValueError:
        raise ParamsError(f"`since` must be a span such as 7d or 24h, or a date such as 2026-12-01 (got {text!r})") from None


def _period_starts(now: float) -> tuple[str, str]:
    today = time.strftime("%Y-%m-%d", time.localtime(now))
    return today, today[:8] + "01"


def spent(index: "SessionIndex", now: float | None = None) -> tuple[float, float, int]:
    """Today's and this month's costs (reported and estimated), and this month's replies of unknown cost."""
    today, month = _period_starts(time.time() if now is None else now)
    cost, unknown = TOTAL_FIELDS.index("cost_usd"), TOTAL_FIELDS.index("unknown_replies")
    rows = index.usage(since_day=month, by="day")
    return (sum(v[cost] for day, v in rows if day == today), sum(v[cost] for _, v in rows),
            int(sum(v[unknown] for _, v in rows)))


def limits(cfg: Any, today: float, month: float) -> list[SpendingLimit]:
    """The caps config.yaml sets, each with what its period has spent."""
    out = []
    for period, key, spent_usd in (("day", "usage.daily_limit_usd", today), ("month", "usage.monthly_limit_usd", month)):
        limit = cfg.get(key)
        if limit is not None:
            out.append(SpendingLimit(period=period, limit_usd=float(limit), spent_usd=round(spent_usd, 10)))  # type: ignore[arg-type]
    return out


def capped(cfg: Any) -> bool:
    """Whether config.yaml sets a spending cap (without one, a chat never asks the index)."""
    return cfg.get("usage.daily_limit_usd") is not None or cfg.get("usage.monthly_limit_usd") is not None


def refusal(cfg: Any, index: "SessionIndex") -> HermesError | None:
    """The error a chat starting over a cap gets (kind spending_limit, with the fix), or None. Blocking."""
    if not capped(cfg):
        return None
    today, month, unknown = spent(index)
    for cap in limits(cfg, today, month):
        if cap.spent_usd >= cap.limit_usd:
            key = "usage.daily_limit_usd" if cap.period == "day" else "usage.monthly_limit_usd"
            when = "tomorrow" if cap.period == "day" else "next month"
            uncounted = f"; {unknown} repl{'y' if unknown == 1 else 'ies'} of unknown cost not counted" if unknown else ""
            return HermesError(
                "spending_limit",
                f"spending cap reached: {money(cap.spent_usd)} spent this {cap.period} of the {money(cap.limit_usd)} "
                f"{key} allows{uncounted}",
                hint=f"raise it (`hermesd config set {key} {_raised(cap.limit_usd)}`), remove it "
                     f"(`hermesd config set {key} null`), or wait until {when}; `hermesd usage` shows where it went",
            )
    return None


def _raised(limit: float) -> str:
    return f"{max(limit * 2, 1):g}"


def report(index: "SessionIndex", cfg: Any, *, since: str | None = None, by: str | None = None,
           now: float | None = None) -> UsageReportResult:
    """hermes/usageReport: usage per day, provider or model since a day, with today's and this month's spending."""
    now = time.time() if now is None else now
    first, by = since_day(since, now), by or "day"
    rows = index.usage(since_day=first, by=by)
    cost = TOTAL_FIELDS.index("cost_usd")
    rows.sort(key=(lambda r: r[0]) if by == "day" else (lambda r: (r[1][cost], r[0])), reverse=True)
    grand = totals([sum(v[i] for _, v in rows) for i in range(len(TOTAL_FIELDS))])
    today, month, _ = spent(index, now)
    caps = limits(cfg, today, month)
    result = UsageReportResult(since=first, by=by, rows=[UsageRow(key=k or "(none)", totals=totals(v)) for k, v in rows],  # type: ignore[arg-type]
                               total=grand, today_usd=round(today, 10), month_usd=round(month, 10), text="",
                               limits=caps or None)
    result.text = report_text(result)
    return result


def report_text(result: UsageReportResult) -> str:
    """The report as the CLI prints it and editors show it."""
    width = max([len(r.key) for r in result.rows] + [len(result.by)])
    lines = [f"usage since {result.since}, by {result.by}"]
    lines += [f"  {row.key:<{width}}  {row.totals.label}" for row in result.rows] or ["  (no replies)"]
    lines.append(f"  {'total':<{width}}  {result.total.label}")
    lines.append(spending_line(result.today_usd, result.month_usd, result.limits or []))
    return "\n".join(lines)


def spending_line(today: float, month: float, caps: list[SpendingLimit]) -> str:
    """"spent today $0.12, this month $3.40 (cap $5.00 a day)": doctor's row and the report's last line."""
    line = f"spent today {money(today)}, this month {money(month)}"
    if caps:
        line += " (cap " + ", ".join(f"{money(c.limit_usd)} a {c.period}" for c in caps) + ")"
    return line
