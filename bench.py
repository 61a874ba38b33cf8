"""How good is the dance? Every dancer on a dataset's test split, scored with the full metric suite of l2d.metrics.

Dancers (one row each in the report):
  real          the real test dances: the ceiling (its FID is real train vs real test, the floor of FID)
  random_moves  the move vocabulary (data/<dataset>/moves.npz) sampled uniformly with no music, on a steady grid:
                the floor of every music-related score
  original      the original learn2dance design re-created as a configuration of cluster.py/train.py/eval.py:
                1-s move clips, a long music window standing in for its whole-song encoder (train.py has no
                whole-song encoder), top-5 sampling; clustered and trained in out/<dataset>/bench/original/
  <model>       each of `models`: eval.py --model=<model> with the checkpoints already trained in out/<dataset>/
                (the project's move-classifier dancer, the GAN dancer)

Generated dances come from one `eval.py --save_dances=True` process per dancer (its test-split mode: a dance per
test song from the song's music features, and extra seeds for the first song) and are kept in
out/<dataset>/bench/dances/<dancer>/. Every pose sequence is normalised (l2d.norm.normalize: MidHip-centred, torso
lengths) before scoring, so root travel and camera framing do not count; generated dances are cut to the real
dance's length. Beat scores use the music's beats of data/<dataset>/music/ (process_waves.py); the other features
are computed over `segment_s` segments. Generation speed is eval.py's own figure (speed_x_realtime of its eval json):
seconds of dance per second of audio decoding, music features and generating, over the test songs; Python start-up,
imports and model loading (a few seconds once per process) are not counted.

Writes out/<dataset>/report.md (table, targets, how it was made), report.json (every number, per song),
beats.png (music beats over the motion-speed curves of one test song), kinetic.png (kinetic features, real vs
generated) and compare.mp4 (real beside generated, with the song).

    python bench.py --dataset=demo
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

from l2d.config import configure
from l2d.io import (AUDIO_EXTENSIONS, InputError, ROOT, atomic_path, data_dir, find_media, load_meta, load_poses,
                    out_dir, save_json)
from l2d.metrics import (BAS_SIGMA_S, HIT_TOLERANCE_S, MOTION_BEAT_SIGMA_S, PERIOD_TOLERANCE, beat_metrics,
                         beat_period_s, dance_features, diversity, dominant_period_s, fid, limb_excess_rate, mean_jerk,
                         motion_beats, motion_speed, multimodality, period_match, standardize, style_accuracy)
from l2d.audio import load_music
from l2d.moves import dance_bounds, join_clips, load_moves
from l2d.norm import normalize
from l2d.plausibility import bone_drift
from l2d.skeleton import bone_lengths

dataset = 'demo'
models = 'dancer,gan'  # eval.py generators trained in out/<dataset>/; one missing is reported, not fatal
original = True  # re-create and benchmark the original learn2dance design
original_clip_s = 1.0
original_context = 8.0  # clip durations of music on each side (17 s windows): the stand-in for a whole-song encoder
original_music_rows = 48
original_epochs = 40
top_k = 5  # eval.py's sampling among the k likeliest moves
samples = 3  # dances of the first test song (its test dance, then seeds seed+1001...), for multimodality
segment_s = 5.0  # feature segments: FID, diversity and style accuracy compare segments of this length
seed = 0
video = True  # compare.mp4
settings = configure(globals())

# The random-moves floor joins its moves as eval.py does by default, so only the choice of moves differs.
RANDOM_BLEND_S, RANDOM_EASE = 0.25, 1.0
PY = sys.executable
EVAL = os.path.join(ROOT, 'eval.py')
bench_dir = out_dir(dataset, 'bench')
meta = load_meta(dataset)
train_clips = sorted(c for c, m in meta['clips'].items() if m.get('split') == 'train')
test_clips = sorted(c for c, m in meta['clips'].items() if m.get('split') == 'test')
if not test_clips:
    sys.exit(f"error: {data_dir(dataset, 'meta.json')} has no test clips (run the dataset's prepare.py first)")


def load_real(clips):
    """{clip: (pixel poses, fps)} of the readable pose files; prints a line for each unreadable one."""
    real = {}
    for clip in clips:
        try:
            d = load_poses(data_dir(dataset, 'poses', clip + '.npz'))
            real[clip] = (d['poses'], d['fps'])
        except InputError as e:
            print(f"skipping {clip}: {e}")
    return real


real_test, real_train = load_real(test_clips), load_real(train_clips)
beats_s = {}
for clip in list(real_test):
    try:
        beats_s[clip] = np.asarray(load_music(data_dir(dataset, 'music', clip + '.npz'))['beat_times_s'])
    except (InputError, KeyError) as e:
        print(f"skipping {clip}: {e}")
        real_test.pop(clip)
if not real_test or not real_train:
    sys.exit(f"error: {dataset} needs readable train and test dances with music features "
             f"(run parse.py / process_waves.py first)")
fps = float(next(iter(real_test.values()))[1])
audio = {c: find_media(data_dir(dataset, 'audio'), c, AUDIO_EXTENSIONS) for c in real_test}
first_clip = sorted(real_test)[0]

# ---- the dancers -------------------------------------------------------------------------------------------------
dancers = {'real': {c: p for c, (p, _) in real_test.items()}}
extra_samples, speeds, notes, made_by = {}, {}, {}, {'real': 'the real test dances'}


def run_eval(name, model, env):
    """One `eval.py --model=<model> --save_dances=True` process in the roots of `env`: a dance for every test song
    (and `samples` - 1 more for the first song), kept in out/<dataset>/bench/dances/<name>/. A song eval.py skips is
    missing from the result; eval.py failing (no such model, no checkpoint) raises RuntimeError with its last line.
    Returns ({clip: pixel poses}, [first-song dances], speed x real time as eval.py measured it)."""
    roots_out = env.get('L2D_OUT') or os.path.join(ROOT, 'out')
    print(f"{name}: eval.py --model={model} on the test split")
    proc = subprocess.run([PY, EVAL, f'--dataset={dataset}', f'--model={model}', '--save_dances=True',
                           f'--samples={samples}', '--compare_video=False', f'--seed={seed}', f'--top_k={top_k}'],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip() or proc.stdout.strip() or 'failed').splitlines()[-1])
    with open(os.path.join(roots_out, dataset, 'eval.json' if model == 'dancer' else f'eval_{model}.json')) as f:
        report = json.load(f)
    dances, sample_dances = {}, []
    for clip, result in report['per_song'].items():
        if clip not in real_test:
            continue
        for k, path in enumerate(result.get('dance_files', [])):
            kept = os.path.join(bench_dir, 'dances', name, clip + (f'_sample{k}' if k else '') + '.npz')
            os.makedirs(os.path.dirname(kept), exist_ok=True)
            os.replace(path, kept)
            poses = load_poses(kept)['poses']
            if k == 0:
                dances[clip] = poses
            if clip == first_clip:
                sample_dances.append(poses)
    if not dances:
        raise RuntimeError(f"eval.py wrote no test dance for {name}")
    return dances, sample_dances, report.get('speed_x_realtime', float('nan'))


def original_roots():
    """Data and out roots of the original design: links to this dataset's meta.json, poses/, music/ and audio/,
    and its own moves.npz and checkpoint. Returns the environment for its subprocesses."""
    root = os.path.join(bench_dir, 'original')
    data_root, out_root = os.path.join(root, 'data'), os.path.join(root, 'out')
    os.makedirs(os.path.join(data_root, dataset), exist_ok=True)
    for entry in ('meta.json', 'poses', 'music', 'audio'):
        link, target = os.path.join(data_root, dataset, entry), data_dir(dataset, entry)
        if os.path.exists(target) and not os.path.lexists(link):
            os.symlink(os.path.abspath(target), link)
    return dict(os.environ, L2D_DATA=data_root, L2D_OUT=out_root)


def run_stage(env, script, *args):
    """Run a pipeline stage, its output shown as it goes; RuntimeError when it fails (it prints why)."""
    proc = subprocess.run([PY, os.path.join(ROOT, script), *args], env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} exited with {proc.returncode} (its error is above)")


# Random moves: the project's vocabulary, no music.
moves_path = data_dir(dataset, 'moves.npz')
if os.path.isfile(moves_path):
    vocabulary = load_moves(moves_path)
    rng = np.random.default_rng(seed)
    beats_per_clip = int(vocabulary['beats_per_clip'])
    beat_s = float(vocabulary['median_clip_s']) / (beats_per_clip if vocabulary['unit'] == 'beats' else 1)

    def random_dance(n_frames):
        """Moves drawn uniformly on the steady grid eval.py uses for a song without beats: (n_frames, 15, 2)."""
        bounds = dance_bounds(n_frames, fps, vocabulary['unit'], float(vocabulary['clip_s']), beats_per_clip, None,
                              beat_s)
        moves = rng.integers(0, len(vocabulary['centroids']), len(bounds))
        return join_clips(vocabulary['centroids'][moves], bounds, n_frames, int(round(RANDOM_BLEND_S * fps)),
                          RANDOM_EASE)

    started = time.perf_counter()
    dancers['random_moves'] = {clip: random_dance(len(poses)) for clip, (poses, _) in real_test.items()}
    speeds['random_moves'] = sum(len(p) for p, _ in real_test.values()) / fps / (time.perf_counter() - started)
    extra_samples['random_moves'] = [dancers['random_moves'][first_clip]] + [
        random_dance(len(real_test[first_clip][0])) for _ in range(samples - 1)]
    made_by['random_moves'] = (f"{moves_path}: {len(vocabulary['centroids'])} moves (unit {vocabulary['unit']}) "
                               f"drawn uniformly (seed {seed}) on a steady grid, joined as eval.py joins them "
                               f"({RANDOM_BLEND_S} s blends, ease {RANDOM_EASE})")
else:
    notes['random_moves'] = f"{moves_path} not found (run cluster.py)"

if original:
    env = original_roots()
    try:
        if not os.path.isfile(os.path.join(env['L2D_DATA'], dataset, 'moves.npz')):
            run_stage(env, 'cluster.py', f'--dataset={dataset}', '--unit=seconds', f'--clip_s={original_clip_s}',
                      '--gallery=False', f'--seed={seed}')
        run_stage(env, 'train.py', f'--dataset={dataset}', f'--context={original_context}',
                  f'--music_rows={original_music_rows}', f'--epochs={original_epochs}', f'--seed={seed}')
        dancers['original'], extra_samples['original'], speeds['original'] = run_eval('original', 'dancer', env)
        made_by['original'] = (f"cluster.py --unit=seconds --clip_s={original_clip_s}; train.py "
                               f"--context={original_context} --music_rows={original_music_rows} "
                               f"--epochs={original_epochs} --seed={seed}; eval.py --top_k={top_k}")
    except RuntimeError as e:
        notes['original'] = str(e)
        print(f"original design: {e}")

for model in [m.strip() for m in models.split(',') if m.strip()]:
    try:
        dancers[model], extra_samples[model], speeds[model] = run_eval(model, model, dict(os.environ))
        made_by[model] = f"eval.py --model={model} --top_k={top_k} with out/{dataset}/'s checkpoint"
    except RuntimeError as e:
        notes[model] = str(e)
        print(f"{model}: {e}")

# ---- scores ------------------------------------------------------------------------------------------------------
def normed(poses):
    return normalize(poses)[0].astype(np.float64)


real_train_n = {c: normed(p) for c, (p, _) in real_train.items()}
real_test_n = {c: normed(p) for c, (p, _) in real_test.items()}
reference_lengths = np.concatenate([bone_lengths(p) for p in real_train_n.values()])
mean_lengths, max_lengths = reference_lengths.mean(0), reference_lengths.max(0)


def features_of(dances):
    """Per-segment kinetic and geometric features and the clip of each segment."""
    kinetic, geometric, groups = [], [], []
    for clip, poses in dances.items():
        k, g = dance_features(poses, fps, segment_s)
        kinetic.append(k)
        geometric.append(g)
        groups += [clip] * len(k)
    return np.concatenate(kinetic), np.concatenate(geometric), np.asarray(groups)


test_k, test_g, test_groups = features_of(real_test_n)
train_k, train_g, train_groups = features_of(real_train_n)
labels = {c: m.get('label') for c, m in meta['clips'].items()}
has_labels = all(labels.get(c) is not None for c in list(real_train_n) + list(real_test_n))
label_train = np.asarray([labels[c] for c in train_groups]) if has_labels else None

rows, per_song, kinetic_of = {}, {}, {}
for name, dances in dancers.items():
    dances_n = {c: normed(p)[:len(real_test_n[c])] for c, p in dances.items()} if name != 'real' else real_test_n
    row, songs = {'n_dances': len(dances_n)}, {}
    for clip, poses in dances_n.items():
        m = beat_metrics(poses, fps, beats_s[clip])
        m['motion_period_s'] = dominant_period_s(poses, fps)
        m['beat_period_s'] = beat_period_s(beats_s[clip])
        m['period_match'] = period_match(m['motion_period_s'], m['beat_period_s'])
        m['mean_jerk'] = mean_jerk(poses, fps)
        m['limb_excess'] = limb_excess_rate(poses, max_lengths)
        m['bone_drift'] = bone_drift(poses, mean_lengths, int(round(segment_s * fps)))['body']
        songs[clip] = m
    for key in ('bas', 'bas_shifted', 'coverage', 'hit_rate', 'hit_rate_shifted', 'mean_jerk', 'limb_excess',
                'bone_drift'):
        row[key] = float(np.nanmean([s[key] for s in songs.values()]))
    row['bas_ratio'] = row['bas'] / row['bas_shifted'] if row['bas_shifted'] > 0 else float('inf')
    row['period_match'] = float(np.mean([s['period_match'] != 'none' for s in songs.values()]))
    k, g, groups = features_of(dances_n)
    kinetic_of[name] = k
    if name == 'real':
        row['fid_k'] = fid(train_k, test_k)
        row['fid_g'] = fid(train_g, test_g)
    else:
        row['fid_k'] = fid(k, test_k)
        row['fid_g'] = fid(g, test_g)
    row['div_k'] = diversity(standardize(k, test_k), groups)
    row['div_g'] = diversity(standardize(g, test_g), groups)
    if len(extra_samples.get(name, [])) >= 2:
        sample_k = [standardize(dance_features(normed(p)[:len(real_test_n[first_clip])], fps, segment_s)[0], test_k)
                    for p in extra_samples[name]]
        row['multimodality_k'] = multimodality(sample_k)
    if has_labels:
        row['style_accuracy'] = style_accuracy(train_k, label_train,
                                               {name: (k, np.asarray([labels[c] for c in groups]))}, seed)[name]
    if name in speeds:
        row['speed_x_realtime'] = speeds[name]
    rows[name], per_song[name] = row, songs

# ---- the report --------------------------------------------------------------------------------------------------
COLUMNS = (('bas', 'BAS', '.3f'), ('bas_shifted', 'BAS off-beat', '.3f'), ('bas_ratio', 'BAS ratio', '.2f'),
           ('coverage', 'coverage', '.2f'), ('hit_rate', 'hit rate', '.2f'),
           ('hit_rate_shifted', 'hit off-beat', '.2f'), ('period_match', 'period match', '.2f'),
           ('fid_k', 'FID_k', '.2f'), ('fid_g', 'FID_g', '.2f'), ('div_k', 'Div_k', '.2f'), ('div_g', 'Div_g', '.2f'),
           ('multimodality_k', 'MM_k', '.2f'), ('style_accuracy', f"{meta.get('label_kind') or 'label'} acc", '.2f'),
           ('bone_drift', 'bone drift', '.3f'), ('mean_jerk', 'jerk', '.0f'), ('limb_excess', 'limb excess', '.3f'),
           ('speed_x_realtime', 'speed xRT', '.1f'))


def cell(value, spec):
    return '—' if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


table = ['| dancer | ' + ' | '.join(c[1] for c in COLUMNS) + ' |', '|---' * (len(COLUMNS) + 1) + '|']
for name, row in rows.items():
    table.append(f'| {name} | ' + ' | '.join(cell(row.get(k), spec) for k, _, spec in COLUMNS) + ' |')

real_row = rows['real']
targets = []
for name, row in rows.items():
    if name in ('real', 'random_moves'):
        continue
    checks = [
        ('BAS >= 1.3 x off-beat BAS', row['bas'] >= 1.3 * row['bas_shifted'], f"{row['bas_ratio']:.2f}x"),
        ('BAS >= real BAS', row['bas'] >= real_row['bas'], f"{row['bas']:.3f} vs {real_row['bas']:.3f}"),
        ('FID_k <= 2 x real train-vs-test FID_k', row['fid_k'] <= 2 * real_row['fid_k'],
         f"{row['fid_k']:.2f} vs {2 * real_row['fid_k']:.2f}"),
        ('Div_k >= 0.8 x real Div_k', row['div_k'] >= 0.8 * real_row['div_k'],
         f"{row['div_k']:.2f} vs {0.8 * real_row['div_k']:.2f}")]
    if has_labels:
        checks.append(('style acc >= 0.8 x real', row['style_accuracy'] >= 0.8 * real_row['style_accuracy'],
                       f"{row['style_accuracy']:.2f} vs {0.8 * real_row['style_accuracy']:.2f}"))
    targets.append(f"- **{name}**: " + '; '.join(f"{what} {'met' if ok else 'MISSED'} ({figures})"
                                                   for what, ok, figures in checks))

os.makedirs(out_dir(dataset), exist_ok=True)
figures = []

import matplotlib  # noqa: E402

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import scipy.ndimage  # noqa: E402


def save_figure(fig, name):
    """Write a matplotlib figure beside the report (atomically) and list it among the report's figures."""
    fig.tight_layout()
    with atomic_path(out_dir(dataset, name)) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    figures.append(name)


