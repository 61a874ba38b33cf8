"""Move clips: cutting dances into move clips, music windows around them, and joining clips into a dance.

A dance is cut into contiguous move clips, either of a fixed duration (``unit='seconds'``) or spanning a fixed number
of the song's beats (``unit='beats'``). Every clip is time-resampled to the same number of frames so that clips can be
clustered; a cluster centre (a centroid clip) is one "move" of the vocabulary. To dance, clips are stretched back to
the durations of the song's clips and joined with a short blend at each boundary: either the centroids (a generic,
averaged version of each move, standing on the spot) or real training clips of each move with their root paths
(the dancer travels as the real dancers did), picked jointly over the dance so that they join well (`choose_clips`).

Times are in seconds (``_s``), frame indices are integers at the poses' ``fps``; bounds are ``(N, 2)`` int arrays of
``[start, end)`` frames.
"""
import json

import numpy as np

UNITS = ('seconds', 'beats')


def resample_time(x, n_out, ease=0.0):
    """Resample an array along its first (time) axis to `n_out` rows by linear interpolation.

    Sample k of n is taken to sit at the centre of its interval, (k + 0.5) / n, so resampling to the same length is
    the identity and a clip of L frames maps onto a clip of n_out frames covering the same span of time.
    ease: 0 keeps time linear; 1 warps it with a smoothstep so that the result starts and ends at rest (values in
    between mix the two). x: (T, ...) -> (n_out, ...) float32."""
    x = np.asarray(x, dtype=np.float32)
    n_in = len(x)
    if n_in == 0:
        raise ValueError("cannot resample an empty clip")
    if n_in == n_out and ease == 0:
        return x.copy()
    # Time runs from the first input sample to one past the last, so that consecutive clips tile time.
    u = np.arange(n_out) / n_out if ease else (np.arange(n_out) + 0.5) / n_out
    if ease:
        u = (1 - ease) * u + ease * smoothstep(u)
        position = np.clip(u * n_in, 0, n_in - 1)
    else:
        position = np.clip(u * n_in - 0.5, 0, n_in - 1)
    lo = np.floor(position).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = (position - lo).astype(np.float32).reshape((-1,) + (1,) * (x.ndim - 1))
    return (x[lo] * (1 - w) + x[hi] * w).astype(np.float32)


def fixed_bounds(n_frames, clip_frames, start_frame=0):
    """Contiguous clips of `clip_frames` frames from `start_frame`; a remainder shorter than a clip is dropped.
    -> (N, 2) int [start, end) frames."""
    starts = np.arange(start_frame, n_frames - clip_frames + 1, clip_frames, dtype=int)
    return np.stack([starts, starts + clip_frames], axis=1).reshape(-1, 2)


def beat_frames(beat_times_s, fps, n_frames):
    """Beat times -> strictly increasing frame indices within [0, n_frames]. (B,) seconds -> (B',) int."""
    frames = np.round(np.asarray(beat_times_s, dtype=np.float64) * fps).astype(int)
    frames = frames[(frames >= 0) & (frames <= n_frames)]
    return np.unique(frames)


def beat_bounds(beat_times_s, fps, n_frames, beats_per_clip):
    """Clips that each span `beats_per_clip` consecutive beat intervals, starting on the first beat.

    Frames before the first beat and after the last whole clip belong to no clip. -> (N, 2) int frames."""
    frames = beat_frames(beat_times_s, fps, n_frames)
    edges = frames[::beats_per_clip]
    return np.stack([edges[:-1], edges[1:]], axis=1).reshape(-1, 2).astype(int)


def clip_bounds(n_frames, fps, unit, clip_s=1.0, beats_per_clip=2, beat_times_s=None):
    """Move clips of a recorded dance (for clustering): fixed `clip_s` clips from frame 0 (unit 'seconds') or
    `beats_per_clip`-beat clips on the song's beats (unit 'beats'). -> (N, 2) int frames."""
    if unit == 'seconds':
        return fixed_bounds(n_frames, max(1, int(round(clip_s * fps))))
    if unit == 'beats':
        return beat_bounds([] if beat_times_s is None else beat_times_s, fps, n_frames, beats_per_clip)
    raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")


