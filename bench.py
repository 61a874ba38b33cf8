"""How good is the dance? Every dancer on a dataset's test split, beside the real dances and a sanity table.

Rows of the report:
  real          the real test dances: the ceiling (its FID is real test vs real train, the floor of FID)
  <dancer>      each of `dancers`, loaded with models.dancers.load (with `dancer_options`), generated here: a dance
                for every test song from its music features (data/<dataset>/music/<clip>.npz, the same length as
                the real dance; test song k gets seed `seed` + k, so that a dancer that ignores the music does
                not repeat one dance for every song), and `samples` - 1 more for the first song (seeds seed + 1000,
                seed + 1001, ...) for multimodality.
                A dancer whose model is missing or unreadable gets a note in the report, not a crash.
  controls      the sanity table, built from the real test dances (l2d/controls.py says what each must do):
                split_half, jittered, slowed, amplitude_halved, frozen, reversed, mirrored, other_song_beats.

Every dance is scored as a viewer sees it (l2d/metrics.py documents every choice): its pixel poses divided by its
own torso length, root included; kinetic features after a 0.2-s smoothing, z-normalised by the real TRAINING
segments; jerk unsmoothed; travel as mean root speed and floor width. Beat scores use the music's beats, both BAS
directions (Bailando's over music beats, FACT's over motion beats) with both nulls (half-beat shift, circular shift
of the song's own beats). Every figure has a 95 % bootstrap interval over test dances (`resamples` resamples with
seed `seed`, the same dances drawn for every row, so rows are paired by song).

Generation speed per dancer: seconds of dance per second spent on l2d.audio.song_features (decoding the song's
audio file and computing its features) plus dancer.generate, over the test songs; model loading is not counted and
the feature code's one-off start-up (imports, FFT plans) is paid before the clock starts.

Writes out/<dataset>/report.md (tables, targets of issue 12 per dancer, how each row was made), report.json (every
number, per dance), beats.png (music beats over the motion-speed curves of one test song), kinetic.png (kinetic
features and root speed per segment, real vs generated) and compare.mp4 (real beside the first generated dancer,
with the song, the first `video_s` seconds; `video_dancer`).

    python bench.py --dataset=demo
    python bench.py --dataset=dance_with_melody --dancers=dancer,gan
"""
import json
import sys
import time

import numpy as np

from l2d.audio import load_music, song_features
from l2d.config import configure
from l2d.controls import CONTROLS, paired_clips, split_half
from l2d.io import AUDIO_EXTENSIONS, InputError, atomic_path, data_dir, find_media, load_meta, load_poses, out_dir, \
    save_json
from l2d.metrics import (BAS_SIGMA_S, KINETIC_GROUPS, KINETIC_SMOOTH_S, MOTION_BEAT_SIGMA_S, beat_metrics,
                         beat_period_s, bootstrap_distribution, dance_features, dominant_period_s, feature_group,
                         frechet_to_reference, group_distance_sums, group_moments, in_torso_lengths,
                         limb_excess_rate, mean_jerk, motion_beats, motion_speed, multimodality, percentile_interval,
                         period_match, psd_sqrt, resampled_diversity, resampled_gaussian, root_travel, standardize,
                         style_classifier)
from l2d.plausibility import bone_drift
from l2d.progress import progress
from l2d.skeleton import bone_lengths
from models.dancers import load, parse_options

dataset = 'demo'
dancers = 'random_moves,original,dancer,gan,tokens'  # models.dancers names; a missing model is a note
dancer_options = ''  # generation settings other than the dancers' defaults: 'tokens.top_k=20,dancer.blend_s=0.3'
device = 'cpu'
samples = 3  # dances of the first test song (its own, then seeds seed + 1000, ...), for multimodality
segment_s = 5.0  # feature segments: FID, diversity and style accuracy compare segments of this length
resamples = 1000  # bootstrap resamples of the test dances for every interval
seed = 0
video = True  # compare.mp4
video_dancer = 'dancer'  # shown beside the real dance in compare.mp4 (if not benchmarked: the first one that was)
video_s = 20.0  # seconds of compare.mp4
settings = configure(globals())
try:
    options = parse_options(dancer_options)
