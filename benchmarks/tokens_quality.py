"""How the token dancer (models.dancers 'tokens': train_vqvae.py + train_gpt.py) dances the TEST songs of a dataset,
beside the real test dances, for a few sampling settings.

For each test song (its music-feature file, at the dancer's fps) and each of `seeds`, the dancer dances the song's
length; the figures are means over the test dances (generated: over dances x seeds), with l2d.metrics' yardstick on
pixel poses in torso lengths, root included (l2d.metrics.in_torso_lengths):
- BAS (Bailando's direction) against the music beats, against the off-beats (half-beat null) and the circularly
  shifted beats; coverage (motion beats per music beat);
- root travel (l2d.metrics.root_travel: mean root speed in torso lengths/s, floor width covered in torso lengths);
- jerk (l2d.metrics.mean_jerk, torso lengths/s^3);
- FID_k and FID_g (5-s segments, z-normalised by the real TRAINING segments) against the real test segments, Div_k,
  and the style accuracy of a classifier fitted to the real training segments (when meta.json has labels);
- generation speed: seconds danced per second spent in `generate` (rendering and audio decoding excluded).
It also prints the VQ-VAE's report (out/<dataset>/vqvae/report.json) and the transformer's (gpt/report.json), and
a last row, the ceiling: the real test dances tokenised, decoded and finished by the dancer (TokenDancer.rebuild),
what it would dance if its transformer wrote each song's real tokens.

    python benchmarks/tokens_quality.py [--dataset=demo] [--sampling=1.0:5:1:0,0.8:20:1:0.1]
"""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from l2d.audio import load_music  # noqa: E402
from l2d.config import configure  # noqa: E402
from l2d.io import InputError, data_dir, load_json, load_meta, load_poses, out_dir, split_clips  # noqa: E402
from l2d.metrics import (beat_metrics, dance_features, diversity, fid, in_torso_lengths, mean_jerk,  # noqa: E402
                         root_travel, standardize, style_accuracy)
from models.dancers import load  # noqa: E402

dataset = 'demo'
# temperature:top_k:snap_beats (1/0):smooth_s of each row, comma separated
sampling = '1.0:5:1:0.1,1.0:5:0:0.1,1.0:5:1:0'
compare = 'dancer,gan'    # other dancers of models.dancers to score beside it (their default settings; '' none)
seeds = 2                 # dances per test song and setting
segment_s = 5.0           # FID segment length
device = 'cpu'
settings = configure(globals())

import torch  # noqa: E402

torch.set_num_threads(1)
meta = load_meta(dataset)['clips']


def real_dances(split):
    """{clip: (pixel poses, music dict)} of a split."""
    dances = {}
    for clip in split_clips(dataset, split):
        try:
            dances[clip] = (load_poses(data_dir(dataset, 'poses', clip + '.npz'))['poses'],
                            load_music(data_dir(dataset, 'music', clip + '.npz')))
        except InputError as e:
            print(f"{e}; skipped")
    return dances


def scores(dances, fps):
    """Figures of a list of (clip, pixel poses, music) -> dict of means, and the segment features."""
    rows, kinetic, geometric, groups, labels = [], [], [], [], []
    for i, (clip, poses, music) in enumerate(dances):
        body = in_torso_lengths(poses)
        beat = beat_metrics(body, fps, music['beat_times_s'])
        rows.append(dict(bas=beat['bas'], bas_shifted=beat['bas_shifted'], bas_circular=beat['bas_circular'],
                         coverage=beat['coverage'], jerk=mean_jerk(body, fps), **root_travel(body, fps)))
        k, g = dance_features(body, fps, segment_s)
        kinetic.append(k)
        geometric.append(g)
        groups += [i] * len(k)
        labels += [meta[clip].get('label')] * len(k)
    means = {key: float(np.nanmean([r[key] for r in rows])) for key in rows[0]}
    return means, np.concatenate(kinetic), np.concatenate(geometric), np.array(groups), labels