def dance_bounds(n_frames, fps, unit, clip_s=1.0, beats_per_clip=2, beat_times_s=None, beat_s=0.5):
    """Move clips for a new dance to a song of `n_frames` frames, with boundaries on the song's beats.

    unit 'beats': as `beat_bounds`; where the song has fewer than `beats_per_clip` + 1 beats (no beat found, or a
    very short song), a steady grid of `beat_s` beats from frame 0 stands in for them.
    unit 'seconds': a grid of `clip_s` from frame 0 whose points are moved to the nearest beat (beats more than half
    a clip away are ignored), and whose last clip runs to the song's end.
    Frames outside every clip are held still by `join_clips`. -> (N, 2) int frames, possibly (0, 2)."""
    beats = beat_frames([] if beat_times_s is None else beat_times_s, fps, n_frames)
    if unit == 'beats':
        if len(beats) <= beats_per_clip:
            beats = np.round(np.arange(0, n_frames / fps + 1e-9, beat_s) * fps).astype(int)
        return beat_bounds(beats / fps, fps, n_frames, beats_per_clip)
    if unit != 'seconds':
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    clip_frames = max(1, int(round(clip_s * fps)))
    grid = np.arange(0, n_frames, clip_frames)
    edges = []
    for g in grid:
        if len(beats):
            nearest = beats[np.argmin(np.abs(beats - g))]
            if abs(nearest - g) <= clip_frames / 2:
                g = nearest
        if not edges or g - edges[-1] >= clip_frames / 2:
            edges.append(int(g))
    if n_frames - edges[-1] < clip_frames / 2 and len(edges) > 1:
        edges[-1] = n_frames
    else:
        edges.append(n_frames)
    edges = np.asarray(edges, dtype=int)
    return np.stack([edges[:-1], edges[1:]], axis=1).reshape(-1, 2)


def cover_song(bounds, n_frames, min_frames):
    """Move clips that cover the whole song: the frames before the first clip (the song's intro, up to its first
    beat) and after the last become clips of their own when they span at least `min_frames`, and are added to the
    neighbouring clip otherwise, so that the dancer dances from the first frame to the last rather than standing
    still until the first beat. bounds: (N, 2) contiguous frames, N >= 1 -> (N', 2) int frames from 0 to n_frames."""
    bounds = np.asarray(bounds, dtype=int).reshape(-1, 2).copy()
    first, last = int(bounds[0, 0]), int(bounds[-1, 1])
    if first >= min_frames:
        bounds = np.concatenate([[[0, first]], bounds])
    bounds[0, 0] = 0
    if n_frames - last >= min_frames:
        bounds = np.concatenate([bounds, [[last, n_frames]]])
    bounds[-1, 1] = max(int(bounds[-1, 1]), n_frames)
    return bounds


def cut_clips(poses, bounds, clip_frames):
    """Cut clips out of a dance and resample each to `clip_frames` frames.
    poses: (T, 15, 2); bounds: (N, 2) frames -> (N, clip_frames, 15, 2) float32."""
    clips = [resample_time(poses[s:e], clip_frames) for s, e in np.asarray(bounds, dtype=int)]
    return np.stack(clips) if clips else np.zeros((0, clip_frames) + np.shape(poses)[1:], np.float32)



def resample_path(path, n_steps, ease=0.0):
    """Resample a path given at its nodes (frame boundaries) to `n_steps` steps, keeping both end nodes.

    Node j of L + 1 sits at time j / L of the span (0 and 1 are the path's two ends), so a clip's path from its first
    frame to the next clip's first frame keeps its whole displacement at any length. ease: the time warp of
    `resample_time` (1: at rest at both ends). path: (L + 1, ...) -> (n_steps + 1, ...) float32."""
    path = np.asarray(path, dtype=np.float32)
    if len(path) < 2:
        return np.repeat(path[:1], n_steps + 1, axis=0) if len(path) else path
    u = np.arange(n_steps + 1) / max(n_steps, 1)
    u = (1 - ease) * u + ease * smoothstep(u)
    position = u * (len(path) - 1)
    lo = np.minimum(np.floor(position).astype(int), len(path) - 2)
    w = (position - lo).astype(np.float32).reshape((-1,) + (1,) * (path.ndim - 1))
    return (path[lo] * (1 - w) + path[lo + 1] * w).astype(np.float32)