except InputError as e:
    sys.exit(f"error: --dancer_options: {e}")

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
            real[clip] = (d['poses'], float(d['fps']))
        except InputError as e:
            print(f"skipping {clip}: {e}")
    return real


real_test, real_train = load_real(test_clips), load_real(train_clips)
music = {}
for clip in list(real_test):
    try:
        music[clip] = load_music(data_dir(dataset, 'music', clip + '.npz'))
        music[clip]['beat_times_s']
    except (InputError, KeyError) as e:
        print(f"skipping {clip}: {e}")
        real_test.pop(clip)
if len(real_test) < 2 or not real_train:
    sys.exit(f"error: {dataset} needs readable train dances and at least 2 test dances with music features "
             f"(run parse.py / process_waves.py first)")
clips = sorted(real_test)
fps = float(real_test[clips[0]][1])
beats_s = {c: np.asarray(music[c]['beat_times_s'], dtype=np.float64) for c in clips}
first_clip = clips[0]

# ---- the rows: real, each dancer, the controls ------------------------------------------------------------------
# A row: dances {clip: pixel poses}, beats {clip: beat times (s)}, the real segments its FID compares with.
rows = {'real': dict(dances={c: real_test[c][0] for c in clips}, beats=beats_s, fid_against='train')}
made_by = {'real': f"the {len(clips)} real test dances; FID against the {len(real_train)} real training dances"}
notes, extra_samples, speeds = {}, {}, {}


def timed_songs(dancer):
    """(seconds of dance (N,), seconds spent on song_features + generate (N,)) for the N test songs with an audio
    file: the speed is their sums' quotient."""
    danced_s, spent_s = [], []
    for clip in clips:
        path = find_media(data_dir(dataset, 'audio'), clip, AUDIO_EXTENSIONS)
        if path is None:
            continue
        started = time.perf_counter()
        features = song_features(path, dancer.fps)
        n_frames = len(features['beats'])
        dancer.generate(features, n_frames, seed)
        spent_s.append(time.perf_counter() - started)
        danced_s.append(n_frames / dancer.fps)
    return np.array(danced_s), np.array(spent_s)


audio_warmed = False
for name in [n.strip() for n in dancers.split(',') if n.strip()]:
    try:
        dancer = load(dataset, name, device, options.get(name))
        if abs(dancer.fps - fps) > 1e-6:
            raise InputError(f"dances at {dancer.fps:g} fps, the real dances at {fps:g}")
        dances = {}
        for k, clip in enumerate(progress(clips, desc=name, unit='dance')):
            dances[clip] = dancer.generate(music[clip], len(real_test[clip][0]), seed + k)['poses']
        extra_samples[name] = [dances[first_clip]] + [
            dancer.generate(music[first_clip], len(real_test[first_clip][0]), seed + 999 + k)['poses']
            for k in range(1, samples)]
        if not audio_warmed:
            path = find_media(data_dir(dataset, 'audio'), first_clip, AUDIO_EXTENSIONS)
            if path:
                song_features(path, fps)  # the first call pays the imports
            audio_warmed = True
        speeds[name] = timed_songs(dancer)
    except InputError as e:
        notes[name] = str(e)
        print(f"{name}: not benchmarked: {e}")
        continue
    rows[name] = dict(dances=dances, beats=beats_s, fid_against='test')
    made_by[name] = f"models.dancers.load({dataset!r}, {name!r}), seeds {seed} + song index: {dancer.made_by}"
generated_names = [n for n in rows if n != 'real']

halves = {c: split_half(real_test[c][0]) for c in clips}
rows['split_half'] = dict(dances={c: h[0] for c, h in halves.items()},
                          beats={c: beats_s[c][beats_s[c] < len(halves[c][0]) / fps] for c in clips},
                          fid_against='second_halves')
