"""Following one dancer through OpenPose's detections, and filling in the joints it missed.

OpenPose lists everybody it sees in a frame in no stable order, and sometimes splits one person into several
partial detections. ``select_track`` finds the main person near the start of a clip and follows them, frame by
frame in both directions, to the detection nearest their last known pose; ``fill_gaps`` interpolates the joints
that were not seen. Keypoints are (x, y, confidence) with x, y in pixels, y down, as OpenPose writes them.
"""
import math

import numpy as np

from .skeleton import BONES, NUM_JOINTS

JOINTS = range(NUM_JOINTS)


def seen_joints(keypoints, min_confidence):
    """Which joints were detected with at least `min_confidence` (an undetected joint has confidence 0).
    keypoints: (..., 15, 3) -> (..., 15) bool."""
    confidence = keypoints[..., 2]
    return (confidence >= min_confidence) & (confidence > 0)


def body_sizes(keypoints, min_confidence):
    """Diagonal of the bounding box of each person's seen joints, in pixels; 0 when fewer than two are seen.
    keypoints: (..., 15, 3) -> (...) float."""
    seen = seen_joints(keypoints, min_confidence)[..., None]
    spans = (np.where(seen, keypoints[..., :2], -np.inf).max(axis=-2)
             - np.where(seen, keypoints[..., :2], np.inf).min(axis=-2))
    return np.where(seen.sum(axis=(-2, -1)) >= 2, np.hypot(spans[..., 0], spans[..., 1]), 0.0)


def body_size(keypoints, min_confidence):
    """Diagonal of the bounding box of one person's seen joints, in pixels; 0 when fewer than two are seen.
    keypoints: (15, 3) -> float."""
    return float(body_sizes(keypoints, min_confidence))


def main_person(frames_people, min_confidence, start_frames=10):
    """Where the main person is seen best near the start: of all detections in the first `start_frames` frames
    that have anybody in them, the one with the largest body size (pixels) times summed confidence.

    frames_people: T lists of (15, 3) arrays. Returns (frame index, person index), or None when nobody is seen."""
    best, best_score, frames_with_people = None, -1.0, 0
    for t, people in enumerate(frames_people):
        if not people:
            continue
        for i, keypoints in enumerate(people):
            seen = seen_joints(keypoints, min_confidence)
            if not seen.any():
                continue
            score = body_size(keypoints, min_confidence) * float(keypoints[seen, 2].sum())
            if score > best_score:
                best, best_score = (t, i), score
        frames_with_people += 1
        if frames_with_people >= start_frames:
            break
    return best


def _extent(xs, ys, joints):
    """Diagonal of the bounding box of the points (xs[j], ys[j]) for j in `joints` (a sorted list of joints)."""
    if len(joints) == NUM_JOINTS:  # the usual case: every joint, no need to pick
        x, y = xs, ys
    else:
        x, y = [xs[j] for j in joints], [ys[j] for j in joints]
    return math.hypot(max(x) - min(x), max(y) - min(y))


