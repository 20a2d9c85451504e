"""Cron expressions (crontab(5), five fields) as APScheduler 3 triggers, and a trigger's latest slot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger

from mbert_eval.errors import UserError

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367), timedelta(days=4 * 366 + 1))


def _weekdays(spec: str) -> str:
    """A crontab(5) day-of-week field (0 or 7 = Sunday) as APScheduler 3 day names."""
    if spec == "*":
        return "*"
    days: set[int] = set()
    for item in spec.lower().split(","):
        base, slash, step = item.partition("/")
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            low, high = (_day_number(part) for part in base.split("-", 1))
        else:
            low = _day_number(base)
            high = 7 if slash else low
        if slash and not (step.isdigit() and int(step) > 0):
            raise ValueError(f"bad step '{step}' in day-of-week '{spec}'")
        if high < low:
            raise ValueError(f"day-of-week range '{base}' runs backwards")
        days.update(day % 7 for day in range(low, high + 1, int(step) if slash else 1))
    return ",".join(_DAYS[day] for day in sorted(days))


def _day_number(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token in _DAYS:
        return _DAYS.index(token)
    raise ValueError(f"bad day of week '{token}' (use 0-7 or sun-sat)")


def cron_trigger(expression: str, zone: str | None = None) -> CronTrigger:
    """An APScheduler trigger for a crontab(5) expression, in `zone` (default: local time)."""
    fields = expression.split()
    if len(fields) != 5:
        raise UserError(
            f"bad cron expression '{expression}': expected 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    minute, hour, day, month, day_of_week = fields
    if day != "*" and day_of_week != "*":
        raise UserError(
            f"cron expression '{expression}' restricts both day-of-month and day-of-week; "
            "use two jobs (cron would run on either day, APScheduler only when both match)"
        )
    try:
        trigger = CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(day_of_week), timezone=zone
        )
    except ValueError as err:
        raise UserError(f"bad cron expression '{expression}': {err}") from None
    if trigger.get_next_fire_time(None, datetime.now(timezone.utc)) is None:
        raise UserError(f"cron expression '{expression}' never fires")
    return trigger


def _first_occurrence(fire: datetime) -> datetime:
    """`fire`, or the first occurrence of its wall time where `fire` is the second (the hour that putting the clocks
    back repeats: `fold`, PEP 495): crontab(5) runs a job once at a repeated time."""
    first = fire.replace(fold=0)
    return first if fire.fold and first.utcoffset() != fire.utcoffset() else fire


def next_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The trigger's first time after `now` that is no repeat of an earlier one (None if it never fires again)."""
    fire = trigger.get_next_fire_time(None, now.astimezone() + timedelta(seconds=1))
    while fire is not None and _first_occurrence(fire) is not fire:
        # a second later in UTC: local arithmetic ignores `fold`, and a second past the repeat would be its first
        fire = trigger.get_next_fire_time(fire, fire.astimezone(timezone.utc) + timedelta(seconds=1))
    return fire


def latest_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time at or before `now` that the trigger names, a repeated wall time counted as its first
    occurrence (`_first_occurrence`; None if none in four years)."""
    now = now.astimezone()  # a naive `now` is local time
    for window in _WINDOWS:
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None:
            return None
        if fire > now:
            continue
        while (following := trigger.get_next_fire_time(fire, fire)) is not None and following <= now:
            fire = following
        return _first_occurrence(fire)
    return None