made_by['split_half'] = "the first half of each real test dance; its FID is against the second halves"
for name, control in CONTROLS.items():
    rows[name] = dict(dances={c: (control(real_test[c][0], seed=seed + k) if name == 'jittered'
                                  else control(real_test[c][0])) for k, c in enumerate(clips)},
                      beats=beats_s, fid_against='test')
    made_by[name] = f"l2d.controls.{control.__name__} of each real test dance"
pairs = paired_clips({c: beat_period_s(beats_s[c]) for c in clips})
rows['other_song_beats'] = dict(dances=rows['real']['dances'], beats={c: beats_s[pairs[c]] for c in clips},
                                fid_against='test')
made_by['other_song_beats'] = ("each real test dance scored against the beats of the test song of the nearest "
                               "tempo: " + ', '.join(f"{c} -> {pairs[c]}" for c in clips))
control_names = ['split_half', *CONTROLS, 'other_song_beats']

# ---- per-dance scores --------------------------------------------------------------------------------------------
train_v = {c: in_torso_lengths(p) for c, (p, _) in real_train.items()}
reference_lengths = np.concatenate([bone_lengths(p) for p in train_v.values()])
mean_lengths, max_lengths = reference_lengths.mean(0), reference_lengths.max(0)


def features_of(views):
    """[(kinetic (S, 45), geometric (S, 48))] per dance of views {clip: torso-length poses}, in the given order."""
    return {c: dance_features(v, fps, segment_s) for c, v in views.items()}


train_features = features_of(train_v)
train_k = np.concatenate([k for k, _ in train_features.values()])
train_g = np.concatenate([g for _, g in train_features.values()])
labels = {c: m.get('label') for c, m in meta['clips'].items()}
has_labels = all(labels.get(c) is not None for c in list(train_v) + clips)
if has_labels:
    classifier = style_classifier(
        np.concatenate([train_k, train_g], axis=1),
        np.concatenate([[labels[c]] * len(k) for c, (k, _) in train_features.items()]), seed)
second_half_features = features_of({c: in_torso_lengths(h[1]) for c, h in halves.items()})
real_sides = {'train': (train_k, train_g),
              'second_halves': tuple(np.concatenate([f[i] for f in second_half_features.values()]) for i in (0, 1))}

PER_DANCE = ('bas', 'bas_shifted', 'bas_circular', 'bas_fact', 'bas_fact_shifted', 'bas_fact_circular', 'coverage',
             'hit_rate', 'period_matched', 'root_speed', 'floor_width', 'mean_jerk', 'limb_excess', 'bone_drift',
             'style_accuracy')
per_dance, features = {}, {}
for name, row in progress(rows.items(), desc='scoring', unit='row'):
    views = {c: in_torso_lengths(row['dances'][c]) for c in clips}
    scores = {}
    for clip, v in views.items():
        s = beat_metrics(v, fps, row['beats'][clip], seed=seed)
        s['motion_period_s'] = dominant_period_s(v, fps)
        s['period_match'] = period_match(s['motion_period_s'], beat_period_s(row['beats'][clip]))
        s['period_matched'] = float(s['period_match'] != 'none')
        s.update(root_travel(v, fps))
        s['mean_jerk'] = mean_jerk(v, fps)
        s['limb_excess'] = limb_excess_rate(v, max_lengths)
        s['bone_drift'] = bone_drift(v, mean_lengths, int(round(segment_s * fps)))['body']
        scores[clip] = s
    features[name] = features_of(views)
    if has_labels:
        for clip, (k, g) in features[name].items():
            predicted = classifier.predict(np.concatenate([k, g], axis=1))
            scores[clip]['style_accuracy'] = float(np.mean(predicted == labels[clip]))
    per_dance[name] = scores
real_sides['test'] = tuple(np.concatenate([features['real'][c][i] for c in clips]) for i in (0, 1))
train_sets = (train_k, train_g)


def fixed_gaussian(real):
    """The real side of a FID, z-normalised by the training segments: (mean, cov, psd_sqrt(cov)), per feature set."""
    out = []
    for i, reference in enumerate(train_sets):
        z = standardize(real[i], reference)
        cov = np.cov(z, rowvar=False)
        out.append((z.mean(0), cov, psd_sqrt(cov)))
    return out