def cut_root_paths(root_tl, bounds, clip_frames):
    """The root's path over each clip, relative to the clip's first frame, from that frame to the next clip's first
    frame (the dance's last frame for a clip that ends the dance), resampled to `clip_frames` steps.
    root_tl: (T, 2) torso lengths; bounds: (N, 2) frames -> (N, clip_frames + 1, 2) float32, node 0 at 0."""
    root_tl = np.asarray(root_tl, dtype=np.float32)
    paths = [resample_path(root_tl[s:min(e, len(root_tl) - 1) + 1] - root_tl[s], clip_frames)
             for s, e in np.asarray(bounds, dtype=int)]
    return np.stack(paths) if paths else np.zeros((0, clip_frames + 1, 2), np.float32)


def music_windows(features, fps, starts_s, ends_s, context, n_rows):
    """The music around each clip, as a fixed number of time bins.

    Clip i spans [starts_s[i], ends_s[i]); its window adds `context` clip durations on each side, and is split into
    `n_rows` equal bins. A bin holds the mean of the feature rows whose times (row t is at t / fps) fall in it, or the
    nearest row when none does; bins outside the song are 0 (the mean of standardised features).
    features: (T, F); fps: feature rows per second -> (N, n_rows, F) float32."""
    features = np.asarray(features, dtype=np.float64)
    n_rows_in, n_feat = features.shape
    starts_s, ends_s = np.asarray(starts_s, np.float64), np.asarray(ends_s, np.float64)
    span = ends_s - starts_s
    lo, hi = starts_s - context * span, ends_s + context * span
    edges = lo[:, None] + (hi - lo)[:, None] * np.arange(n_rows + 1)[None] / n_rows
    a = np.clip(np.ceil(edges[:, :-1] * fps - 1e-9), 0, n_rows_in).astype(int)
    b = np.clip(np.ceil(edges[:, 1:] * fps - 1e-9), 0, n_rows_in).astype(int)
    cumsum = np.concatenate([np.zeros((1, n_feat)), np.cumsum(features, axis=0)])
    count = (b - a)[..., None]
    mean = (cumsum[b] - cumsum[a]) / np.maximum(count, 1)
    centre = (edges[:, :-1] + edges[:, 1:]) / 2
    nearest = features[np.clip(np.round(centre * fps).astype(int), 0, n_rows_in - 1)]
    out = np.where(count > 0, mean, nearest)
    inside = (centre >= 0) & (centre < n_rows_in / fps)
    return np.where(inside[..., None], out, 0.0).astype(np.float32)