# Beat alignment of one test song: the smoothed motion speed that motion_beats reads, its minima, the music's beats.
shown_s = min(12.0, len(real_test_n[first_clip]) / fps)
fig, axes = plt.subplots(len(dancers), 1, figsize=(10, 1.6 * len(dancers)), sharex=True, squeeze=False)
for ax, (name, dances) in zip(axes[:, 0], dancers.items()):
    poses = real_test_n[first_clip] if name == 'real' else normed(dances[first_clip])[:len(real_test_n[first_clip])]
    speed = scipy.ndimage.gaussian_filter1d(motion_speed(poses, fps), MOTION_BEAT_SIGMA_S * fps, mode='nearest')
    t_s = np.arange(len(speed)) / fps
    shown = t_s < shown_s
    for b in beats_s[first_clip][beats_s[first_clip] < shown_s]:
        ax.axvline(b, color='0.6', lw=0.8)
    ax.plot(t_s[shown], speed[shown], color='tab:red' if name == 'real' else 'tab:blue', lw=1.2)
    minima = motion_beats(poses, fps)
    minima = minima[minima / fps < shown_s]
    ax.plot(minima / fps, speed[minima], 'o', ms=3, color='k')
    ax.set_ylabel(name, fontsize=8)
    ax.set_title(f"BAS {per_song[name][first_clip]['bas']:.2f} (off-beat "
                 f"{per_song[name][first_clip]['bas_shifted']:.2f})", fontsize=8, loc='right', pad=2)
