"""How the GAN dancer dances: on the beat of held-out and never-heard songs, varied, still (not trembling), travelling.

Loads the trained GAN through models.dancers (as eval.py and bench.py do) and, for every clip of the split (the demo's
held-out test songs by default), generates `n_samples` dances (seeds seed, seed+1, ...) for the clip's whole song.
It then dances once to each recording of `recordings` (real music the demo never heard: ../shared/data/music, both
the .ogg and the .hq.ogg of each; skipped when absent), with beats from l2d.audio.song_features. It prints:
- beat alignment (l2d.metrics.beat_metrics, Bailando's BAS) against the song's beats and against its half-beat null
  (the off-beats), on the MidHip-centred poses and on the whole motion (root included); target: BAS >= 1.3x the
  null on each song;
- Div_k (l2d.metrics.diversity of 5-s kinetic features of the whole motion, z-normalised by the real training
  segments) between the dances of different songs (one per song), beside the real test dances; between the seeds
  of one song (l2d.metrics.multimodality);
- jerk (l2d.metrics.mean_jerk of the MidHip-centred poses) and the size of moves (mean joint distance from the
  dance's mean pose), GAN / real;
- travel (l2d.metrics.root_travel: root speed and floor width, torso lengths), GAN / real;
- limb excess (share of frames with a bone longer than in any training pose) and body drift (worst `segment_s`
  segment's mean bone lengths vs the training poses');
- joins: the largest joint step at the generator's window joins vs elsewhere;
- speed: seconds of dance per second of generation, without the music features (model only) and with them (one
  recording decoded and analysed, then danced).
Figures are means over songs with a 95 % bootstrap interval over songs (l2d.metrics.bootstrap_interval).
Writes out/<dataset>/gan_quality.json.

    python benchmarks/gan_quality.py --dataset=demo
    python benchmarks/gan_quality.py --dataset=dance_with_melody --recordings=''
"""
import glob
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from l2d.audio import load_music, song_features  # noqa: E402
from l2d.config import configure  # noqa: E402
from l2d.io import InputError, data_dir, load_poses, out_dir, save_json, split_clips  # noqa: E402
from l2d.metrics import (beat_metrics, bootstrap_interval, dance_features, diversity, in_torso_lengths,  # noqa: E402
                         limb_excess_rate, mean_jerk, multimodality, root_travel, standardize)
from l2d.norm import normalize  # noqa: E402
from l2d.plausibility import bone_drift  # noqa: E402
from l2d.progress import progress  # noqa: E402
from l2d.skeleton import bone_lengths  # noqa: E402

dataset = 'demo'
split = 'test'
n_samples = 3       # dances per song (Div_k between seeds; beat figures average over them)
segment_s = 5.0     # kinetic features are taken over segments of this length (as bench.py)
drift_segment_s = 2.0  # body drift is measured on mean bone lengths over segments of this length
recordings = os.path.join(os.path.dirname(ROOT), 'shared', 'data', 'music')  # '' for none
null_ratio_target = 1.3
seed = 0
device = 'cpu'
settings = configure(globals())

from models.dancers import load  # noqa: E402

try:
    dancer = load(dataset, 'gan', device)
except InputError as e:
    sys.exit(f"error: {e}")
fps, window = dancer.fps, dancer.ckpt['settings']['seq_len']


def read_dance(clip):
    """(pixel poses, music) of a clip, cut to the shorter of the two."""
    poses = load_poses(data_dir(dataset, 'poses', clip + '.npz'))['poses']
    music = load_music(data_dir(dataset, 'music', clip + '.npz'))
    n = min(len(poses), len(music['beats']))
    return poses[:n], music


def kinetic(poses):
    return dance_features(in_torso_lengths(poses), fps, segment_s)[0]