real_gaussians = {side: fixed_gaussian(real) for side, real in real_sides.items()}


# ---- figures with intervals --------------------------------------------------------------------------------------
def resampled_statistics(z, groups, real, kind):
    """FID and Div of a row's z-normalised segment features z (S, F) with their dances groups (S,), as functions
    of a resample (an index array into `clips`). They come from per-dance sums (l2d.metrics), so that a thousand
    resamples cost a thousand small eigenproblems, not a thousand covariances of all segments."""
    moments, distances = group_moments(z, groups, clips), group_distance_sums(z, groups, clips)

    def fid_of(index):
        return frechet_to_reference(*resampled_gaussian(*moments, np.bincount(index, minlength=len(clips))), *real)

    def div_of(index):
        return resampled_diversity(*distances, np.bincount(index, minlength=len(clips)))
    return {f'fid_{kind}': fid_of, f'div_{kind}': div_of}


def row_distributions(name):
    """{figure: bootstrap distribution (resamples,)} and {figure: value on all test dances} of one row."""
    scores, feats = per_dance[name], features[name]
    groups = np.concatenate([[c] * len(feats[c][0]) for c in clips])
    statistics = {}
    for i, kind in enumerate('kg'):
        z = standardize(np.concatenate([feats[c][i] for c in clips]), train_sets[i])
        statistics.update(resampled_statistics(z, groups, real_gaussians[rows[name]['fid_against']][i], kind))
    everything = np.arange(len(clips))
    values = {key: f(everything) for key, f in statistics.items()}
    distributions = {key: bootstrap_distribution(f, len(clips), resamples, seed) for key, f in statistics.items()}
    for key in PER_DANCE:
        if key in scores[clips[0]]:
            per = np.array([scores[c][key] for c in clips], dtype=np.float64)
            values[key] = float(np.nanmean(per)) if np.isfinite(per).any() else float('nan')
            distributions[key] = bootstrap_distribution(per, n_resamples=resamples, seed=seed)
    values['n_segments'] = int(sum(len(feats[c][0]) for c in clips))
    if len(extra_samples.get(name, [])) >= 2:
        n = len(real_test[first_clip][0])
        values['multimodality_k'] = multimodality([
            standardize(dance_features(in_torso_lengths(p)[:n], fps, segment_s)[0], train_k)
            for p in extra_samples[name]])
    if name in speeds and len(speeds[name][0]):
        danced_s, spent_s = speeds[name]
        values['speed_x_realtime'] = float(danced_s.sum() / spent_s.sum())
        distributions['speed_x_realtime'] = bootstrap_distribution(
            lambda index: float(danced_s[index].sum() / spent_s[index].sum()), len(danced_s), resamples, seed)
    return values, distributions


values, distributions, intervals = {}, {}, {}
for name in progress(rows, desc='intervals', unit='row'):
    values[name], distributions[name] = row_distributions(name)
    intervals[name] = {key: percentile_interval(d, centre=values[name][key] if key.startswith('fid') else None)
                       for key, d in distributions[name].items()}
    for key in ('fid_k', 'fid_g'):
        intervals[name][key] = (max(intervals[name][key][0], 0.0), intervals[name][key][1])
real_segments = values['real']['n_segments']
floor_split_half = values['split_half']['fid_k']

# ---- targets of issue 12: ratios to real with paired bootstrap intervals ------------------------------------------


def ratio(name, key, other_name='real', other_key=None):
    """(point, (low, high)) of row `name`'s figure over `other_name`'s (paired: the same dances resampled)."""
    other_key = other_key or key
    point = values[name][key] / values[other_name][other_key] if values[other_name][other_key] else float('nan')
    with np.errstate(divide='ignore', invalid='ignore'):
        draws = distributions[name][key] / distributions[other_name][other_key]
    return point, percentile_interval(draws)


