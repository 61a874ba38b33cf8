"""Quality of the GAN dancer (train_pose.py + train_seq.py) on a dataset's held-out songs.

For every test clip it generates `n_samples` dances (seeds seed, seed+1, ...) for the clip's whole song with
models.gan.generate_dance, which chains seq_len-frame windows, and prints:
- beat alignment (l2d.metrics.beat_metrics): BAS of the generated dances and of the real dance (both MidHip-centred,
  as the GAN keeps the root fixed), their ratio (target >= 0.9), the BAS against the off-beats (the null: a dance
  that ignores the music scores about as well there), coverage (motion beats per music beat) and hit rate;
- body drift (l2d.plausibility.bone_drift): mean bone lengths over each `segment_s` segment vs the training poses'
  mean; worst segment over all songs and samples, for the whole figure ('body', target < 5%) and for single bones;
  the real test dances against the same reference for scale;
- limb excess (l2d.metrics.limb_excess_rate): share of frames with a bone longer than that bone ever is in the
  training poses, for the GAN dances and the real test dances, each scaled by its own torso length as bench.py does;
- diversity (l2d.plausibility.diversity): mean joint distance (torso lengths) between the samples of a song, beside
  the real dance's motion (mean joint distance from its own mean pose);
- music dependence: mean joint distance between dances made with the same seed for two different songs;
- joins: the largest frame-to-frame joint step at the window joins vs everywhere else;
- speed: seconds of dance generated per second.
Writes out/<dataset>/gan_quality.json.

    python benchmarks/gan_quality.py --dataset=demo
    python benchmarks/gan_quality.py --dataset=dance_with_melody
"""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from l2d.config import configure  # noqa: E402
from l2d.io import InputError, data_dir, load_poses, out_dir, save_json, split_clips  # noqa: E402
from l2d.metrics import beat_metrics, limb_excess_rate  # noqa: E402
from l2d.audio import load_music  # noqa: E402
from l2d.norm import normalize  # noqa: E402
from l2d.plausibility import bone_drift, diversity  # noqa: E402
from l2d.skeleton import bone_lengths  # noqa: E402

dataset = 'demo'
split = 'test'
n_samples = 3       # dances per song (for diversity; beat figures average over them)
segment_s = 2.0     # drift is measured on mean bone lengths over segments of this length
seed = 0
device = 'cpu'
settings = configure(globals())

import torch  # noqa: E402
from models.gan import generate_dance  # noqa: E402

ckpt_path = out_dir(dataset, 'gan_seq', 'ckpt.pt')
if not os.path.isfile(ckpt_path):
    sys.exit(f"error: {ckpt_path} not found (run train_pose.py and train_seq.py --dataset={dataset} first)")
ckpt = torch.load(ckpt_path, map_location=device)
fps, window = ckpt['fps'], ckpt['settings']['seq_len']
reference = ckpt['real_bone_lengths'].numpy()
segment = int(round(segment_s * fps))
train_lengths = []
for clip in split_clips(dataset, 'train'):
    try:
        train_lengths.append(bone_lengths(normalize(load_poses(data_dir(dataset, 'poses', clip + '.npz'))['poses'])[0]))
    except (InputError, ValueError) as e:
        print(f"{clip}: {e}; skipped")
max_lengths = np.concatenate(train_lengths).max(0)
rows, songs = [], {}
for clip in split_clips(dataset, split):
    try:
        real = load_poses(data_dir(dataset, 'poses', clip + '.npz'))
        music = load_music(data_dir(dataset, 'music', clip + '.npz'))
    except InputError as e:
        print(f"{e}; skipped")
        continue
    n = min(len(real['poses']), len(music['beats']))
    songs[clip] = music
    started = time.perf_counter()
    dances = [generate_dance(ckpt, music, n, seed + k, device=device) for k in range(n_samples)]
    seconds = time.perf_counter() - started
    real_normed = normalize(real['poses'][:n])[0]
    gen_beats = [beat_metrics(d, fps, music['beat_times_s']) for d in dances]
    real_beats = beat_metrics(real_normed, fps, music['beat_times_s'])
    steps = np.linalg.norm(np.diff(np.stack(dances), axis=1), axis=-1).max(-1)  # (samples, n-1) max joint step
    at_join = np.zeros(n - 1, bool)
    at_join[np.arange(window, n, window) - 1] = True
    drifts = [bone_drift(d, reference, segment) for d in dances]
    rows.append({
        'clip': clip, 'seconds': n / fps,
        'bas_real': real_beats['bas'], 'bas_real_shifted': real_beats['bas_shifted'],
        **{f'{k}_gan': float(np.mean([g[k] for g in gen_beats])) for k in ('bas', 'bas_shifted', 'coverage',
                                                                            'hit_rate')},
        'drift_body': max(d['body'] for d in drifts), 'drift_bone': max(d['bone'] for d in drifts),
        'drift_body_real': bone_drift(real_normed, reference, segment)['body'],
        'limb_excess': float(np.mean([limb_excess_rate(normalize(d)[0], max_lengths) for d in dances])),
        'limb_excess_real': limb_excess_rate(real_normed, max_lengths),
        'diversity': diversity(dances),
        'real_motion': float(np.linalg.norm(real_normed - real_normed.mean(0), axis=-1).mean()),
        'gan_motion': float(np.mean([np.linalg.norm(d - d.mean(0), axis=-1).mean() for d in dances])),
        'max_step_at_joins': float(steps[:, at_join].max()) if at_join.any() else float('nan'),
        'max_step_elsewhere': float(steps[:, ~at_join].max()),
        'x_realtime': n_samples * n / fps / seconds})
    print(f"{clip:18s} {n / fps:5.1f} s  BAS real {rows[-1]['bas_real']:.3f} gan {rows[-1]['bas_gan']:.3f} "
          f"(off-beat {rows[-1]['bas_shifted_gan']:.3f})  drift body {rows[-1]['drift_body']:.3f}  "
          f"diversity {rows[-1]['diversity']:.3f}", flush=True)