axes[-1, 0].set_xlabel('time (s): music beats grey, motion beats black dots; speed in torso lengths / s')
fig.suptitle(f"{dataset} / {first_clip}: motion speed and beats", fontsize=9)
save_figure(fig, 'beats.png')

# Kinetic features, real vs generated: total kinetic energy and mean acceleration of each segment.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, k in kinetic_of.items():
    energy, acceleration = np.log10(k[:, :30].sum(1) + 1e-6), np.log10(k[:, 30:].mean(1) + 1e-6)
    style = dict(histtype='stepfilled', alpha=0.3, color='tab:red') if name == 'real' else dict(histtype='step')
    axes[0].hist(energy, bins=20, density=True, label=name, lw=1.5, **style)
    axes[1].hist(acceleration, bins=20, density=True, label=name, lw=1.5, **style)
axes[0].set_xlabel('log10 kinetic energy (sum over joints, torso lengths^2 / s^2)')
axes[1].set_xlabel('log10 mean acceleration (torso lengths / s^2)')
axes[0].legend(fontsize=7)
fig.suptitle(f"{dataset}: kinetic features of {segment_s:g}-s test segments", fontsize=9)
save_figure(fig, 'kinetic.png')

generated_names = [n for n in dancers if n not in ('real', 'random_moves')]
if video and generated_names and audio[first_clip]:
    from l2d.render import write_animation
    shown_name = 'dancer' if 'dancer' in generated_names else generated_names[0]
    write_animation(out_dir(dataset, 'compare.mp4'), [real_test[first_clip][0], dancers[shown_name][first_clip]], fps,
                    music_path=audio[first_clip], titles=['real', shown_name],
                    comment=json.dumps(dict(settings, dancer=shown_name)))
    figures.append('compare.mp4')