def check(what, point_interval, low=None, high=None):
    """A target line: met when the whole interval is inside the bound(s), MISSED when the whole interval is outside,
    else not decided (the interval straddles a bound)."""
    point, (lo, hi) = point_interval
    inside = (low is None or lo >= low) and (high is None or hi <= high)
    outside = (low is not None and hi < low) or (high is not None and lo > high)
    verdict = 'met' if inside else 'MISSED' if outside else 'not decided (the interval straddles the bound)'
    return f"{what}: {point:.2f}x [{lo:.2f}, {hi:.2f}] {verdict}"


targets = {}
for name in generated_names:
    lines = [check('root speed 0.7-1.3x real', ratio(name, 'root_speed'), 0.7, 1.3),
             check('floor width 0.7-1.3x real', ratio(name, 'floor_width'), 0.7, 1.3),
             check('FID_k <= 1.5x the real floor (real test vs real train)', ratio(name, 'fid_k'), high=1.5),
             check('Div_k >= 0.9x real', ratio(name, 'div_k'), 0.9),
             check('jerk <= 1.3x real', ratio(name, 'mean_jerk'), high=1.3),
             check('BAS >= 1.3x its half-beat null', ratio(name, 'bas', name, 'bas_shifted'), 1.3),
             check('BAS >= 1.3x its circular-shift null', ratio(name, 'bas', name, 'bas_circular'), 1.3),
             check('BAS >= real BAS', ratio(name, 'bas'), 1.0)]
    if has_labels:
        lines.append(check(f"{meta.get('label_kind') or 'label'} accuracy >= 0.9x real",
                           ratio(name, 'style_accuracy'), 0.9))
    targets[name] = lines

# ---- the report --------------------------------------------------------------------------------------------------
label_name = f"{meta.get('label_kind') or 'label'} acc"
BEAT_COLUMNS = (('bas', 'BAS', '.3f'), ('bas_shifted', 'BAS half-beat null', '.3f'),
                ('bas_circular', 'BAS circular null', '.3f'), ('bas_fact', 'BAS FACT', '.3f'),
                ('bas_fact_shifted', 'FACT half-beat null', '.3f'), ('bas_fact_circular', 'FACT circular null', '.3f'),
                ('coverage', 'coverage', '.2f'), ('hit_rate', 'hit rate', '.2f'),
                ('period_matched', 'period match', '.2f'))
MOTION_COLUMNS = (('fid_k', 'FID_k', '.2f'), ('fid_g', 'FID_g', '.2f'), ('n_segments', 'segments', 'd'),
                  ('div_k', 'Div_k', '.2f'), ('div_g', 'Div_g', '.2f'), ('multimodality_k', 'MM_k', '.2f'),
                  ('style_accuracy', label_name, '.2f'), ('root_speed', 'root speed', '.2f'),
                  ('floor_width', 'floor width', '.2f'), ('mean_jerk', 'jerk', '.0f'),
                  ('limb_excess', 'limb excess', '.3f'), ('bone_drift', 'bone drift', '.3f'),
                  ('speed_x_realtime', 'speed xRT', '.0f'))


def cell(name, key, spec):
    value = values[name].get(key)
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return '—'
    text = format(value, spec)
    if key in intervals[name] and np.isfinite(intervals[name][key]).all():
        lo, hi = intervals[name][key]
        text += f" [{format(lo, spec)}, {format(hi, spec)}]"
    return text


def table(names, columns):
    lines = ['| row | ' + ' | '.join(c[1] for c in columns) + ' |', '|---' * (len(columns) + 1) + '|']
    return '\n'.join([*lines, *(f'| {n} | ' + ' | '.join(cell(n, k, spec) for k, _, spec in columns) + ' |'
                                for n in names)])


main_names = ['real', *generated_names]
import matplotlib  # noqa: E402

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import scipy.ndimage  # noqa: E402

figures = []


def save_figure(fig, name):
    """Write a matplotlib figure beside the report (atomically) and list it among the report's figures."""
    fig.tight_layout()
    with atomic_path(out_dir(dataset, name)) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    figures.append(name)