def _follow(xs, ys, seen, seen_lists, sizes, first, order, start, max_jump, min_size_ratio, merge_fragments,
            matches, merges):
    """Follow the detection `start` through the frames in `order`, noting each frame's match.

    All detections of the clip are numbered, frame t's being first[t]:first[t + 1]; xs, ys [N][15], seen [N][15],
    seen_lists [N] (the seen joints' numbers) and sizes [N] are their x, y, seen joints and body sizes as Python
    lists. Appends (frame, detection) to `matches` and (frame, joint, detection) to `merges` for joints taken
    from split-off detections. This loop is most of parse.py's time, and on a few detections of 15 joints plain
    Python is faster than numpy's per-call cost."""
    reference_x, reference_y = list(xs[start]), list(ys[start])  # last known position of each joint
    known = list(seen[start])
    n_known = sum(known)
    # Floored so that a person seen as a single joint can still be followed a little.
    size = max(sizes[start], 1.0)
    frames_since_match = 0
    for t in order:
        frames_since_match += 1
        allowed_squared = (max_jump * size * frames_since_match) ** 2
        candidates = []  # (median squared jump, detection, largest squared jump), of detections near enough
        for i in range(first[t], first[t + 1]):
            person_x, person_y = xs[i], ys[i]
            if n_known == NUM_JOINTS:
                shared = seen_lists[i]
            else:
                shared = [j for j in seen_lists[i] if known[j]]
            if not shared:
                continue
            # d * d rather than d ** 2: no call to pow (tracks came out identical on the demo and perturbed real clips).
            squared_jumps = sorted([(dx := person_x[j] - reference_x[j]) * dx
                                    + (dy := person_y[j] - reference_y[j]) * dy for j in shared])
            median = squared_jumps[(len(shared) - 1) // 2]
            if median > allowed_squared:
                continue
            # A smaller or larger figure at the same place (someone nearer or farther from the camera) is not
            # the dancer; two joints give only one bone length, too foreshortened to judge size by.
            if len(shared) >= 3:
                own, dancer = _extent(person_x, person_y, shared), _extent(reference_x, reference_y, shared)
                if not min_size_ratio * dancer <= own <= dancer / min_size_ratio:
                    continue
            candidates.append((median, i, squared_jumps[-1]))
        if not candidates:
            continue
        candidates.sort()
        best = candidates[0][1]
        matches.append((t, best))
        matched_joints, matched_size = seen_lists[best], sizes[best]
        if merge_fragments and len(candidates) > 1 and len(matched_joints) < NUM_JOINTS:
            # OpenPose sometimes splits one person in two (e.g. arms and legs): a detection every joint of which
            # lies where the dancer's joints were gives the joints the best match lacks.
            matched, matched_x, matched_y = list(seen[best]), list(xs[best]), list(ys[best])
            for _, i, largest_squared_jump in candidates[1:]:
                if largest_squared_jump <= allowed_squared:
                    for j in seen_lists[i]:
                        if not matched[j]:
                            merges.append((t, j, i))
                            matched[j], matched_x[j], matched_y[j], matched_size = True, xs[i][j], ys[i][j], None
            matched_joints = [j for j in JOINTS if matched[j]]
        else:
            matched_x, matched_y = xs[best], ys[best]
        if len(matched_joints) == NUM_JOINTS:
            reference_x, reference_y = list(matched_x), list(matched_y)
        else:
            for j in matched_joints:
                reference_x[j], reference_y[j] = matched_x[j], matched_y[j]
        for j in matched_joints:
            if not known[j]:
                known[j] = True
                n_known += 1
        if len(matched_joints) >= NUM_JOINTS // 2:
            if matched_size is None:
                matched_size = _extent(matched_x, matched_y, matched_joints)
            size = max(matched_size, 1.0)
        frames_since_match = 0


def select_track(frames_people, min_confidence=0.1, max_jump=0.3, min_size_ratio=0.5, start_frames=10,
                 merge_fragments=True):
    """Follow one dancer through a clip's OpenPose detections.

    The dancer is the main person near the start (``main_person``); from there the track goes forwards and
    backwards, each frame taking the detection nearest the dancer's last known joints (median joint distance)
    if it is within `max_jump` body sizes per frame since the last match and of a similar size (within
    `min_size_ratio` .. 1/`min_size_ratio`); otherwise the frame has no detection of the dancer.

    frames_people: T lists of (15, 3) float arrays (x, y pixels, confidence), one per detected person, as
    ``l2d.openpose.read_frame`` returns. min_confidence: joints below it are not used for matching.
    max_jump: in body sizes (bounding-box diagonals of the seen joints) per frame. merge_fragments: fill joints
    the match lacks from other detections lying entirely where the dancer was (OpenPose's split detections).

    Returns poses (T, 15, 2) float32 pixels and confidences (T, 15) float32, as OpenPose gave them for the
    dancer (low-confidence joints included), with (0, 0) and confidence 0 where the dancer was not detected.
    """
    track = np.zeros((len(frames_people), NUM_JOINTS, 3), np.float32)
    start = main_person(frames_people, min_confidence, start_frames)
    if start is not None:
        first = np.concatenate([[0], np.cumsum([len(people) for people in frames_people])]).tolist()
        keypoints = np.stack([kp for people in frames_people for kp in people]).astype(np.float32, copy=False)
        t0, i0 = start
        start = first[t0] + i0
        seen = seen_joints(keypoints, min_confidence)
        seen_joint_numbers = np.nonzero(seen)[1].tolist()  # row by row, so detection i's are one slice
        ends = np.cumsum(seen.sum(axis=1)).tolist()
        seen_lists = [seen_joint_numbers[begin:end] for begin, end in zip([0] + ends[:-1], ends)]
        clip = (keypoints[..., 0].astype(np.float64).tolist(), keypoints[..., 1].astype(np.float64).tolist(),
                seen.tolist(), seen_lists, body_sizes(keypoints, min_confidence).tolist(), first)
        matches, merges = [(t0, start)], []
        follow = (start, max_jump, min_size_ratio, merge_fragments, matches, merges)
        _follow(*clip, range(t0 + 1, len(frames_people)), *follow)
        _follow(*clip, range(t0 - 1, -1, -1), *follow)
        frames, detections = np.array(matches).T
        track[frames] = keypoints[detections]
        for t, j, i in merges:
            track[t, j] = keypoints[i, j]
    return track[:, :, :2].copy(), track[:, :, 2].copy()


def _nearest_seen_joint(joint, has_data):
    """The joint nearest `joint` along the skeleton's bones that has data (breadth-first), or None."""
    neighbours = {j: [] for j in range(NUM_JOINTS)}
    for a, b in BONES:
        neighbours[a].append(b)
        neighbours[b].append(a)
    visited, frontier = {joint}, [joint]
    while frontier:
        next_frontier = []
        for j in frontier:
            for n in neighbours[j]:
                if n not in visited:
                    if has_data[n]:
                        return n
                    visited.add(n)
                    next_frontier.append(n)
        frontier = next_frontier
    return None


def fill_gaps(poses, confidences, min_confidence):
    """Fill the joints that were not seen (confidence below `min_confidence`, or 0) by linear interpolation in
    time between the frames where that joint was seen, held at the clip's ends. A joint never seen in the clip
    is placed on the nearest joint along the bones that was. Filled entries get confidence 0.

    poses: (T, 15, 2) pixels; confidences: (T, 15). Returns new (poses (T, 15, 2) float32,
    confidences (T, 15) float32). ValueError when no joint is seen in any frame."""
    poses = np.asarray(poses, dtype=np.float32)
    confidences = np.asarray(confidences, dtype=np.float32)
    seen = (confidences >= min_confidence) & (confidences > 0)
    if not seen.any():
        raise ValueError("no joint is seen in any frame")
    filled = poses.copy()
    frames = np.arange(len(poses))
    for j in range(NUM_JOINTS):
        good = seen[:, j]
        if good.all() or not good.any():
            continue
        for axis in range(2):
            filled[~good, j, axis] = np.interp(frames[~good], frames[good], poses[good, j, axis])
    has_data = seen.any(axis=0)
    for j in np.flatnonzero(~has_data):
        filled[:, j] = filled[:, _nearest_seen_joint(j, has_data)]
    return filled, np.where(seen, confidences, 0.0).astype(np.float32)