def figures(dances):
    """`scores` of a list of (clip, pixel poses, music) plus FID_k, FID_g, Div_k and the style accuracy."""
    means, k, g, groups, labels = scores(dances, fps)
    means.update(fid_k=fid(k, real_k, train_k), fid_g=fid(g, real_g, train_g),
                 div_k=diversity(standardize(k, train_k), groups))
    if has_styles:
        means['style_accuracy'] = style_accuracy(np.c_[train_k, train_g], train_labels,
                                                 {'x': (np.c_[k, g], labels)})['x']
    return means


for stage in ('vqvae', 'gpt'):
    path = out_dir(dataset, stage, 'report.json')
    if os.path.isfile(path):
        report = load_json(path)
        report.pop('settings', None)
        print(f"{path}: {report}")

test, train = real_dances('test'), real_dances('train')
tokens_dancer = load(dataset, 'tokens', device)
fps = tokens_dancer.fps
real, real_k, real_g, real_groups, real_labels = scores([(c, p, m) for c, (p, m) in test.items()], fps)
_, train_k, train_g, _, train_labels = scores([(c, p, m) for c, (p, m) in train.items()], fps)
has_styles = all(train_labels) and all(real_labels)
print(f"{len(test)} test dances ({len(real_k)} segments of {segment_s:g} s), {len(train)} training dances "
      f"({len(train_k)} segments), {seeds} seeds per song and setting")
lines = {'real test dances': dict(real, fid_k=float('nan'), fid_g=float('nan'),
                                  div_k=diversity(standardize(real_k, train_k), real_groups), speed=float('nan'))}
rows = [(f"tokens T={p.split(':')[0]} k={p.split(':')[1]} snap={p.split(':')[2]} sm={p.split(':')[3]}", 'tokens',
         dict(temperature=float(p.split(':')[0]), top_k=int(p.split(':')[1]), snap_beats=p.split(':')[2] == '1',
              smooth_s=float(p.split(':')[3]))) for p in sampling.split(',')] + \
    [(name, name, None) for name in compare.split(',') if name]
for row, name, options in rows:
    try:
        dancer = load(dataset, name, device, options)
    except InputError as e:
        print(f"{name}: {e}; skipped")
        continue
    generated, spent_s, spent_cpu_s, danced_s = [], 0.0, 0.0, 0.0
    for clip, (poses, music) in test.items():
        for seed in range(seeds):
            started, started_cpu = time.perf_counter(), time.process_time()
            dance = dancer.generate(music, len(poses), seed)
            spent_s += time.perf_counter() - started
            spent_cpu_s += time.process_time() - started_cpu
            danced_s += len(poses) / fps
            generated.append((clip, dance['poses'], music))
    lines[row] = dict(figures(generated), speed=danced_s / spent_s, speed_cpu=danced_s / spent_cpu_s)
lines['tokens rebuilt (ceiling)'] = figures([(clip, tokens_dancer.rebuild(poses, music)['poses'], music)
                                             for clip, (poses, music) in test.items()])
if has_styles:
    lines['real test dances']['style_accuracy'] = style_accuracy(np.c_[train_k, train_g], train_labels,
                                                                 {'x': (np.c_[real_k, real_g], real_labels)})['x']
keys = ['bas', 'bas_shifted', 'bas_circular', 'coverage', 'root_speed', 'floor_width', 'jerk', 'fid_k', 'fid_g',
        'div_k'] + (['style_accuracy'] if has_styles else []) + ['speed', 'speed_cpu']
print(f"{'':28s}" + ''.join(f"{k[:12]:>13s}" for k in keys))
for name, means in lines.items():
    print(f"{name:28s}" + ''.join(f"{means.get(k, float('nan')):13.3f}" for k in keys))
print("speed: seconds danced per second of generate() on 1 CPU thread, wall clock (speed) and this process's CPU time "
      "(speed_cpu, what an unshared core would take); rendering and audio decoding excluded")