# Beat alignment of one test song: the smoothed motion speed that motion_beats reads, its minima, the music's beats.
shown_s = min(12.0, len(real_test[first_clip][0]) / fps)
fig, axes = plt.subplots(len(main_names), 1, figsize=(10, 1.6 * len(main_names)), sharex=True, squeeze=False)
for ax, name in zip(axes[:, 0], main_names):
    v = in_torso_lengths(rows[name]['dances'][first_clip])
    speed = scipy.ndimage.gaussian_filter1d(motion_speed(v, fps), MOTION_BEAT_SIGMA_S * fps, mode='nearest')
    t_s = np.arange(len(speed)) / fps
    shown = t_s < shown_s
    for b in beats_s[first_clip][beats_s[first_clip] < shown_s]:
        ax.axvline(b, color='0.6', lw=0.8)
    ax.plot(t_s[shown], speed[shown], color='tab:red' if name == 'real' else 'tab:blue', lw=1.2)
    minima = motion_beats(v, fps)
    minima = minima[minima / fps < shown_s]
    ax.plot(minima / fps, speed[minima], 'o', ms=3, color='k')
    ax.set_ylabel(name, fontsize=8)
    s = per_dance[name][first_clip]
    ax.set_title(f"BAS {s['bas']:.2f} (half-beat null {s['bas_shifted']:.2f}, circular null {s['bas_circular']:.2f})",
                 fontsize=8, loc='right', pad=2)
axes[-1, 0].set_xlabel('time (s): music beats grey, motion beats black dots; speed in torso lengths / s, root included')
fig.suptitle(f"{dataset} / {first_clip}: motion speed and beats", fontsize=9)
save_figure(fig, 'beats.png')

# Kinetic features per segment, real vs generated: kinetic energy, acceleration (both smoothed), root speed.
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for name in [*main_names, 'jittered']:
    k = np.concatenate([features[name][c][0] for c in clips])
    energy = feature_group(k, KINETIC_GROUPS, 'horizontal_energy') + feature_group(k, KINETIC_GROUPS,
                                                                                    'vertical_energy')
    acceleration = feature_group(k, KINETIC_GROUPS, 'acceleration')
    root = [root_travel(in_torso_lengths(rows[name]['dances'][c][s:s + int(segment_s * fps)]), fps)['root_speed']
            for c in clips for s in range(0, len(rows[name]['dances'][c]) - int(segment_s * fps) + 1,
                                          int(segment_s * fps))]
    style = (dict(histtype='stepfilled', alpha=0.3, color='tab:red') if name == 'real'
             else dict(histtype='step', ls=':' if name in CONTROLS else '-'))
    for ax, x in zip(axes, (np.log10(energy.sum(1) + 1e-6), np.log10(acceleration.mean(1) + 1e-6), root)):
        ax.hist(x, bins=20, density=True, label=name, lw=1.5, **style)
axes[0].set_xlabel('log10 kinetic energy (sum over joints, torso lengths^2 / s^2)')
axes[1].set_xlabel('log10 mean acceleration (torso lengths / s^2)')
axes[2].set_xlabel('mean root speed (torso lengths / s)')
axes[0].legend(fontsize=7)
fig.suptitle(f"{dataset}: whole-motion kinetic features of {segment_s:g}-s test segments "
             f"({KINETIC_SMOOTH_S:g}-s smoothing; the jittered control dotted)", fontsize=9)
save_figure(fig, 'kinetic.png')

first_audio = find_media(data_dir(dataset, 'audio'), first_clip, AUDIO_EXTENSIONS)
shown_dancers = [n for n in generated_names if n == video_dancer] or generated_names
if video and shown_dancers and first_audio:
    from l2d.render import write_animation
    shown_name, n_shown = shown_dancers[0], int(round(video_s * fps))
    write_animation(out_dir(dataset, 'compare.mp4'),
                    [real_test[first_clip][0][:n_shown], rows[shown_name]['dances'][first_clip][:n_shown]], fps,
                    music_path=first_audio, titles=['real', shown_name],
                    comment=json.dumps(dict(settings, dancer=shown_name)))
    figures.append('compare.mp4')


