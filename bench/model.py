"""What a benchmark row is: one measurement taken on Artifortress and on each peer."""

from __future__ import annotations

import dataclasses

SUBJECT = "Artifortress"
SUBJECT_PG = "Artifortress (PostgreSQL)"
#: The same installation behind nginx with ARTIFORTRESS_ACCEL_REDIRECT (deploy/nginx.conf).
SUBJECT_ACCEL = "Artifortress + nginx"
SUBJECTS = (SUBJECT, SUBJECT_PG, SUBJECT_ACCEL)
#: gunicorn + Falcon sending the same bytes from memory: a reference, not a competitor.
FLOOR = "Falcon floor"


@dataclasses.dataclass
class Figure:
    """One target's result in one row; latencies in milliseconds when the row has them."""

    value: float | None  # None: not measurable on this target (say why in note)
    p50: float | None = None
    p99: float | None = None
    note: str = ""


@dataclasses.dataclass
class Row:
    """One line of the report: the same measurement on every target that supports it."""

    key: str  # what BENCH_ROWS selects
    title: str
    unit: str
    higher_is_better: bool
    figures: dict[str, Figure] = dataclasses.field(default_factory=dict)
    ceiling: str | None = None  # the target that is a ceiling, not a competitor (nginx, sha256)
    bound: str = ""  # what limits the row, for the notes

    def ratio(self, target: str, subject: str = SUBJECT) -> float | None:
        """Artifortress's figure divided by *target*'s, when both were measured."""
        mine, theirs = self.figures.get(subject), self.figures.get(target)
        if mine is None or theirs is None or not mine.value or not theirs.value:
            return None
        return mine.value / theirs.value

    def wins(self, target: str, subject: str = SUBJECT) -> bool | None:
        """Whether Artifortress is better than *target* on this row."""
        ratio = self.ratio(target, subject)
        if ratio is None:
            return None
        return ratio > 1 if self.higher_is_better else ratio < 1

    def peers(self) -> list[str]:
        """The competitors measured on this row (not Artifortress, not the ceiling)."""
        return [
            name
            for name in self.figures
            if name not in (*SUBJECTS, FLOOR, self.ceiling) and self.figures[name].value
        ]