def beats(dance, beat_times_s):
    """BAS and its half-beat null, MidHip-centred ('normed') and on the whole motion ('whole')."""
    centred = beat_metrics(dance['normed'], fps, beat_times_s)
    whole = beat_metrics(in_torso_lengths(dance['poses']), fps, beat_times_s)
    return {'bas': centred['bas'], 'bas_null': centred['bas_shifted'],
            'bas_whole': whole['bas'], 'bas_whole_null': whole['bas_shifted']}


def motion_size(normed):
    return float(np.linalg.norm(normed - normed.mean(0), axis=-1).mean())


train_lengths, train_kinetic = [], []
for clip in split_clips(dataset, 'train'):
    try:
        poses, _ = read_dance(clip)
    except (InputError, ValueError) as e:
        print(f"{clip}: {e}; skipped")
        continue
    train_lengths.append(bone_lengths(normalize(poses)[0]))
    train_kinetic.append(kinetic(poses))
max_lengths = np.concatenate(train_lengths).max(0)
reference_lengths = np.concatenate(train_lengths).mean(0)
train_kinetic = np.concatenate(train_kinetic)
drift_segment = int(round(drift_segment_s * fps))

rows, real_kinetic, gan_kinetic, seed_kinetic = [], [], [], []
generation_s, generated_s = 0.0, 0.0
for clip in progress(split_clips(dataset, split), desc=f'GAN on {dataset} {split}'):
    try:
        real, music = read_dance(clip)
    except (InputError, ValueError) as e:
        print(f"{clip}: {e}; skipped")
        continue
    n = len(real)
    started = time.perf_counter()
    dances = [dancer.generate(music, n, seed + k) for k in range(n_samples)]
    generation_s += time.perf_counter() - started
    generated_s += n_samples * n / fps
    real_normed = normalize(real)[0]
    gen_beats = [beats(d, music['beat_times_s']) for d in dances]
    real_beats = beats(dict(normed=real_normed, poses=real), music['beat_times_s'])
    steps = np.linalg.norm(np.diff(np.stack([d['normed'] for d in dances]), axis=1), axis=-1).max(-1)
    at_join = np.zeros(n - 1, bool)
    at_join[np.arange(window, n, window) - 1] = True
    travel = [root_travel(in_torso_lengths(d['poses']), fps) for d in dances]
    real_travel = root_travel(in_torso_lengths(real), fps)
    features = [standardize(kinetic(d['poses']), train_kinetic) for d in dances]
    real_kinetic.append(standardize(kinetic(real), train_kinetic))
    gan_kinetic.append(features[0])
    seed_kinetic.append(features)
    rows.append({
        'clip': clip, 'seconds': n / fps,
        **{f'{k}_gan': float(np.mean([g[k] for g in gen_beats])) for k in gen_beats[0]},
        **{f'{k}_real': v for k, v in real_beats.items()},
        'jerk_gan': float(np.mean([mean_jerk(d['normed'], fps) for d in dances])),
        'jerk_real': mean_jerk(real_normed, fps),
        'motion_gan': float(np.mean([motion_size(d['normed']) for d in dances])),
        'motion_real': motion_size(real_normed),
        'root_speed_gan': float(np.mean([t['root_speed'] for t in travel])),
        'root_speed_real': real_travel['root_speed'],
        'floor_width_gan': float(np.mean([t['floor_width'] for t in travel])),
        'floor_width_real': real_travel['floor_width'],
        'limb_excess_gan': float(np.mean([limb_excess_rate(d['normed'], max_lengths) for d in dances])),
        'limb_excess_real': limb_excess_rate(real_normed, max_lengths),
        'drift_body_gan': max(bone_drift(d['normed'], reference_lengths, drift_segment)['body'] for d in dances),
        'max_step_at_joins': float(steps[:, at_join].max()) if at_join.any() else float('nan'),
        'max_step_elsewhere': float(steps[:, ~at_join].max())})
if not rows:
    sys.exit(f"error: no {split} clip of {dataset} has poses and music features")