# What each control must do to each metric, against the real row's 95 % interval: 'same' inside it (for FID: at
# or under its upper end, as a control is scored against the very dances it was made from), 'up' above it, 'down'
# below it, 'worst' the highest (FID) or lowest (Div) of every row.
EXPECTED = {
    'split_half': dict(fid_k='same', fid_g='same', div_k='same', bas='same', mean_jerk='same'),
    'jittered': dict(fid_k='same', div_k='same', mean_jerk='up', root_speed='same'),
    'slowed': dict(fid_k='up', bas='down', bas_fact='down', root_speed='down'),
    'amplitude_halved': dict(fid_k='up', div_k='down', root_speed='down', floor_width='down'),
    'frozen': dict(fid_k='worst', div_k='worst', bas='down', root_speed='down', style_accuracy='down'),
    'reversed': dict(fid_k='same', div_k='same', mean_jerk='same'),
    'mirrored': dict(fid_k='same', fid_g='same', div_k='same', bas='same', style_accuracy='same'),
    'other_song_beats': dict(bas='down', bas_fact='down', fid_k='same')}
LOWER_IS_WORSE = ('div_k', 'div_g', 'bas', 'bas_fact', 'style_accuracy')


def moved_as_expected(name, key, expected):
    """(did it, how it moved) for a control's figure against the real row's interval."""
    value, (lo, hi) = values[name][key], intervals['real'][key]
    if expected == 'worst':
        others = [values[n][key] for n in rows if n != name and np.isfinite(values[n][key])]
        ok = value <= min(others) if key in LOWER_IS_WORSE else value >= max(others)
        return ok, 'the worst of all rows' if ok else 'not the worst row'
    how = 'down' if value < lo else 'up' if value > hi else 'same'
    if key.startswith('fid') and how == 'down':
        how = 'same'
    return how == expected, how


def sanity_lines():
    """One line per control: each metric that should move, its value, how it moved, and a verdict."""
    lines = []
    for name, expectations in EXPECTED.items():
        if name not in values:
            continue
        parts, wrong = [], []
        for key, expected in expectations.items():
            if key not in values[name] or not np.isfinite(values[name][key]):
                continue
            ok, how = moved_as_expected(name, key, expected)
            parts.append(f"{key} {values[name][key]:.3g} vs real {values['real'][key]:.3g} {how}"
                         f"{'' if ok else ' (should be ' + expected + ')'}")
            wrong += [] if ok else [key]
        verdict = 'as it should' if not wrong else 'WRONG WAY on ' + ', '.join(wrong)
        lines.append(f"- **{name}**: {verdict}: " + '; '.join(parts))
    return lines


