"""The move vocabulary: cut every dance into move clips and cluster them with k-means -> data/<dataset>/moves.npz.

Poses are first centred at MidHip and scaled by torso length (l2d.norm), so that where the dancer stands and how far
the camera is do not make moves. Clips are 1 s long by default (as in the original learn2dance); `--unit=beats` cuts
clips of `beats_per_clip` beats of the song instead (beat times from data/<dataset>/music/, made by process_waves.py),
which is what lets a generated dance land on the beat. Every clip is resampled to `clip_frames` frames; k-means is
fitted on the training split and labels every clip of every dance.

Writes data/<dataset>/moves.npz (centroids, per-dance labels and clip bounds, the normalisation, settings, and the
library of real training clips with their root paths and their songs' beat periods, which a dancer draws its moves
with and tells a song's style by) and two galleries:
out/<dataset>/moves.png (every centroid) and move_clips.png (the largest moves, each centroid beside real member
clips). With `--dancer=<name>` they go to out/<dataset>/<name>/: a vocabulary of its own for another configuration,
such as the original design's 1-s clips. Prints the inertia and cluster sizes. With human move labels (ChoreoNet's,
for dance_with_melody) it also prints and stores how well clusters agree with them.

    python cluster.py --dataset=demo --unit=beats
"""
import json
import os
import sys

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from l2d.config import configure
from l2d.io import InputError, ROOT, data_dir, load_json, load_meta, load_poses, out_dir, atomic_path
from l2d.audio import load_music
from l2d.metrics import beat_period_s
from l2d.moves import UNITS, clip_bounds, cut_clips, cut_root_paths, human_moves_at, moves_file, save_moves
from l2d.norm import normalize, placement
from l2d.progress import progress
from l2d.skeleton import NUM_JOINTS

dataset = 'demo'
dancer = 'dancer'  # whose vocabulary: 'dancer' (data/<dataset>/moves.npz) or another name (out/<dataset>/<name>/)
unit = 'seconds'  # 'seconds': clips of clip_s; 'beats': clips of beats_per_clip beats of the song
clip_s = 1.0
beats_per_clip = 2
clip_frames = 0  # frames of a resampled clip; 0: clip_s * fps ('seconds') or the median clip length ('beats')
n_moves = 128  # K, the size of the vocabulary (fewer if there are fewer training clips)
minibatch_above = 20000  # training clips above which MiniBatchKMeans replaces KMeans
n_init = 4  # k-means restarts
seed = 0
gallery = True  # draw out/<dataset>/moves.png (every centroid) and move_clips.png (centroids beside member clips)
gallery_moves = 24  # moves shown in move_clips.png, largest first
# The move classifier's floor: this quantile of the training dances' root ranges. Folded into a box, the real clips'
# travel covers about 0.9 of it (held-out training dances, 3 seeds each): with the median the dancer covered 1.03x
# the held-out dances' floor width on Dance with Melody but 0.80x on the demo; 0.7 gives 1.12x and 0.86x, the two
# closest to 1 together (0.6: 1.05x, 0.82x; 0.8: 1.18x, 0.89x).
floor_quantile = 0.7
human_labels = 'auto'  # folder of ChoreoNet {C,R,T,W}.json ('auto': ../shared/data/choreonet_labels for
                       # dance_with_melody)
labels_fps = 25.0  # frame rate of the human labels' start_pos / end_pos
settings = configure(globals())

if unit not in UNITS:
    sys.exit(f"error: unit must be one of {UNITS}, got {unit!r}")
meta = load_meta(dataset)
names = sorted(meta['clips'])
if not names:
    sys.exit(f"error: {data_dir(dataset)} has no clips (run parse.py, or the dataset's prepare.py, first)")

