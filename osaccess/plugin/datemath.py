"""Date-math index names (``<logs-{now/d}>``), resolved as OpenSearch resolves them: ``now``
with optional ``+N``/``-N`` units (y M w d h H m s) and rounding (``/d``), formatted with the
default ``yyyy.MM.dd`` or a format in braces (``{now/M{yyyy-MM}}``), in UTC. The node resolves
them when a request comes (and, for a role's index pattern, on 2.19 and later for every request;
on 2.11 only to indices that exist), so an answer about one holds for the day it is given."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

_EXPRESSION = re.compile(r"\{now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?(?:\{([^}]*)\})?\}")
_STEP = re.compile(r"([+-]\d+)([yMwdhHms])")
_TOKENS = (("yyyy", "%Y"), ("YYYY", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"))


def is_date_math(name: str) -> bool:
    return len(name) > 2 and name.startswith("<") and name.endswith(">") and "{" in name


def resolve(name: str, now: datetime | None = None) -> str | None:
    """The index name ``name`` stands for at ``now`` (None: not an expression osaccess reads)."""
    if not is_date_math(name):
        return name
    moment = now or datetime.now(timezone.utc)
    body = name[1:-1]
    if _EXPRESSION.sub("", body).count("{"):
        return None
    return _EXPRESSION.sub(lambda found: _one(found, moment), body)


def _one(found: re.Match[str], moment: datetime) -> str:
    steps, rounding, pattern = found.group(1), found.group(2), found.group(3)
    for amount, unit in _STEP.findall(steps):
        moment = _add(moment, int(amount), unit)
    if rounding:
        moment = _round(moment, rounding)
    return moment.strftime(_format(pattern or "yyyy.MM.dd"))


def _add(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in "yM":
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=amount * seconds)


def _round(moment: datetime, unit: str) -> datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = moment - timedelta(days=moment.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in "hH":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def _format(pattern: str) -> str:
    for token, code in _TOKENS:
        pattern = pattern.replace(token, code)
    return pattern