recording_rows = []
paths = sorted(glob.glob(os.path.join(recordings, '*.ogg'))) if recordings else []
for path in progress(paths, desc='GAN on recordings'):
    started = time.perf_counter()
    music = song_features(path, fps)
    analysed = time.perf_counter()
    n = len(music['beats'])
    dance = dancer.generate(music, n, seed)
    done = time.perf_counter()
    recording_rows.append({'recording': os.path.basename(path), 'seconds': n / fps,
                           'tempo_bpm': float(music['tempo_bpm']), **beats(dance, music['beat_times_s']),
                           'features_s': analysed - started, 'generation_s': done - analysed})


def summary_of(items, key):
    """Mean over items of item[key] with its 95 % bootstrap interval over items."""
    values = np.array([r[key] for r in items], dtype=np.float64)
    low, high = bootstrap_interval(values)
    return {'mean': float(np.nanmean(values)), 'low': float(low), 'high': float(high)}


def ratio_summary(items, top, bottom):
    """Ratio of the means of two keys over items, with a paired 95 % bootstrap interval."""
    a, b = (np.array([r[k] for r in items], dtype=np.float64) for k in (top, bottom))
    low, high = bootstrap_interval(lambda i: np.nanmean(a[i]) / np.nanmean(b[i]), len(items))
    return {'ratio': float(np.nanmean(a) / np.nanmean(b)), 'low': float(low), 'high': float(high)}


songs = list(range(len(rows)))
real_groups = np.concatenate([np.full(len(k), i) for i, k in enumerate(real_kinetic)])
gan_groups = np.concatenate([np.full(len(k), i) for i, k in enumerate(gan_kinetic)])
div_real = diversity(np.concatenate(real_kinetic), real_groups)
div_gan = diversity(np.concatenate(gan_kinetic), gan_groups)
div_seeds = float(np.mean([multimodality(s) for s in seed_kinetic])) if n_samples > 1 else float('nan')
div_interval = bootstrap_interval(
    lambda i: diversity(np.concatenate([gan_kinetic[j] for j in i]),
                        np.concatenate([np.full(len(gan_kinetic[j]), k) for k, j in enumerate(i)])), len(rows))
summary = {
    'n_songs': len(rows), 'n_samples': n_samples, 'checkpoint_step': dancer.ckpt['step'],
    **{k: summary_of(rows, k) for k in ('bas_gan', 'bas_null_gan', 'bas_whole_gan', 'bas_whole_null_gan', 'bas_real',
                                        'bas_null_real', 'jerk_gan', 'jerk_real', 'motion_gan', 'motion_real',
                                        'root_speed_gan', 'root_speed_real', 'floor_width_gan', 'floor_width_real',
                                        'limb_excess_gan', 'limb_excess_real')},
    'bas_over_null_gan': ratio_summary(rows, 'bas_gan', 'bas_null_gan'),
    'bas_whole_over_null_gan': ratio_summary(rows, 'bas_whole_gan', 'bas_whole_null_gan'),
    'songs_bas_over_null_below_target': [r['clip'] for r in rows
                                         if r['bas_gan'] < null_ratio_target * r['bas_null_gan']],
    'jerk_ratio': ratio_summary(rows, 'jerk_gan', 'jerk_real'),
    'motion_ratio': ratio_summary(rows, 'motion_gan', 'motion_real'),
    'root_speed_ratio': ratio_summary(rows, 'root_speed_gan', 'root_speed_real'),
    'floor_width_ratio': ratio_summary(rows, 'floor_width_gan', 'floor_width_real'),
    'div_k_songs_gan': div_gan, 'div_k_songs_gan_interval': [float(v) for v in div_interval],
    'div_k_songs_real': div_real, 'div_k_seeds_gan': div_seeds,
    'worst_drift_body_gan': max(r['drift_body_gan'] for r in rows),
    'max_step_at_joins': max(r['max_step_at_joins'] for r in rows),
    'max_step_elsewhere': max(r['max_step_elsewhere'] for r in rows),
    'x_realtime_model': generated_s / generation_s}