# ---- cut every dance into normalised move clips -----------------------------------------------------------------
dances, pose_files = {}, {}
for name in progress(names, desc='cutting', unit='dance', disable=len(names) < 4):
    try:
        pose_file = load_poses(data_dir(dataset, 'poses', name + '.npz'))
        poses, fps = pose_file['poses'], pose_file['fps']
        if not np.isfinite(poses).all():
            raise InputError(f"{data_dir(dataset, 'poses', name + '.npz')}: poses contain NaN or inf")
        beat_times_s = None
        music_path = data_dir(dataset, 'music', name + '.npz')
        if unit == 'beats' or os.path.isfile(music_path):  # the tempo lets a dancer tell a song's style
            beat_times_s = load_music(music_path)['beat_times_s']
        normed, root, scale = normalize(poses)
    except (InputError, FileNotFoundError, ValueError, KeyError) as e:
        print(f"skipping {name}: {e}")
        continue
    bounds = clip_bounds(len(poses), fps, unit, clip_s, beats_per_clip, beat_times_s)
    if len(bounds) == 0:
        print(f"skipping {name}: too short for one clip ({len(poses)} frames"
              + (f", {len(beat_times_s)} beats)" if unit == 'beats' else ")"))
        continue
    pose_files[name] = poses
    dances[name] = dict(normed=normed, root=root, scale=scale, fps=fps, bounds=bounds,
                        beat_s=beat_period_s([] if beat_times_s is None else beat_times_s),
                        split=meta['clips'][name].get('split', 'train'))

train = [n for n in dances if dances[n]['split'] == 'train']
if not train:
    sys.exit(f"error: no usable training dance in {data_dir(dataset, 'poses')} (run parse.py first)")
fps_values = sorted({round(d['fps'], 3) for d in dances.values()})
if len(fps_values) > 1:
    sys.exit(f"error: dances of {dataset} have different frame rates {fps_values}; moves need one fps")
fps = float(fps_values[0])
if clip_frames <= 0:
    lengths = np.concatenate([np.diff(dances[n]['bounds'], axis=1)[:, 0] for n in train])
    clip_frames = int(round(clip_s * fps)) if unit == 'seconds' else int(np.median(lengths))
for d in dances.values():
    d['clips'] = cut_clips(d['normed'], d['bounds'], clip_frames)
    d['root_paths'] = cut_root_paths((d['root'] - d['root'][0]) / d['scale'], d['bounds'], clip_frames)

# ---- k-means on the training clips ------------------------------------------------------------------------------
x_train = np.concatenate([dances[n]['clips'] for n in train]).reshape(-1, clip_frames * NUM_JOINTS * 2)
k = min(n_moves, len(x_train))
if k < n_moves:
    print(f"note: only {len(x_train)} training clips, so K = {k} moves instead of {n_moves}")
if len(x_train) > minibatch_above:
    kmeans = MiniBatchKMeans(n_clusters=k, n_init=n_init, random_state=seed, batch_size=4096)
else:
    kmeans = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
kmeans.fit(x_train)
centroids = kmeans.cluster_centers_.reshape(k, clip_frames, 15, 2).astype(np.float32)
for d in dances.values():
    d['labels'] = kmeans.predict(d['clips'].reshape(len(d['clips']), -1).astype(kmeans.cluster_centers_.dtype))
train_labels = np.concatenate([dances[n]['labels'] for n in train])
sizes = np.bincount(train_labels, minlength=k)
inertia_per_clip = float(kmeans.inertia_) / len(x_train)
print(f"{len(train)} training dances, {len(x_train)} clips of {clip_frames} frames, K = {k}")
print(f"inertia {kmeans.inertia_:.1f} ({inertia_per_clip:.3f} per clip, "
      f"{inertia_per_clip / (clip_frames * 15):.4f} torso lengths^2 per joint-frame)")
print(f"cluster sizes: largest {np.sort(sizes)[::-1][:10].tolist()}, smallest {np.sort(sizes)[:10].tolist()}, "
      f"{int((sizes == 0).sum())} empty")

# ---- agreement with human move labels (Dance with Melody: ChoreoNet's labels) -----------------------------------
# Each clip gets the human label at its centre time. The labels give movement durations in beats from the dance's
# start; we place them on the labels' own steady beat grid ((end_pos - start_pos) / labels_fps / total beats per
# beat) rather than on our beat tracker's beats, so that a tracker error cannot shift the labels. Frame 0 of a pose
# file is the labels' start_pos (the importer cuts the audio there).
agreement = {}
if human_labels == 'auto':
    auto_dir = os.path.join(os.path.dirname(ROOT), 'shared', 'data', 'choreonet_labels')
    human_labels = auto_dir if dataset == 'dance_with_melody' and os.path.isdir(auto_dir) else ''
