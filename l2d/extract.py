"""Pose-extractor helpers: MediaPipe/BlazePose-33 landmarks onto OpenPose BODY_25, and PCK against a reference.

BlazePose-33 (MediaPipe Pose): 0 nose, 2/5 left/right eye, 7/8 left/right ear, 11/12 left/right shoulder,
13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles, 29/30 heels, 31/32 foot index (toe tip).
Its "left" is the person's own left, as OpenPose's is.
"""
import numpy as np

from .skeleton import MIDHIP, NECK, NUM_JOINTS

# BODY_25 joint -> BlazePose landmark(s); a pair is averaged, None has no equivalent (written 0, 0, 0).
BODY25_FROM_BLAZEPOSE = (
    0, (11, 12), 12, 14, 16, 11, 13, 15,      # Nose, Neck, RShoulder, RElbow, RWrist, LShoulder, LElbow, LWrist
    (23, 24), 24, 26, 28, 23, 25, 27,         # MidHip, RHip, RKnee, RAnkle, LHip, LKnee, LAnkle
    5, 2, 8, 7,                               # REye, LEye, REar, LEar
    31, None, 29, 32, None, 30)               # LBigToe, LSmallToe, LHeel, RBigToe, RSmallToe, RHeel


def blazepose_to_body25(landmarks, min_confidence=0.0):
    """One person's BlazePose landmarks -> OpenPose BODY_25 keypoints.

    landmarks: (33, 3) array of (x, y, confidence), x and y in pixels, confidence (MediaPipe's visibility) in 0..1.
    A joint made of two landmarks (Neck, MidHip) is their mean with the lower confidence. Joints whose confidence
    is below `min_confidence`, and those BlazePose has no equivalent for, are undetected: (0, 0, 0), as OpenPose
    writes them. Returns (25, 3) float32.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (33, 3):
        raise ValueError(f"landmarks must be (33, 3), got {landmarks.shape}")
    out = np.zeros((25, 3), np.float64)
    for joint, source in enumerate(BODY25_FROM_BLAZEPOSE):
        if source is None:
            continue
        if isinstance(source, tuple):
            pair = landmarks[list(source)]
            out[joint] = [*pair[:, :2].mean(axis=0), pair[:, 2].min()]
        else:
            out[joint] = landmarks[source]
    out[out[:, 2] < min_confidence] = 0.0
    return out.astype(np.float32)


def pck(predicted, reference, threshold=0.2):
    """Percentage of correct keypoints, per joint, with a per-frame tolerance of `threshold` x torso length.

    predicted, reference: (T, J, 3) arrays of (x, y, confidence) in pixels, J >= 9 in BODY_25 order (Neck and MidHip
    define the reference's torso length); confidence 0 means undetected. A joint counts where the reference detected
    it and its own Neck and MidHip; a prediction that missed it counts as wrong.
    Returns (correct (J,) fraction in 0..1 per joint, counted (J,) number of frames each joint was counted in).
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if predicted.shape != reference.shape or predicted.ndim != 3 or predicted.shape[2] != 3:
        raise ValueError(f"predicted {predicted.shape} and reference {reference.shape} must both be (T, J, 3)")
    torso = np.linalg.norm(reference[:, NECK, :2] - reference[:, MIDHIP, :2], axis=-1)
    has_torso = (reference[:, NECK, 2] > 0) & (reference[:, MIDHIP, 2] > 0) & (torso > 0)
    counted = (reference[:, :, 2] > 0) & has_torso[:, None]
    distance = np.linalg.norm(predicted[:, :, :2] - reference[:, :, :2], axis=-1)
    hit = counted & (predicted[:, :, 2] > 0) & (distance <= threshold * torso[:, None])
    n = counted.sum(axis=0)
    return np.where(n > 0, hit.sum(axis=0) / np.maximum(n, 1), np.nan), n


def read_single_person(folder):
    """One clip's OpenPose JSON folder -> (T, 15, 3) keypoints (x, y, confidence) of the most confident person in
    each frame, zeros where nobody was found. For single-dancer clips and extractor benchmarks; parse.py tracks."""
    from .openpose import frame_paths, read_frame
    frames = []
    for path in frame_paths(folder):
        people = read_frame(path)
        frames.append(max(people, key=lambda p: p[:, 2].sum()) if people else np.zeros((NUM_JOINTS, 3), np.float32))
    return np.stack(frames)
