"""The BVH reader: hierarchy and motion parsing, forward kinematics against hand-computed
positions and scipy's intrinsic Euler rotations, and malformed files."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tfhar.data import DataError, bvh

# A root that translates and rotates, one joint, one End Site.
ARM = """HIERARCHY
ROOT Hips
{
  OFFSET 1 2 3
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 2 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0020833
0 0 0 0 0 0 0 0 0
10 0 0 90 0 0 0 90 0
"""


def test_hierarchy_and_motion_are_parsed():
    motion = bvh.parse_bvh(ARM)
    assert motion.names == ("Hips", "arm", "arm_end")
    assert motion.parents == (-1, 0, 1)
    assert motion.is_end_site == (False, False, True)
    assert motion.joint_names == ("Hips", "arm")
    assert motion.channels[0] == (
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Xrotation",
        "Yrotation",
    )
    assert motion.channels[2] == ()
    np.testing.assert_array_equal(motion.offsets, [[1, 2, 3], [1, 0, 0], [0, 2, 0]])
    assert motion.frames.shape == (2, 9) and motion.frame_time == pytest.approx(0.0020833)


def test_positions_by_hand():
    positions, names = bvh.joint_positions(bvh.parse_bvh(ARM), end_sites=True)
    assert names == ("Hips", "arm", "arm_end")
    # Frame 0, no motion: the offsets add up.
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [2, 2, 3], [2, 4, 3]], atol=1e-12)
    # Frame 1: root at offset + translation (11, 2, 3), turned 90 degrees about Z, so the arm
    # offset (1, 0, 0) points along +y: arm at (11, 3, 3). The arm turns 90 degrees about X,
    # taking the End Site offset (0, 2, 0) to (0, 0, 2); Z(90) leaves that alone: (11, 3, 5).
    np.testing.assert_allclose(positions[1], [[11, 2, 3], [11, 3, 3], [11, 3, 5]], atol=1e-12)


def test_end_sites_are_left_out_by_default():
    positions, names = bvh.joint_positions(bvh.parse_bvh(ARM))
    assert names == ("Hips", "arm") and positions.shape == (2, 2, 3)


def _one_joint(channels: str, values: dict[str, float], offset="1 0 0") -> str:
    """A root with the given rotation channels and a child at `offset`, one frame."""
    names = channels.split()
    row = " ".join(str(values[n]) for n in names)
    return (
        f"HIERARCHY\nROOT r\n{{\nOFFSET 0 0 0\nCHANNELS {len(names)} {channels}\n"
        f"JOINT c\n{{\nOFFSET {offset}\nCHANNELS 0\n}}\n}}\nMOTION\nFrames: 1\n"
        f"Frame Time: 0.01\n{row}\n"
    )


ANGLES = {"Xrotation": 90, "Yrotation": 0, "Zrotation": 90}


@pytest.mark.parametrize(
    ("channels", "child"),
    [
        # R = Rx(90) Rz(90): Rz takes (1, 0, 0) to (0, 1, 0), then Rx takes that to (0, 0, 1).
        ("Xrotation Yrotation Zrotation", (0, 0, 1)),
        # R = Rz(90) Rx(90): Rx leaves (1, 0, 0) alone, Rz takes it to (0, 1, 0).
        ("Zrotation Xrotation Yrotation", (0, 1, 0)),
        # R = Ry(0) Rz(90) Rx(90): the same as the line above.
        ("Yrotation Zrotation Xrotation", (0, 1, 0)),
    ],
)
def test_rotations_compose_in_the_order_the_channels_are_listed(channels, child):
    positions, _ = bvh.joint_positions(bvh.parse_bvh(_one_joint(channels, ANGLES)))
    np.testing.assert_allclose(positions[0, 1], child, atol=1e-12)


def test_a_rotation_about_y():
    # Ry(90) takes (1, 0, 0) to (0, 0, -1) in a right-handed frame.
    text = _one_joint("Yrotation", {"Yrotation": 90})
    np.testing.assert_allclose(
        bvh.joint_positions(bvh.parse_bvh(text))[0][0, 1], [0, 0, -1], atol=1e-12
    )


def test_position_channels_in_any_order_add_to_the_offset():
    text = ARM.replace("Xposition Yposition Zposition", "Zposition Xposition Yposition")
    positions, _ = bvh.joint_positions(bvh.parse_bvh(text))
    # The row's first three values (10, 0, 0) are now Z, X, Y positions.
    np.testing.assert_allclose(positions[1, 0], [1, 2, 13], atol=1e-12)


def test_parent_and_child_rotations_compose():
    text = """HIERARCHY
ROOT r
{
  OFFSET 0 0 0
  CHANNELS 1 Zrotation
  JOINT a
  {
    OFFSET 1 0 0
    CHANNELS 1 Zrotation
    End Site
    {
      OFFSET 1 0 0
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.01
90 90
"""
    positions, _ = bvh.joint_positions(bvh.parse_bvh(text), end_sites=True)
    # a = Rz(90) (1, 0, 0) = (0, 1, 0); the End Site adds Rz(180) (1, 0, 0) = (-1, 0, 0).
    np.testing.assert_allclose(positions[0], [[0, 0, 0], [0, 1, 0], [-1, 1, 0]], atol=1e-12)


CHAIN_ORDERS = ("ZXY", "XYZ", "YZX", "ZYX")


def _chain(orders: tuple[str, ...], offsets: np.ndarray, angles: np.ndarray) -> str:
    lines = ["HIERARCHY"]
    for i, order in enumerate(orders):
        kind = "ROOT" if i == 0 else "JOINT"
        channels = " ".join(f"{axis}rotation" for axis in order)
        lines += [
            f"{kind} j{i}",
            "{",
            "OFFSET " + " ".join(map(str, offsets[i])),
            f"CHANNELS 3 {channels}",
        ]
    lines += ["End Site", "{", "OFFSET " + " ".join(map(str, offsets[-1])), "}"]
    lines += ["}"] * len(orders)
    lines += ["MOTION", f"Frames: {len(angles)}", "Frame Time: 0.01"]
    lines += [" ".join(f"{v:.10f}" for v in row.ravel()) for row in angles]
    return "\n".join(lines) + "\n"


def test_a_random_chain_matches_scipy_intrinsic_euler_rotations():
    rng = np.random.default_rng(0)
    offsets = rng.normal(size=(len(CHAIN_ORDERS) + 1, 3))
    angles = rng.uniform(-180, 180, size=(3, len(CHAIN_ORDERS), 3))  # Frames, joints, channels.
    positions, _ = bvh.joint_positions(
        bvh.parse_bvh(_chain(CHAIN_ORDERS, offsets, angles)), end_sites=True
    )
    for frame in range(len(angles)):
        # Independent reference: scipy's upper-case orders are intrinsic, R = R1 R2 R3.
        world, position = np.eye(3), offsets[0].copy()
        expected = [position.copy()]
        for joint, order in enumerate(CHAIN_ORDERS):
            local = Rotation.from_euler(order, angles[frame, joint], degrees=True).as_matrix()
            world = world @ local
            position = position + world @ offsets[joint + 1]
            expected.append(position.copy())
        np.testing.assert_allclose(positions[frame], expected, atol=1e-9)


def test_rotations_keep_bone_lengths():
    rng = np.random.default_rng(1)
    offsets = rng.normal(size=(len(CHAIN_ORDERS) + 1, 3))
    angles = rng.uniform(-180, 180, size=(5, len(CHAIN_ORDERS), 3))
    positions, _ = bvh.joint_positions(
        bvh.parse_bvh(_chain(CHAIN_ORDERS, offsets, angles)), end_sites=True
    )
    bones = np.linalg.norm(np.diff(positions, axis=1), axis=-1)  # (frames, 4): parent -> child.
    np.testing.assert_allclose(
        bones, np.broadcast_to(np.linalg.norm(offsets[1:], axis=1), bones.shape), atol=1e-9
    )


def test_read_bvh_reads_a_file(tmp_path):
    path = tmp_path / "skl.bvh"
    path.write_text(ARM)
    np.testing.assert_array_equal(bvh.read_bvh(path).frames, bvh.parse_bvh(ARM).frames)


BAD = {
    "no motion": (ARM.split("MOTION")[0], "no MOTION line"),
    "values missing": (ARM.rstrip()[:-2], "17 values, expected 2 frames x 9 channels = 18"),
    "frames miscounted": (ARM.replace("Frames: 2", "Frames: 3"), "expected 3 frames"),
    "unknown channel": (
        ARM.replace(
            "Zrotation Xrotation Yrotation\n  JOINT", "Wrotation Xrotation Yrotation\n  JOINT"
        ),
        "'Wrotation'",
    ),
    "not a number": (ARM.replace("10 0 0 90", "10 0 x 90"), "non-number"),
    "nan": (ARM.replace("10 0 0 90", "10 0 nan 90"), "1 NaN/Inf"),
    "bad offset": (ARM.replace("OFFSET 1 2 3", "OFFSET 1 2 z"), "OFFSET of Hips 'z'"),
    "nan offset": (ARM.replace("OFFSET 1 0 0", "OFFSET nan 0 0"), "OFFSET of arm 'nan'"),
    "bad channel count": (ARM.replace("CHANNELS 3", "CHANNELS 2.5"), "declares 2.5 channels"),
    "missing brace": (ARM.replace("    }\n  }\n}", "    }\n  }"), "ends early"),
    "no frame time": (ARM.replace("Frame Time: 0.0020833\n", ""), "Frame Time"),
    "two roots": (ARM.replace("MOTION", "ROOT again\nMOTION"), "only one ROOT"),
    "zero frame time": (ARM.replace("0.0020833", "0"), "positive frame time"),
}


@pytest.mark.parametrize("case", BAD)
def test_malformed_files_raise_naming_the_file(tmp_path, case):
    text, message = BAD[case]
    path = tmp_path / "skl_s01_a01_r01.bvh"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as error:
        bvh.read_bvh(path)
    assert str(path) in str(error.value)


def test_unreadable_file_raises(tmp_path):
    with pytest.raises(DataError, match="cannot read BVH file"):
        bvh.read_bvh(tmp_path / "absent.bvh")


def test_joint_indices_name_the_missing_joint():
    assert bvh.joint_indices(("Hips", "spine", "Neck"), ("spine", "Neck"), "f.bvh") == [1, 2]
    with pytest.raises(DataError, match="f.bvh: no joint 'Chest' .*Hips, spine"):
        bvh.joint_indices(("Hips", "spine"), ("Chest",), "f.bvh")