if human_labels:
    entries = {}
    for dance_type in 'CRTW':
        path = os.path.join(human_labels, dance_type + '.json')
        if os.path.isfile(path):
            entries.update({e['name'].lower(): e for e in load_json(path)})
    clusters, humans, per_dance = [], [], {}
    for name, d in dances.items():
        entry = entries.get(name.lower())
        if entry is None:
            continue
        beat_s = (entry['end_pos'] - entry['start_pos']) / labels_fps / sum(entry['durations'])
        centres_s = d['bounds'].mean(axis=1) / d['fps']
        labelled = human_moves_at(centres_s, entry['movements'], entry['durations'], beat_s)
        keep = [i for i, h in enumerate(labelled) if h is not None]
        clusters += [int(d['labels'][i]) for i in keep]
        humans += [labelled[i] for i in keep]
        per_dance[name] = len(keep)
    if humans:
        from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score
        from sklearn.metrics.cluster import contingency_matrix
        clusters, humans = np.asarray(clusters), np.asarray(humans)
        table = contingency_matrix(humans, clusters)
        shuffled = np.random.default_rng(seed).permutation(clusters)
        agreement = dict(
            nmi=float(normalized_mutual_info_score(humans, clusters)),
            nmi_shuffled=float(normalized_mutual_info_score(humans, shuffled)),
            ami=float(adjusted_mutual_info_score(humans, clusters)),
            purity=float(table.max(axis=0).sum() / table.sum()),
            n_clips=int(len(humans)), n_dances=len(per_dance), n_human_moves=int(len(set(humans))),
            labels=human_labels, beat_grid='labels (steady beats from start_pos to end_pos)')
        print(f"agreement with human move labels over {len(humans)} clips of {len(per_dance)} dances: "
              f"NMI {agreement['nmi']:.3f} (shuffled clusters {agreement['nmi_shuffled']:.3f}), "
              f"AMI {agreement['ami']:.3f}, purity {agreement['purity']:.3f}")
    else:
        print(f"note: no dance of {dataset} matches a human label in {human_labels}")

# ---- write the vocabulary ---------------------------------------------------------------------------------------
roots = np.concatenate([dances[n]['root'] for n in train])
typical_root = np.median(roots, axis=0).astype(np.float32)
typical_scale = float(np.median([dances[n]['scale'] for n in train]))
clip_s_median = float(np.median(np.concatenate([np.diff(dances[n]['bounds'], axis=1)[:, 0] for n in train])) / fps)
# The training clips themselves, with their root paths: a dancer draws each move with one of these real clips.
library = dict(normed=np.concatenate([dances[n]['clips'] for n in train]),
               root_paths=np.concatenate([dances[n]['root_paths'] for n in train]),
               labels=train_labels, dances=np.concatenate([[n] * len(dances[n]['labels']) for n in train]),
               bounds=np.concatenate([dances[n]['bounds'] for n in train]),
               styles=np.concatenate([[str(meta['clips'][n].get('label') or '')] * len(dances[n]['labels'])
                                      for n in train]),
               beat_s=np.concatenate([[dances[n]['beat_s']] * len(dances[n]['labels']) for n in train]))
moves_path = moves_file(dataset, dancer)
save_moves(moves_path, centroids, {n: dict(labels=d['labels'], bounds=d['bounds'], split=d['split'])
                                   for n, d in dances.items()},
           settings, clips=library, fps=np.float32(fps), unit=unit, clip_s=np.float32(clip_s),
           beats_per_clip=beats_per_clip, clip_frames=clip_frames, median_clip_s=np.float32(clip_s_median),
           typical_root=typical_root, typical_scale=np.float32(typical_scale),
           placement=json.dumps(placement([pose_files[n] for n in train], floor_quantile)),
           normalisation='l2d.norm.normalize: each frame centred at MidHip, divided by the dance\'s median '
                         'Neck-MidHip length; typical_root/typical_scale (pixels) place a generated dancer',
           inertia=np.float32(kmeans.inertia_), sizes=sizes, agreement=json.dumps(agreement))