def smoothstep(x):
    """0 -> 0, 1 -> 1 with zero slope at both ends. x: array in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def join_clips(clips, bounds, n_frames, blend_frames, ease=0.0):
    """Join move clips into one dance of `n_frames` frames without jumps.

    Clip i is stretched to fill frames bounds[i] (the bounds are contiguous, e.g. from `dance_bounds`). At each
    boundary the two clips meet half way: over up to `blend_frames` frames on each side, each clip is shifted
    towards the pose half way across the jump between them, by a smooth ramp that is flat at the boundary. The added
    motion therefore stops exactly at the boundary, which is where a move's beat is: blending does not move the
    dancer's stops off the beat. Frames before the first clip and after the last hold the nearest pose.
    ease: time warp of each stretched clip (see `resample_time`); 1 brings the dancer to rest on every boundary.
    clips: (N, F, 15, 2); bounds: (N, 2) -> (n_frames, 15, 2) float32."""
    clips = np.asarray(clips, dtype=np.float32)
    bounds = np.asarray(bounds, dtype=int)
    if len(bounds) == 0:
        raise ValueError("no move clips to join")
    segments = [resample_time(c, e - s, ease) for c, (s, e) in zip(clips, bounds)]
    for i in range(len(segments) - 1):
        left, right = segments[i], segments[i + 1]
        half_jump = (right[0] - left[-1]) / 2
        w = min(blend_frames, len(left) // 2, len(right) // 2)
        if w < 1:
            continue
        ramp = smoothstep((np.arange(w) + 1) / w)[:, None, None]  # ends at 1, with zero slope
        left[-w:] += ramp * half_jump
        right[:w] -= ramp[::-1] * half_jump
    dance = np.empty((n_frames,) + clips.shape[2:], np.float32)
    first, last = bounds[0, 0], bounds[-1, 1]
    dance[first:last] = np.concatenate(segments)[:max(0, min(last, n_frames) - first)]
    dance[:first] = segments[0][0]
    dance[last:] = segments[-1][-1]
    return dance


def join_features(clips, root_paths):
    """What a join sees of each clip: its first and last pose and its velocity at both ends (the 15 joints and the
    root, in torso lengths per clip frame). clips: (M, F, 15, 2); root_paths: (M, F + 1, 2) ->
    (first (M, 30), last (M, 30), first_velocity (M, 32), last_velocity (M, 32)) float64."""
    clips = np.asarray(clips, dtype=np.float64)
    root_paths = np.asarray(root_paths, dtype=np.float64)
    m = len(clips)
    if clips.shape[1] < 2:
        still = np.zeros((m, 32))
        return clips[:, 0].reshape(m, -1), clips[:, -1].reshape(m, -1), still, still
    first_velocity = np.concatenate([clips[:, 1] - clips[:, 0], (root_paths[:, 1] - root_paths[:, 0])[:, None]], 1)
    last_velocity = np.concatenate([clips[:, -1] - clips[:, -2], (root_paths[:, -1] - root_paths[:, -2])[:, None]],
                                   1)
    return (clips[:, 0].reshape(m, -1), clips[:, -1].reshape(m, -1), first_velocity.reshape(m, -1),
            last_velocity.reshape(m, -1))


def choose_clips(candidates, unary_cost, clips, root_paths, speeds, blend_frames, join_weight=1.0,
                 repeat_cost=1e6):
    """Pick one real clip per move slot of a dance, jointly over the whole dance (Viterbi), for the least total cost.

    The cost of a path is the sum of each chosen clip's `unary_cost` (e.g. -log p(its move) under the dancer's model)
    plus `join_weight` times each join's mismatch, plus `repeat_cost` wherever one clip follows itself. A join's
    mismatch is the mean squared jump over the 15 joints between the clip's last pose and the next clip's first
    (torso lengths^2), plus the mean squared velocity jump over the joints and the root times `blend_frames` (the
    position error that velocity jump builds over a blend). Velocities are at the speed each slot plays its clip.
    candidates: list of N int arrays (C_i,), indices into the clip library; unary_cost: list of N float arrays
    (C_i,); clips: (M, F, 15, 2) the library's normalised clips; root_paths: (M, F + 1, 2) their root paths (see
    `cut_root_paths`); speeds: (N,) clip frames per dance frame at the ends of each slot's clip (F / slot length,
    times 1 - ease); blend_frames: frames. -> (N,) int library indices of the chosen clips."""
    n = len(candidates)
    if n == 0:
        return np.zeros(0, int)
    if any(len(c) == 0 for c in candidates):
        raise ValueError("every slot needs at least one candidate clip")
    first, last, first_velocity, last_velocity = join_features(clips, root_paths)
    pose_weight, velocity_weight = 1 / np.sqrt(first.shape[1] / 2), blend_frames / np.sqrt(first_velocity.shape[1] / 2)

    def features(i, ends):
        index = np.asarray(candidates[i], int)
        pose, velocity = (last[index], last_velocity[index]) if ends else (first[index], first_velocity[index])
        return np.concatenate([pose * pose_weight, velocity * speeds[i] * velocity_weight], axis=1)

    total = np.asarray(unary_cost[0], dtype=np.float64).copy()
    back = []
    for i in range(1, n):
        a, b = features(i - 1, True), features(i, False)
        mismatch = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T, 0)
        repeat = np.asarray(candidates[i - 1])[:, None] == np.asarray(candidates[i])[None]
        scores = total[:, None] + join_weight * mismatch + repeat_cost * repeat
        best = scores.argmin(axis=0)
        back.append(best)
        total = scores[best, np.arange(len(best))] + np.asarray(unary_cost[i], dtype=np.float64)
    path = [int(total.argmin())]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    return np.array([candidates[i][j] for i, j in enumerate(reversed(path))], dtype=int)


def soften_joins(poses, boundaries, half_frames, sigma_frames):
    """Smooth a dance in time only around its joins: within about `half_frames` of each boundary frame, the poses
    are replaced by their Gaussian average over `sigma_frames` (the change fades in and out over 2 frames). Real
    clips meet with a jolt in velocity that a position blend leaves behind; away from the joins they keep every
    detail. poses: (T, ...); boundaries: frames -> (T, ...) float32."""
    import scipy.ndimage
    poses = np.asarray(poses, dtype=np.float32)
    if sigma_frames <= 0 or len(poses) < 2:
        return poses.copy()
    near = np.zeros(len(poses), np.float32)
    for b in np.asarray(boundaries, dtype=int):
        near[max(0, b - half_frames):max(0, min(len(poses), b + half_frames))] = 1
    weight = scipy.ndimage.gaussian_filter1d(near, 2.0).reshape((-1,) + (1,) * (poses.ndim - 1))
    smooth = scipy.ndimage.gaussian_filter1d(poses, sigma_frames, axis=0, mode='nearest')
    return (poses * (1 - weight) + smooth * weight).astype(np.float32)


def join_real_clips(clips, root_paths, bounds, n_frames, blend_frames, ease=0.0):
    """Join real clips and their root paths into one travelling dance of `n_frames` frames.

    The poses are joined as `join_clips` joins them (stretched to each clip's slot, blended at the boundaries), then
    softened around each join (`soften_joins` over `blend_frames`, a Gaussian of blend_frames / 4); each root path
    is stretched with its clip (the same time warp) and added on where the previous one ended, so the dancer travels
    as the clips travelled. Before the first clip the root is at 0; after the last it stays.
    clips: (N, F, 15, 2) torso lengths around the MidHip; root_paths: (N, F + 1, 2) torso lengths (`cut_root_paths`);
    bounds: (N, 2) contiguous frames -> (normed (n_frames, 15, 2), root_tl (n_frames, 2)) float32."""
    normed = soften_joins(join_clips(clips, bounds, n_frames, blend_frames, ease), np.asarray(bounds)[1:, 0],
                          blend_frames, blend_frames / 4)
    root_tl = np.zeros((n_frames, 2), np.float32)
    at = np.zeros(2, np.float32)
    for path, (s, e) in zip(np.asarray(root_paths, np.float32), np.asarray(bounds, dtype=int)):
        steps = resample_path(path, e - s, ease)
        root_tl[s:min(e, n_frames)] = at + steps[:max(0, min(e, n_frames) - s)]
        at = at + steps[-1]
    last = int(np.asarray(bounds)[-1, 1])
    root_tl[last:] = at
    return normed, root_tl


def centre_travel(root_tl):
    """A root track moved so that the middle of its range is at 0 on each axis: a dancer that travels mostly one
    way then covers the floor from one side to the other, where starting in the middle of the floor
    (`l2d.norm.keep_on_floor` folds a track at +-floor / 2) would turn it back at the first edge it meets and leave
    half the floor unused. (T, 2) torso lengths -> (T, 2) float32."""
    root_tl = np.asarray(root_tl, dtype=np.float32)
    if len(root_tl) == 0:
        return root_tl.copy()
    return (root_tl - (root_tl.min(axis=0) + root_tl.max(axis=0)) / 2).astype(np.float32)


def move_style_counts(labels, styles, n_moves, style_names):
    """How many clips of each style each move has: labels (M,) moves, styles (M,) style names of the clips ->
    (n_moves, S) float64 counts for the S `style_names` (clips of other styles are not counted)."""
    counts = np.zeros((n_moves, len(style_names)))
    for j, style in enumerate(style_names):
        counts[:, j] = np.bincount(np.asarray(labels)[np.asarray(styles) == style], minlength=n_moves)[:n_moves]
    return counts


def style_votes(log_probs, counts, smoothing=0.5):
    """Which style a song is, from the move classifier's view of it: at every slot, each move votes for the styles
    of its training clips (p(style | move), its clip counts plus `smoothing` per style) with the probability the
    model gives it there. On held-out training dances of Dance with Melody this named 6 of 7 songs' dance types
    where the songs' likelihoods under each style's move distribution named 4, which took rumbas for cha-chas.
    log_probs: (N, K) the model's log-probabilities at each slot; counts: (K, S) `move_style_counts` -> (S,) the
    summed votes (argmax: the song's style)."""
    counts = np.asarray(counts, dtype=np.float64) + smoothing
    style_given_move = counts / counts.sum(axis=1, keepdims=True)
    return (np.exp(np.asarray(log_probs, dtype=np.float64)) @ style_given_move).sum(axis=0)


def tempo_weights(song_beat_s, clip_beat_s, clip_dances, clip_styles, style_names, width=0.05):
    """How well a song's tempo fits each style: for each of `style_names`, the mean over its training dances of a
    Gaussian kernel exp(-d^2 / 2 width^2) of d, the log ratio of the song's beat period to the dance's. Each dance
    counts once (the clip arrays repeat it per clip); a kernel over dances rather than one Gaussian per style keeps
    a style whose songs' beats were tracked at two tempi (Dance with Melody's waltzes: 87 and 170 per minute).
    song_beat_s: seconds (l2d.metrics.beat_period_s); clip_beat_s (M,) seconds, nan where unknown; clip_dances,
    clip_styles: (M,) names -> (S,) float64 in [0, 1]; all 0 when the song's tempo is unknown."""
    clip_beat_s = np.asarray(clip_beat_s, dtype=np.float64)
    if not np.isfinite(song_beat_s) or song_beat_s <= 0:
        return np.zeros(len(style_names))
    _, first = np.unique(np.asarray(clip_dances), return_index=True)
    beat_s, styles = clip_beat_s[first], np.asarray(clip_styles)[first]
    known = np.isfinite(beat_s) & (beat_s > 0)
    kernel = np.zeros(len(beat_s))
    kernel[known] = np.exp(-0.5 * (np.log(song_beat_s / beat_s[known]) / width) ** 2)
    return np.array([kernel[(styles == s) & known].mean() if ((styles == s) & known).any() else 0.0
                     for s in style_names])


def human_moves_at(times_s, movements, durations_beats, beat_s):
    """The human move label at each time of a dance labelled as consecutive movements lasting whole beats.

    movements: (M,) labels; durations_beats: (M,) beats each; beat_s: seconds per beat; times_s: (N,) seconds from the
    start of the labels -> list of N labels, None where a time falls outside every movement."""
    ends_s = np.cumsum(np.asarray(durations_beats, dtype=np.float64)) * beat_s
    index = np.searchsorted(ends_s, np.asarray(times_s, dtype=np.float64), side='right')
    return [movements[i] if 0 <= t and i < len(movements) else None for t, i in zip(times_s, index)]


# ---- the move vocabulary file: data/<dataset>/moves.npz -----------------------------------------------------------

def moves_file(dataset, dancer='dancer'):
    """Path of a dancer's move vocabulary: data/<dataset>/moves.npz for the project's move classifier ('dancer'),
    out/<dataset>/<dancer>/moves.npz for another configuration of cluster.py (e.g. 'original')."""
    from .io import data_dir, out_dir
    return data_dir(dataset, 'moves.npz') if dancer == 'dancer' else out_dir(dataset, dancer, 'moves.npz')


CLIP_KEYS = ('normed', 'root_paths', 'labels', 'dances', 'bounds')
OPTIONAL_CLIP_KEYS = ('styles', 'beat_s')  # absent from a vocabulary made before cluster.py kept them


def save_moves(path, centroids, dances, settings, clips=None, **extra):
    """Write the move vocabulary atomically.

    centroids: (K, F, 15, 2) normalised poses (torso lengths, MidHip at 0); dances: {clip: {'labels': (N,) int,
    'bounds': (N, 2) int frames, 'split': str}}; settings: dict stored as JSON; clips: None, or the library of real
    training clips a dancer draws moves with, {'normed': (M, F, 15, 2) torso lengths, 'root_paths': (M, F + 1, 2)
    torso lengths (l2d.moves.cut_root_paths), 'labels': (M,) moves, 'dances': (M,) dance names, 'bounds': (M, 2)
    frames in their dance, optionally 'styles': (M,) the style / dance type of each clip's dance, '' if unknown, and
    'beat_s': (M,) the beat period of each clip's song in seconds (l2d.metrics.beat_period_s), nan if unknown};
    extra: further arrays or scalars (fps, unit, clip_s, beats_per_clip, typical_root,
    typical_scale, inertia, ...)."""
    from .io import save_npz
    if clips is not None:
        extra.update({'clip_' + k: np.asarray(clips[k]) for k in CLIP_KEYS + OPTIONAL_CLIP_KEYS if k in clips})
    names = sorted(dances)
    counts = [len(dances[c]['labels']) for c in names]
    save_npz(path, centroids=np.asarray(centroids, np.float32),
             dance_names=np.asarray(names, dtype=str), dance_splits=np.asarray([dances[c]['split'] for c in names]),
             dance_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(int),
             labels=np.concatenate([np.asarray(dances[c]['labels'], int) for c in names] or [np.zeros(0, int)]),
             bounds=np.concatenate([np.asarray(dances[c]['bounds'], int).reshape(-1, 2) for c in names]
                                   or [np.zeros((0, 2), int)]),
             settings=json.dumps(settings), **extra)


def load_moves(path):
    """Read a move vocabulary -> dict with 'centroids' (K, F, 15, 2), 'dances' {clip: {'labels', 'bounds', 'split'}},
    'settings' dict, 'clips' (the real-clip library of `save_moves`, or None in a vocabulary made before it), and
    every extra entry (0-d arrays as Python scalars). InputError naming the file if unreadable."""
    from .io import InputError
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable move vocabulary ({e})")
    if 'centroids' not in d or 'dance_offsets' not in d:
        raise InputError(f"{path}: not a move vocabulary (no centroids / dance_offsets)")
    offsets = d.pop('dance_offsets')
    names, splits = d.pop('dance_names'), d.pop('dance_splits')
    labels, bounds = d.pop('labels'), d.pop('bounds')
    d['dances'] = {str(c): {'labels': labels[a:b], 'bounds': bounds[a:b], 'split': str(s)}
                   for c, s, a, b in zip(names, splits, offsets[:-1], offsets[1:])}
    d['settings'] = json.loads(str(d['settings']))
    d['clips'] = ({k: d.pop('clip_' + k) for k in CLIP_KEYS} if all('clip_' + k in d for k in CLIP_KEYS) else None)
    if d['clips'] is not None:
        d['clips'].update({k: d.pop('clip_' + k) for k in OPTIONAL_CLIP_KEYS if 'clip_' + k in d})
        for k in ('dances', 'styles'):
            if k in d['clips']:
                d['clips'][k] = d['clips'][k].astype(str)
    for k, v in d.items():
        if isinstance(v, np.ndarray) and v.ndim == 0:
            d[k] = v.item()
    if 'placement' in d:
        d['placement'] = json.loads(d['placement'])
    return d
