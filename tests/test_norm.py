import numpy as np

from l2d.norm import normalize, place, placement
from l2d.skeleton import BONES, J, bone_lengths, limit_bones


def standing_pose():
    """One plausible standing pose in torso lengths around the MidHip (image coordinates, y down)."""
    pose = np.zeros((15, 2), np.float32)
    for name, xy in {'Nose': (0, -1.3), 'Neck': (0, -1), 'RShoulder': (-0.4, -1), 'RElbow': (-0.5, -0.6),
                     'RWrist': (-0.55, -0.2), 'LShoulder': (0.4, -1), 'LElbow': (0.5, -0.6), 'LWrist': (0.55, -0.2),
                     'MidHip': (0, 0), 'RHip': (-0.2, 0), 'RKnee': (-0.2, 0.5), 'RAnkle': (-0.2, 1),
                     'LHip': (0.2, 0), 'LKnee': (0.2, 0.5), 'LAnkle': (0.2, 1)}.items():
        pose[J[name]] = xy
    return pose


def test_limit_bones_shortens_only_the_long_bone_and_carries_the_joints_below_it():
    pose = standing_pose()
    stretched = pose.copy()
    stretched[J['RElbow']] += [-0.3, 0.2]  # upper arm too long; the forearm keeps its own vector
    stretched[J['RWrist']] += [-0.3, 0.2]
    limits = bone_lengths(pose) * 1.05
    fixed = limit_bones(stretched[None], limits)[0]
    lengths = bone_lengths(fixed)
    upper_arm = BONES.index((J['RShoulder'], J['RElbow']))
    assert np.isclose(lengths[upper_arm], limits[upper_arm], rtol=1e-5)
    assert np.all(lengths <= limits + 1e-5)
    direction = stretched[J['RElbow']] - stretched[J['RShoulder']]
    moved = fixed[J['RElbow']] - fixed[J['RShoulder']]
    assert np.isclose(direction[0] * moved[1] - direction[1] * moved[0], 0, atol=1e-6)  # same direction
    assert np.allclose(fixed[J['RWrist']] - fixed[J['RElbow']], stretched[J['RWrist']] - stretched[J['RElbow']])
    untouched = [j for j in range(15) if j not in (J['RElbow'], J['RWrist'])]
    assert np.allclose(fixed[untouched], stretched[untouched])
    assert np.allclose(limit_bones(pose[None], limits)[0], pose)  # a real pose stays as it is


def test_placement_records_the_longest_bones_and_place_keeps_to_them():
    pose = standing_pose()
    dances = [np.repeat((pose * s * 100 + [600, 400])[None], 10, 0) for s in (1.0, 0.8)]
    dances[1][3, J['LWrist']] += [0, 20]  # one long forearm in one frame
    p = placement(dances)
    assert np.allclose(p['max_bone_tl'], bone_lengths(normalize(dances[1])[0]).max(0), atol=1e-5)
    stretched = np.repeat(pose[None], 4, 0)
    stretched[:, J['LWrist']] += [0, 1.0]
    px = place(stretched, None, p)
    assert np.all(bone_lengths(px) / p['scale'] <= np.asarray(p['max_bone_tl']) + 1e-4)
    assert not np.all(bone_lengths(place(stretched, None, {k: v for k, v in p.items() if k != 'max_bone_tl'}))
                      / p['scale'] <= np.asarray(p['max_bone_tl']) + 1e-4)  # older placements draw as they are
