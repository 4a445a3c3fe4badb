"""BVH (Biovision hierarchy) motion capture -> joint positions by forward kinematics.

A BVH file has a HIERARCHY (ROOT / JOINT / End Site blocks with an OFFSET from the parent and
the CHANNELS each joint animates) and a MOTION section (`Frames:`, `Frame Time:`, then one row
of channel values per frame, in the order the channels were declared, depth first).

Forward kinematics as BVH defines it: a joint's local rotation is the product of its rotation
channels (Euler angles in degrees) in the order they are listed, so `Zrotation Xrotation
Yrotation` gives R = Rz @ Rx @ Ry acting on column vectors; its local translation is its OFFSET
plus its position channels (BVH moves the root that way; other joints rarely have them). Then
world position = parent world rotation @ local translation + parent world position, and world
rotation = parent world rotation @ local rotation.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from tfhar.data.errors import DataError

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_MOTION = re.compile(r"^\s*MOTION\s*$", re.MULTILINE)


@dataclasses.dataclass(frozen=True, eq=False)
class Motion:
    """A parsed BVH file. Nodes are the ROOT, JOINTs and End Sites in file (depth-first) order.

    names: node names (an End Site is named after its parent + "_end"); parents: index of each
    node's parent, -1 for the root; offsets: float64 (N, 3); channels: each node's channel names
    (none for an End Site); frames: float64 (T, total channels); frame_time: seconds per frame.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    is_end_site: tuple[bool, ...]
    frames: np.ndarray
    frame_time: float

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The ROOT and JOINT names, without End Sites."""
        return tuple(n for n, end in zip(self.names, self.is_end_site, strict=True) if not end)


class _Tokens:
    """Whitespace tokens of the HIERARCHY with a cursor and errors that name the file."""

    def __init__(self, text: str, source: str):
        self.items, self.position, self.source = text.split(), 0, source

    def next(self, what: str) -> str:
        if self.position >= len(self.items):
            raise DataError(f"{self.source}: BVH ends early, expected {what}")
        self.position += 1
        return self.items[self.position - 1]

    def expect(self, word: str) -> None:
        found = self.next(repr(word))
        if found != word:
            raise DataError(f"{self.source}: BVH expected {word!r}, found {found!r}")

    def number(self, what: str) -> float:
        word = self.next(what)
        try:
            value = float(word)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            raise DataError(f"{self.source}: BVH {what} {word!r} is not a finite number")
        return value


def parse_bvh(text: str, source: str = "<bvh>") -> Motion:
    """Parse BVH text; `source` names it in errors (DataError for anything malformed)."""
    split = _MOTION.search(text)
    if not split:
        raise DataError(f"{source}: not a BVH file (no MOTION line)")
    head, motion = text[: split.start()], text[split.end() :]
    tokens = _Tokens(head, source)
    tokens.expect("HIERARCHY")
    tokens.expect("ROOT")
    nodes: list[tuple[str, int, list[float], tuple[str, ...], bool]] = []
    _parse_node(tokens, nodes, tokens.next("the root's name"), -1, end_site=False)
    if tokens.position != len(tokens.items):
        raise DataError(
            f"{source}: BVH has {tokens.items[tokens.position]!r} after the root's closing "
            "brace (only one ROOT is supported)"
        )
    frames, frame_time = _parse_motion(motion, source, sum(len(n[3]) for n in nodes))
    return Motion(
        names=tuple(n[0] for n in nodes),
        parents=tuple(n[1] for n in nodes),
        offsets=np.array([n[2] for n in nodes], dtype=np.float64).reshape(-1, 3),
        channels=tuple(n[3] for n in nodes),
        is_end_site=tuple(n[4] for n in nodes),
        frames=frames,
        frame_time=frame_time,
    )


def _parse_node(tokens: _Tokens, nodes: list, name: str, parent: int, end_site: bool) -> None:
    """One ROOT / JOINT / End Site block, appended depth first with its children."""
    index = len(nodes)
    tokens.expect("{")
    tokens.expect("OFFSET")
    offset = [tokens.number(f"OFFSET of {name}") for _ in range(3)]
    channels: tuple[str, ...] = ()
    if not end_site:
        tokens.expect("CHANNELS")
        count = tokens.number(f"channel count of {name}")
        if not count.is_integer() or not 0 <= count <= 6:
            raise DataError(f"{tokens.source}: BVH joint {name} declares {count} channels (0..6)")
        channels = tuple(tokens.next(f"a channel of {name}") for _ in range(int(count)))
        for channel in channels:
            if channel not in POSITION_CHANNELS + ROTATION_CHANNELS:
                raise DataError(
                    f"{tokens.source}: BVH joint {name} has channel {channel!r}; expected "
                    f"{', '.join(POSITION_CHANNELS + ROTATION_CHANNELS)}"
                )
    nodes.append((name, parent, offset, channels, end_site))
    while True:
        word = tokens.next(f"JOINT, End Site or '}}' in {name}")
        if word == "}":
            return
        if end_site:
            raise DataError(f"{tokens.source}: BVH End Site of {nodes[parent][0]} has {word!r}")
        if word == "JOINT":
            _parse_node(tokens, nodes, tokens.next("a joint name"), index, end_site=False)
        elif word == "End":
            tokens.expect("Site")
            _parse_node(tokens, nodes, f"{name}_end", index, end_site=True)
        else:
            raise DataError(
                f"{tokens.source}: BVH expected JOINT, End Site or '}}' in {name}, found {word!r}"
            )


def _parse_motion(text: str, source: str, num_channels: int) -> tuple[np.ndarray, float]:
    """(frames (T, num_channels), frame time) from the text after MOTION."""
    words = text.split(None, 5)  # Frames: T Frame Time: dt <values>
    if len(words) < 5 or words[0] != "Frames:" or words[2:4] != ["Frame", "Time:"]:
        raise DataError(f"{source}: BVH MOTION must start 'Frames: N' then 'Frame Time: seconds'")
    try:
        num_frames, frame_time = int(words[1]), float(words[4])
        values = np.array(words[5].split() if len(words) > 5 else [], dtype=np.float64)
    except ValueError as error:
        raise DataError(f"{source}: BVH MOTION has a non-number ({error})") from None
    if num_frames < 1 or not frame_time > 0:
        raise DataError(
            f"{source}: BVH has Frames: {num_frames}, Frame Time: {frame_time}; "
            "expected at least one frame and a positive frame time"
        )
    if values.size != num_frames * num_channels:
        raise DataError(
            f"{source}: BVH MOTION has {values.size} values, expected {num_frames} frames x "
            f"{num_channels} channels = {num_frames * num_channels}"
        )
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise DataError(f"{source}: BVH MOTION has {bad} NaN/Inf values")
    return values.reshape(num_frames, num_channels), frame_time


def read_bvh(path: str | Path) -> Motion:
    """Parse the BVH file at `path`; DataError naming it if it is unreadable or malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise DataError(f"{path}: cannot read BVH file ({error})") from error
    return parse_bvh(text, str(path))