made_lines = [f"- **{n}**: {made_by[n]}" for n in rows]
made_lines += [f"- **{n}**: not benchmarked: {why}" for n, why in notes.items()]
report = f"""# {dataset}: how good is the dance?

{len(clips)} test dances ({', '.join(clips)}), {len(real_train)} real training dances, {fps:g} fps,
{segment_s:g}-s segments ({real_segments} real test segments, {len(train_k)} training segments).
Made by `python bench.py {' '.join(sys.argv[1:])}` on {time.strftime('%Y-%m-%d %H:%M')}; settings:
`{json.dumps(settings)}`.

Every figure is the value on all test dances, then its 95 % bootstrap interval over test dances ({resamples}
resamples of the dances with replacement, seed {seed}).
**A difference that falls inside the interval is no difference.**

## Beats

{table(main_names, BEAT_COLUMNS)}

## Motion

{table(main_names, MOTION_COLUMNS)}

FID floors: real test vs real train {values['real']['fid_k']:.2f} (FID_k) / {values['real']['fid_g']:.2f} (FID_g),
the `real` row; split-half (first halves vs second halves of the test dances) {floor_split_half:.2f} /
{values['split_half']['fid_g']:.2f}, the `split_half` row below. The targets use the real test vs real train floor.

## Sanity table: the real test dances altered in known ways

{table(['real', *control_names], BEAT_COLUMNS)}

{table(['real', *control_names], MOTION_COLUMNS)}

Does each metric move the right way? (against the real row's interval; bench.py's EXPECTED says what each should do)
{chr(10).join(sanity_lines())}

Reading it: FID grows as its sample shrinks (a Gaussian fitted to fewer segments than features is a poor one), so the
split-half FID, with half the segments on each side, can sit above the train-vs-test floor; compare FIDs at equal
segment counts. Mirroring keeps a dance's energy and timing but swaps which side does what: for a style with an
asymmetric hold (ballroom) the mirrored dance is a different dance, and the side-aware features (per-joint kinetic
energies, the style classifier) rightly say so. Where the real dances score no better than their own nulls on BAS,
no beat control can move BAS either.

## Targets (issue 12), per dancer

Each is the dancer's figure over real's (or over its own null), with a paired 95 % bootstrap interval; met when the
whole interval meets the bound, MISSED when the whole interval misses it. Issue 12 asks the travel bounds on Dance
with Melody, BAS >= 1.3x both nulls on the demo and BAS >= real on Dance with Melody.

{chr(10).join(f"- **{n}**:{chr(10)}" + chr(10).join(f"  - {line}" for line in lines) for n, lines in targets.items())
 or '- no generated dancer was benchmarked'}

## Columns

Poses are seen as a viewer sees them: pixels divided by the dance's torso length, root included (l2d/metrics.py
documents every choice). BAS = Bailando's beat align score (mean over music beats of exp(-d^2 / 2 sigma^2), d to
the nearest motion beat, sigma {BAS_SIGMA_S} s); BAS FACT = the same averaged over motion beats (d to the nearest
music beat); half-beat null = against the beats moved by half a beat; circular null = against the song's own beats
circularly shifted by seeded random offsets (the mean over 8), i.e. the dance's tempo without its phase; coverage =
motion beats / music beats; hit rate = share of motion beats within 0.1 s of a music beat; period match = share of
dances whose dominant motion period is within 10 % of half a beat or 1-4 beats. FID_k / FID_g = Frechet distance of
the kinetic ({KINETIC_SMOOTH_S:g}-s smoothing) / geometric (MidHip-relative) features of {segment_s:g}-s segments to
the real test dances' (both z-normalised by the real training segments), segments = how many segments the
generated side has; Div = mean distance between segments of different dances; MM_k = the same between {samples}
dances for one song ({first_clip}; no interval: one song); {label_name} = a logistic regression trained on the real
training segments' kinetic and geometric features, accuracy per dance; root speed = mean speed of the smoothed
MidHip (torso lengths / s); floor width = range of the MidHip's x (torso lengths); jerk = mean |third difference|
of the unsmoothed poses (torso lengths / s^3); limb excess = share of frames with a bone longer than any real
training one; bone drift = worst relative change of the figure's size over {segment_s:g}-s segments; speed =
seconds of dance per second of song_features (decode + features) and generate over the test songs (its interval:
the songs resampled), model loading excluded, wall clock on this machine as loaded as it was.

## How each row was made

{chr(10).join(made_lines)}

Figures: {', '.join(figures)}.
"""
with atomic_path(out_dir(dataset, 'report.md')) as tmp:
    with open(tmp, 'w') as f:
        f.write(report)
save_json(out_dir(dataset, 'report.json'), dict(
    settings=settings, clips=clips, values=values,
    intervals={n: {k: list(v) for k, v in iv.items()} for n, iv in intervals.items()},
    per_dance=per_dance, targets=targets, sanity=sanity_lines(), notes=notes, made_by=made_by, figures=figures,
    floors=dict(train_vs_test=values['real']['fid_k'], split_half=floor_split_half)))
print(table(main_names, BEAT_COLUMNS))
print(table(main_names, MOTION_COLUMNS))
print(table(['real', *control_names], MOTION_COLUMNS))
print('\n'.join(sanity_lines()))
for n, lines in targets.items():
    print(f"{n}:\n  " + '\n  '.join(lines))
for n, why in notes.items():
    print(f"{n}: not benchmarked: {why}")
print(f"wrote {out_dir(dataset, 'report.md')}")
