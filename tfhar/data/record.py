"""The in-memory record every dataset loader returns (numpy only, no TensorFlow)."""

from __future__ import annotations

import dataclasses

import numpy as np

# The fields holding one value per row (sequence), which `subset` selects.
ROW_FIELDS = ("labels", "subjects", "inertial", "skeleton", "trials", "durations", "scenes",
              "sessions")


@dataclasses.dataclass(frozen=True, eq=False)
class Record:
    """A labelled multimodal dataset held in memory.

    inertial: float32 (N, T, C) or None; skeleton: float32 (N, T, J, D) or None;
    labels: int32 (N,) in 0..K-1; subjects: int32 (N,); trials: int32 (N,) or None;
    durations: float32 (N,) seconds each raw (inertial, else skeleton) sequence lasted, or None;
    scenes, sessions: int32 (N,) or None, where the dataset records them (MMAct).
    protocols: evaluation protocols the dataset itself defines (name -> `splits.Protocol`, e.g.
    a folder dataset's `splits:`), beside the built-in ones of `tfhar.data.splits`.
    channel_groups: index tuples of the channels that rotate together (3-axis sensors).
    """

    name: str
    labels: np.ndarray
    subjects: np.ndarray
    class_names: tuple[str, ...]
    inertial: np.ndarray | None = None
    skeleton: np.ndarray | None = None
    trials: np.ndarray | None = None
    durations: np.ndarray | None = None
    inertial_rate_hz: float | None = None
    skeleton_rate_hz: float | None = None
    channel_names: tuple[str, ...] = ()
    channel_units: tuple[str, ...] = ()
    joint_names: tuple[str, ...] = ()
    source: str = ""
    scenes: np.ndarray | None = None
    sessions: np.ndarray | None = None
    protocols: dict = dataclasses.field(default_factory=dict)
    channel_groups: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        n = len(self.labels)
        for field in ROW_FIELDS[1:]:
            value = getattr(self, field)
            if value is not None and len(value) != n:
                raise ValueError(f"Record {self.name!r}: {field} has {len(value)} rows, labels {n}")
        if self.inertial is None and self.skeleton is None:
            raise ValueError(f"Record {self.name!r} has neither inertial nor skeleton data")

    @classmethod
    def from_arrays(cls, name: str, arrays: dict, class_names: tuple[str, ...],
                    **metadata: object) -> Record:
        """A record from a loader's arrays ("labels", "subjects", "trials", "durations" and the
        modalities present) and its metadata (rates, channel and joint names, source)."""
        return cls(
            name=name,
            labels=np.asarray(arrays["labels"], np.int32),
            subjects=np.asarray(arrays["subjects"], np.int32),
            class_names=class_names,
            inertial=arrays.get("inertial"),
            skeleton=arrays.get("skeleton"),
            trials=np.asarray(arrays["trials"], np.int32),
            durations=arrays["durations"],
            **metadata,
        )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in ("inertial", "skeleton") if getattr(self, m) is not None)

    def subset(self, index: np.ndarray) -> Record:
        """Rows selected by a boolean mask or an integer index array."""
        index = np.asarray(index)
        rows = {
            field: (getattr(self, field)[index] if getattr(self, field) is not None else None)
            for field in ROW_FIELDS
        }
        return dataclasses.replace(self, **rows)

    def concat(self, *others: Record) -> Record:
        """The rows of this record then those of `others` (of the same dataset), in order; a
        field missing from any of them is None."""
        rows = {}
        for field in ROW_FIELDS:
            values = [getattr(r, field) for r in (self, *others)]
            rows[field] = None if any(v is None for v in values) else np.concatenate(values)
        return dataclasses.replace(self, **rows)