made_lines = [f"- **{n}**: {made_by.get(n, '')}" for n in rows]
made_lines += [f"- **{n}**: not benchmarked: {why}" for n, why in notes.items()]
report = f"""# {dataset}: how good is the dance?

{len(real_test)} test dances ({', '.join(sorted(real_test))}), {len(real_train)} real training dances, {fps:g} fps.
Made by `python bench.py {' '.join(sys.argv[1:])}` on {time.strftime('%Y-%m-%d %H:%M')}; settings:
`{json.dumps(settings)}`.

{chr(10).join(table)}

Columns (means over the test dances; poses MidHip-centred and in torso lengths; l2d/metrics.py documents each):
BAS = Bailando's beat align score (sigma {BAS_SIGMA_S} s) against the music's beats, *off-beat* the same against
beats shifted by half a beat (the null), *ratio* their quotient; coverage = motion beats / music beats; hit rate =
motion beats within {HIT_TOLERANCE_S} s of a music beat / motion beats (and against the off-beats); period match =
share of dances whose dominant motion period (speed autocorrelation) is within {PERIOD_TOLERANCE:.0%} of half a
beat or 1-4 beats; FID_k / FID_g = Frechet distance of kinetic / geometric features of {segment_s:g}-s segments
to the real test dances' (z-normalised with the real test statistics; the real row is real train vs real test,
the floor); Div = mean distance between segments of different dances; MM_k = multimodality, the same between
{samples} dances for one song ({first_clip}); {meta.get('label_kind') or 'label'} acc = a logistic-regression
classifier trained on real training dances' kinetic features, applied to the segments; bone drift = worst
relative change of the figure's summed bone lengths over {segment_s:g}-s segments vs the real training mean;
jerk = mean |third derivative| (torso lengths / s^3); limb excess = share of frames with a bone longer than any
real training one; speed = seconds of dance per second of audio decoding, music features and generating, as
eval.py measures it on the test songs (Python start-up, imports and model loading not counted).

## Targets

{chr(10).join(targets) or '- no generated dancer was benchmarked'}

## How each dancer was made

{chr(10).join(made_lines)}

Figures: {', '.join(figures)}.
"""
with atomic_path(out_dir(dataset, 'report.md')) as tmp:
    with open(tmp, 'w') as f:
        f.write(report)
save_json(out_dir(dataset, 'report.json'), dict(settings=settings, rows=rows, per_song=per_song, notes=notes,
                                                made_by=made_by, figures=figures))
print('\n'.join(table))
print('\n'.join(targets))
for n, why in notes.items():
    print(f"{n}: not benchmarked: {why}")
print(f"wrote {out_dir(dataset, 'report.md')}")
