"""The project's skeleton: OpenPose BODY_25's first 15 joints, in image coordinates (x right, y down).

Every pose array in the project is ``(T, 15, 2)`` in this joint order. "Left" and "right" are the dancer's own
(OpenPose's convention): a dancer facing the camera has their right side on the image's left.
"""
import numpy as np

JOINT_NAMES = ('Nose', 'Neck', 'RShoulder', 'RElbow', 'RWrist', 'LShoulder', 'LElbow', 'LWrist',
               'MidHip', 'RHip', 'RKnee', 'RAnkle', 'LHip', 'LKnee', 'LAnkle')
NUM_JOINTS = len(JOINT_NAMES)
J = {name: i for i, name in enumerate(JOINT_NAMES)}
NOSE, NECK, MIDHIP = J['Nose'], J['Neck'], J['MidHip']

# (parent, child) pairs: the 14 bones of the stick figure.
BONES = ((NECK, NOSE),
         (NECK, J['RShoulder']), (J['RShoulder'], J['RElbow']), (J['RElbow'], J['RWrist']),
         (NECK, J['LShoulder']), (J['LShoulder'], J['LElbow']), (J['LElbow'], J['LWrist']),
         (NECK, MIDHIP),
         (MIDHIP, J['RHip']), (J['RHip'], J['RKnee']), (J['RKnee'], J['RAnkle']),
         (MIDHIP, J['LHip']), (J['LHip'], J['LKnee']), (J['LKnee'], J['LAnkle']))
BONE_NAMES = tuple(f"{JOINT_NAMES[a]}-{JOINT_NAMES[b]}" for a, b in BONES)

RIGHT_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith('R'))
LEFT_JOINTS = tuple(i for i, n in enumerate(JOINT_NAMES) if n.startswith('L'))
# Index permutation that swaps left and right joints (for mirroring a pose).
FLIP_PERM = tuple(J['L' + n[1:]] if n.startswith('R') else J['R' + n[1:]] if n.startswith('L') else i
                  for i, n in enumerate(JOINT_NAMES))
# Side of each bone, for colouring: 'R', 'L' or 'C' (centre).
BONE_SIDES = tuple('R' if JOINT_NAMES[b].startswith('R') else 'L' if JOINT_NAMES[b].startswith('L') else 'C'
                   for _, b in BONES)

# Angles measured at a joint between two bones: (joint, end_a, end_b), used by pose-plausibility checks.
ANGLES = ((J['RElbow'], J['RShoulder'], J['RWrist']), (J['LElbow'], J['LShoulder'], J['LWrist']),
          (J['RShoulder'], NECK, J['RElbow']), (J['LShoulder'], NECK, J['LElbow']),
          (J['RKnee'], J['RHip'], J['RAnkle']), (J['LKnee'], J['LHip'], J['LAnkle']),
          (J['RHip'], MIDHIP, J['RKnee']), (J['LHip'], MIDHIP, J['LKnee']))
ANGLE_NAMES = tuple(JOINT_NAMES[j] for j, _, _ in ANGLES)

# COCO-18 (OpenPose's older model) index of each of our joints; MidHip has none (mean of the hips).
COCO18_HIPS = (8, 11)
COCO18_INDEX = (0, 1, 2, 3, 4, 5, 6, 7, -1, 8, 9, 10, 11, 12, 13)


def bone_lengths(poses):
    """Length of each bone. poses: (..., 15, 2) -> (..., 14), in the poses' units."""
    poses = np.asarray(poses)
    a = poses[..., [p for p, _ in BONES], :]
    b = poses[..., [c for _, c in BONES], :]
    return np.linalg.norm(b - a, axis=-1)


def joint_angles(poses):
    """Angle at each joint of ``ANGLES`` in radians, 0..pi. poses: (..., 15, 2) -> (..., 8)."""
    poses = np.asarray(poses, dtype=np.float64)
    j, a, b = (poses[..., [t[k] for t in ANGLES], :] for k in range(3))
    u, v = a - j, b - j
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1) + 1e-9)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def mirror(poses, centre_x=0.0):
    """Mirror poses left-right about the vertical line x = centre_x, swapping left and right joints.
    poses: (..., 15, 2) -> same shape."""
    out = np.array(poses, copy=True)[..., FLIP_PERM, :]
    out[..., 0] = 2 * centre_x - out[..., 0]
    return out


def limit_bones(poses, max_lengths):
    """Shorten every bone longer than its max_lengths (14,) to that length, keeping its direction; the joints below
    it move with it. Bones are walked outwards from the MidHip, the root every pose array is drawn from.
    poses: (..., 15, 2) -> same shape float32."""
    poses = np.asarray(poses, dtype=np.float32)
    out = poses.copy()
    torso = BONES.index((NECK, MIDHIP))
    order = [(torso, MIDHIP, NECK)] + [(k, a, b) for k, (a, b) in enumerate(BONES) if k != torso]
    for k, parent, child in order:
        bone = poses[..., child, :] - poses[..., parent, :]
        length = np.linalg.norm(bone, axis=-1, keepdims=True)
        shrink = np.minimum(1.0, max_lengths[k] / np.maximum(length, 1e-9))
        out[..., child, :] = out[..., parent, :] + bone * shrink
    return out