print(f"wrote {moves_path}")

if gallery:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from l2d.skeleton import BONES, BONE_SIDES

    colours = {'R': (0.84, 0.19, 0.19), 'L': (0.08, 0.43, 0.86), 'C': (0.2, 0.2, 0.22)}
    order = np.argsort(-sizes)
    low, high = np.percentile(centroids.reshape(-1, 2), [0.5, 99.5], axis=0)
    x_lim, y_lim = (low[0] - 0.2, high[0] + 0.2), (high[1] + 0.2, low[1] - 0.2)  # y down, as in images
    shown_frames = np.unique(np.linspace(0, clip_frames - 1, min(clip_frames, 6)).round().astype(int))

    def draw_clip(ax, clip, title, frame_colour=None):
        """A clip as its poses at a few frames over each other, later frames darker: a move reads as a stroke from
        pale to solid. clip: (clip_frames, 15, 2) torso lengths."""
        segments, segment_colours = [], []
        for step, f in enumerate(shown_frames):
            alpha = 0.15 + 0.85 * (step + 1) / len(shown_frames)
            for (a, b), side in zip(BONES, BONE_SIDES):
                segments.append(clip[f, [a, b]])
                segment_colours.append(colours[side] + (alpha,))
        ax.add_collection(LineCollection(segments, colors=segment_colours, linewidths=0.8))
        ax.set_xlim(x_lim)
        ax.set_ylim(y_lim)
        ax.set_title(title, fontsize=6, pad=1)
        for spine in ax.spines.values():
            spine.set_linewidth(1.2 if frame_colour else 0.3)
            spine.set_edgecolor(frame_colour or 'black')

    def save_gallery(fig, path, title):
        for ax in fig.axes:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect('equal')
        fig.suptitle(title, fontsize=8)
        fig.tight_layout(pad=0.2, h_pad=0.2, w_pad=0.1, rect=(0, 0, 1, 1 - 0.25 / fig.get_figheight()))
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
        print(f"wrote {path}")

    gallery_dir = out_dir(dataset) if dancer == 'dancer' else out_dir(dataset, dancer)
    # moves.png: every centroid, largest cluster first.
    cols = int(np.ceil(np.sqrt(k * 1.5)))
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.25), squeeze=False)
    for ax, m in zip(axes.flat, order):
        draw_clip(ax, centroids[m], f"{m}: {sizes[m]}")
    for ax in axes.flat[k:]:
        ax.set_axis_off()
    save_gallery(fig, os.path.join(gallery_dir, 'moves.png'),
                 f"{dataset}: {k} moves, pale to dark over the clip (move: training clips)")

    # move_clips.png: the largest moves, each as its centroid (framed) beside a few of its real member clips, which
    # are what a dancer with clips='real' dances.
    shown_moves = [m for m in order[:gallery_moves] if sizes[m] > 0]
    groups_per_row = 4
    members_shown = 3
    cols = groups_per_row * (1 + members_shown)
    rows = max(1, int(np.ceil(len(shown_moves) / groups_per_row)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.25), squeeze=False)
    rng = np.random.default_rng(seed)
    for ax in axes.flat:
        ax.set_axis_off()
    for g, m in enumerate(shown_moves):
        row, col = divmod(g, groups_per_row)
        group = axes[row, col * (1 + members_shown):(col + 1) * (1 + members_shown)]
        group[0].set_axis_on()
        draw_clip(group[0], centroids[m], f"move {m} ({sizes[m]})", frame_colour=(0.9, 0.55, 0.0))
        members = np.flatnonzero(library['labels'] == m)
        for ax, c in zip(group[1:], rng.choice(members, min(members_shown, len(members)), replace=False)):
            ax.set_axis_on()
            travel = np.linalg.norm(library['root_paths'][c, -1])
            draw_clip(ax, library['normed'][c], f"{library['dances'][c][:12]} {travel:.1f}tl")
    save_gallery(fig, os.path.join(gallery_dir, 'move_clips.png'),
                 f"{dataset}: the {len(shown_moves)} largest moves: centroid (framed) and {members_shown} real member "
                 f"clips (dance, root travel over the clip in torso lengths)")