def joint_indices(names: tuple[str, ...], wanted: tuple[str, ...], source: str) -> list[int]:
    """Index of each `wanted` joint in `names`; DataError naming `source` and the joints it has."""
    missing = [j for j in wanted if j not in names]
    if missing:
        raise DataError(
            f"{source}: no joint {missing[0]!r} (joints: {', '.join(names)}); "
            "name joints of this file (center_joint=, scale_joints=) or pass "
            "normalize_skeleton=False"
        )
    return [names.index(j) for j in wanted]


def rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Right-handed rotation matrices about 'X', 'Y' or 'Z': (T,) degrees -> (T, 3, 3)."""
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(radians), np.sin(radians)
    one, zero = np.ones_like(c), np.zeros_like(c)
    rows = {
        "X": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "Y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "Z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(row, -1) for row in rows], -2)


def joint_positions(motion: Motion, end_sites: bool = False) -> tuple[np.ndarray, tuple[str, ...]]:
    """World positions of every joint in every frame by forward kinematics.

    -> (float64 (T, J, 3), joint names), J = ROOT + JOINTs (+ End Sites if `end_sites`), in file
    order. Units are the file's (offsets and position channels).
    """
    num_frames = motion.frames.shape[0]
    positions = np.zeros((num_frames, len(motion.names), 3))
    rotations = np.zeros((num_frames, len(motion.names), 3, 3))
    column = 0
    for node, (parent, channels) in enumerate(zip(motion.parents, motion.channels, strict=True)):
        translation = np.broadcast_to(motion.offsets[node], (num_frames, 3)).copy()
        local = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        for channel in channels:
            values = motion.frames[:, column]
            column += 1
            if channel in POSITION_CHANNELS:
                translation[:, POSITION_CHANNELS.index(channel)] += values
            else:
                local = local @ rotation(channel[0], values)
        if parent < 0:
            positions[:, node], rotations[:, node] = translation, local
        else:
            parent_rotation = rotations[:, parent]
            positions[:, node] = positions[:, parent] + np.einsum(
                "tij,tj->ti", parent_rotation, translation
            )
            rotations[:, node] = parent_rotation @ local
    keep = [i for i, end in enumerate(motion.is_end_site) if end_sites or not end]
    return positions[:, keep], tuple(motion.names[i] for i in keep)