if not rows:
    sys.exit(f"error: no {split} clip of {dataset} has poses and music features")

clips = list(songs)
dependence = []
for a, b in zip(clips, clips[1:] + clips[:1]):
    if a != b:
        n = min(len(songs[a]['beats']), len(songs[b]['beats']), window * 3)
        dependence.append(np.linalg.norm(generate_dance(ckpt, songs[a], n, seed, device=device)
                                         - generate_dance(ckpt, songs[b], n, seed, device=device), axis=-1).mean())


def mean(key):
    return float(np.nanmean([r[key] for r in rows]))


summary = {
    'n_songs': len(rows), 'bas_real': mean('bas_real'), 'bas_gan': mean('bas_gan'),
    'bas_ratio': mean('bas_gan') / mean('bas_real'), 'bas_shifted_gan': mean('bas_shifted_gan'),
    'bas_real_shifted': mean('bas_real_shifted'), 'coverage_gan': mean('coverage_gan'),
    'hit_rate_gan': mean('hit_rate_gan'),
    'worst_drift_body': max(r['drift_body'] for r in rows), 'worst_drift_bone': max(r['drift_bone'] for r in rows),
    'worst_drift_body_real': max(r['drift_body_real'] for r in rows),
    'limb_excess': mean('limb_excess'), 'limb_excess_real': mean('limb_excess_real'),
    'diversity': mean('diversity'), 'gan_motion': mean('gan_motion'), 'real_motion': mean('real_motion'),
    'music_dependence': float(np.mean(dependence)) if dependence else float('nan'),
    'max_step_at_joins': max(r['max_step_at_joins'] for r in rows),
    'max_step_elsewhere': max(r['max_step_elsewhere'] for r in rows), 'x_realtime': mean('x_realtime')}
print(f"\n{dataset} {split}: {len(rows)} songs, {n_samples} GAN dances each (checkpoint step {ckpt['step']})")
print(f"BAS             real {summary['bas_real']:.3f}  GAN {summary['bas_gan']:.3f}  ratio {summary['bas_ratio']:.2f} "
      f"(target >= 0.9); off-beats: real {summary['bas_real_shifted']:.3f}  GAN {summary['bas_shifted_gan']:.3f}")
print(f"GAN beats       coverage {summary['coverage_gan']:.2f} motion beats per music beat, "
      f"hit rate {summary['hit_rate_gan']:.2f}")
print(f"body drift      worst {segment_s:g}-s segment: whole figure {100 * summary['worst_drift_body']:.1f}% "
      f"(target < 5%; real test dances {100 * summary['worst_drift_body_real']:.1f}%), "
      f"single bone {100 * summary['worst_drift_bone']:.1f}%")
print(f"limb excess     {100 * summary['limb_excess']:.1f}% of GAN frames have a bone longer than in any training pose "
      f"(real test dances {100 * summary['limb_excess_real']:.1f}%)")
print(f"diversity       {summary['diversity']:.3f} torso lengths between samples of a song "
      f"(motion: GAN {summary['gan_motion']:.3f}, real {summary['real_motion']:.3f} from the mean pose)")
print(f"music           same seed, two songs: {summary['music_dependence']:.3f} torso lengths apart")
print(f"joins           max joint step {summary['max_step_at_joins']:.3f} at window joins, "
      f"{summary['max_step_elsewhere']:.3f} elsewhere")
print(f"speed           {summary['x_realtime']:.0f}x real time on {device}")
path = out_dir(dataset, 'gan_quality.json')
save_json(path, {'settings': settings, 'checkpoint_step': ckpt['step'], 'summary': summary, 'songs': rows})
print(f"wrote {path}")
