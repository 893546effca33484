"""What both trainers (torch and Keras) decide from validation metrics: whether a checkpoint
is the best so far, and when to stop early; its state travels in every checkpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dte_core.errors import DteError


def monitored(val: Mapping[str, float], monitor: str, setting: str) -> float:
    """The value of `monitor` (with or without its `val/` prefix); `setting` names the key."""
    key = monitor if monitor in val else f"val/{monitor}"
    if key not in val:
        raise DteError(f"{setting}='{monitor}' is not a validation metric of this task; it "
                       f"reports: {', '.join(sorted(val))}.")
    return val[key]


class ValidationWatch:
    """Best-checkpoint and early-stopping bookkeeping over a run's validations."""

    def __init__(self, train: Any) -> None:
        self.checkpoint, self.early = train.checkpoint, train.early_stopping
        self.best: float | None = None  # early stopping's best value
        self.bad_validations = 0
        self.best_checkpoint_value: float | None = None

    def best_so_far(self, val: Mapping[str, float] | None) -> bool:
        """Whether `val` beats every earlier validation on train.checkpoint.best_monitor."""
        ck = self.checkpoint
        if not val or ck.best_monitor is None:
            return False
        value = monitored(val, ck.best_monitor, "train.checkpoint.best_monitor")
        previous = self.best_checkpoint_value
        if previous is None or (value < previous if ck.best_mode == "min" else value > previous):
            self.best_checkpoint_value = value
            return True
        return False

    def should_stop(self, val: Mapping[str, float]) -> bool:
        """Early stopping: `patience` validations in a row without a `min_delta` improvement."""
        es = self.early
        if es.monitor is None:
            return False
        value = monitored(val, es.monitor, "train.early_stopping.monitor")
        better = (self.best is None or
                  (value < self.best - es.min_delta if es.mode == "min"
                   else value > self.best + es.min_delta))
        if better:
            self.best, self.bad_validations = value, 0
            return False
        self.bad_validations += 1
        return self.bad_validations >= es.patience

    def checkpoint_due(self, epochs_done: int, val: Mapping[str, float], stop_early: bool,
                       last: bool) -> bool:
        """Whether the end of an epoch writes a checkpoint: every N epochs, before an early
        stop, after a monitored validation (it may be the best), and at the end."""
        every = self.checkpoint.every_epochs
        monitored = bool(val) and self.checkpoint.best_monitor is not None
        return bool(every and epochs_done % every == 0) or stop_early or monitored or last

    def stop_message(self) -> str:
        return (f"early stopping: {self.early.monitor} has not improved for "
                f"{self.bad_validations} validations")

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "bad_validations": self.bad_validations,
                "best_checkpoint_value": self.best_checkpoint_value}

    def load(self, state: Mapping[str, Any]) -> None:
        self.best, self.bad_validations = state.get("best"), state.get("bad_validations", 0)
        self.best_checkpoint_value = state.get("best_checkpoint_value")
