"""`describe(record)`: what a loaded dataset holds, as `tfhar-data summary` prints it."""

from __future__ import annotations

import numpy as np

from tfhar.data.record import Record


def _counts(values: np.ndarray) -> str:
    """'1: 6, 2: 4' for the distinct values and how many rows have each."""
    ids, counts = np.unique(values, return_counts=True)
    return ", ".join(f"{int(i)}: {int(c)}" for i, c in zip(ids, counts, strict=True))


def describe(record: Record) -> str:
    """Lines saying what `record` holds: counts per class, subject, session and modality,
    array shapes, rates, channels (and their sensor groups), joints, durations
    (min/median/max), the protocols the dataset defines and where it came from. A folder
    dataset's source lines give the rates measured from its timestamps against the declared
    ones, and what the loader left out or cleaned."""
    subjects = sorted(int(s) for s in np.unique(record.subjects))
    source, *details = (record.source or "(not recorded)").splitlines()
    lines = [
        f"{record.name}: {len(record)} sequences, {record.num_classes} classes, "
        f"{len(subjects)} subjects {subjects}",
        f"source: {source}",
        *(f"  {line}" for line in details),
    ]
    if record.inertial is not None:
        channels = ", ".join(
            f"{n} ({u})" for n, u in zip(record.channel_names, record.channel_units, strict=False)
        )
        lines.append(
            f"inertial: {record.inertial.shape} {record.inertial.dtype}, raw "
            f"{record.inertial_rate_hz} Hz; channels {channels}"
        )
        if record.channel_groups:
            names = record.channel_names or tuple(str(i) for i in range(record.inertial.shape[2]))
            groups = "; ".join(", ".join(names[i] for i in g) for g in record.channel_groups)
            lines.append(f"  three-axis sensors (rotated together): {groups}")
    if record.skeleton is not None:
        lines.append(
            f"skeleton: {record.skeleton.shape} {record.skeleton.dtype}, raw "
            f"{record.skeleton_rate_hz} Hz; joints {', '.join(record.joint_names)}"
        )
    lines.append("sequences per modality: " + ", ".join(
        f"{m} {len(getattr(record, m))}" for m in record.modalities))
    if record.durations is not None and len(record.durations):
        d = record.durations
        lines.append(f"durations: min {d.min():.2f} s, median {np.median(d):.2f} s, "
                     f"max {d.max():.2f} s")
    lines.append(f"sequences per subject: {_counts(record.subjects)}")
    if record.sessions is not None:
        lines.append(f"sequences per session: {_counts(record.sessions)}")
    for name, protocol in record.protocols.items():
        parts = ", ".join(f"{part} {list(getattr(protocol, part))}"
                          for part in ("train", "val", "test") if getattr(protocol, part))
        lines.append(f"protocol {name!r} (the dataset's own, by {protocol.by}): {parts}")
    counts = np.bincount(record.labels, minlength=record.num_classes)
    lines.append("sequences per class:")
    lines += [
        f"  {i:2d} {name} ({count})"
        for i, (name, count) in enumerate(zip(record.class_names, counts, strict=True))
    ]
    return "\n".join(lines)