if recording_rows:
    total = sum(r['seconds'] for r in recording_rows)
    summary['x_realtime_with_features'] = total / sum(r['features_s'] + r['generation_s'] for r in recording_rows)
    summary['recordings_bas_over_null_below_target'] = [r['recording'] for r in recording_rows
                                                        if r['bas'] < null_ratio_target * r['bas_null']]


def fmt(s):
    return f"{s['mean']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"


def fmt_ratio(s):
    return f"{s['ratio']:.2f}x [{s['low']:.2f}, {s['high']:.2f}]"


print(f"\n{dataset} {split}: {len(rows)} songs, {n_samples} GAN dances each (checkpoint step {dancer.ckpt['step']}); "
      f"means with 95 % bootstrap intervals over songs")
for r in rows:
    print(f"  {r['clip']:18s} BAS {r['bas_gan']:.3f} null {r['bas_null_gan']:.3f} "
          f"({r['bas_gan'] / max(r['bas_null_gan'], 1e-9):.2f}x; real {r['bas_real']:.3f} / {r['bas_null_real']:.3f})")
print(f"BAS (centred)   GAN {fmt(summary['bas_gan'])} vs half-beat null {fmt(summary['bas_null_gan'])}: "
      f"{fmt_ratio(summary['bas_over_null_gan'])} (target >= {null_ratio_target}); real {fmt(summary['bas_real'])} "
      f"vs {fmt(summary['bas_null_real'])}")
print(f"BAS (whole)     GAN {fmt(summary['bas_whole_gan'])} vs null {fmt(summary['bas_whole_null_gan'])}: "
      f"{fmt_ratio(summary['bas_whole_over_null_gan'])}")
for r in recording_rows:
    print(f"  {r['recording'][:60]:60s} {r['seconds']:5.0f} s {r['tempo_bpm']:5.0f} BPM  BAS {r['bas']:.3f} "
          f"null {r['bas_null']:.3f} ({r['bas'] / max(r['bas_null'], 1e-9):.2f}x; whole {r['bas_whole']:.3f} / "
          f"{r['bas_whole_null']:.3f})")
print(f"Div_k songs     GAN {div_gan:.2f} [{div_interval[0]:.2f}, {div_interval[1]:.2f}] vs real {div_real:.2f} "
      f"({div_gan / div_real:.2f}x; target >= 0.9x); between seeds of a song {div_seeds:.2f}")
print(f"jerk            GAN {fmt(summary['jerk_gan'])} vs real {fmt(summary['jerk_real'])} torso lengths/s^3: "
      f"{fmt_ratio(summary['jerk_ratio'])} (target <= 1.3x)")
print(f"size of moves   GAN {fmt(summary['motion_gan'])} vs real {fmt(summary['motion_real'])} torso lengths: "
      f"{fmt_ratio(summary['motion_ratio'])}")
print(f"travel          root speed {fmt_ratio(summary['root_speed_ratio'])} of real "
      f"({summary['root_speed_real']['mean']:.3f} torso lengths/s), floor width "
      f"{fmt_ratio(summary['floor_width_ratio'])} of real ({summary['floor_width_real']['mean']:.2f} torso lengths)")
print(f"body            limb excess GAN {100 * summary['limb_excess_gan']['mean']:.1f}% (real "
      f"{100 * summary['limb_excess_real']['mean']:.1f}%), worst {drift_segment_s:g}-s drift "
      f"{100 * summary['worst_drift_body_gan']:.1f}%")
print(f"joins           max joint step {summary['max_step_at_joins']:.3f} at window joins, "
      f"{summary['max_step_elsewhere']:.3f} elsewhere")
print(f"speed           {summary['x_realtime_model']:.0f}x real time (model only, {device})"
      + (f", {summary['x_realtime_with_features']:.0f}x with decoding and music features of the recordings"
         if recording_rows else ''))
path = out_dir(dataset, 'gan_quality.json')
save_json(path, {'settings': settings, 'summary': summary, 'songs': rows, 'recordings': recording_rows})
print(f"wrote {path}")
