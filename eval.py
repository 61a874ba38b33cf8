"""A dance for a song, and the dancer's scores.

    python eval.py --music=any/song.mp3     # -> out/<dataset>/dances/song.npz + song.mp4 (with the song)
    python eval.py                          # every test dance of the dataset -> out/<dataset>/eval.json
    python eval.py --model=gan --style=waltz --music=song.wav    # the GAN dancer (eval_gan.json on the test split)

A dance: the song's music features (l2d.audio), its move clips with boundaries on its beats (l2d.moves.dance_bounds),
a move for every clip from the trained model (sampled with `temperature` and `top_k`, seeded), and the centroid clips
of those moves stretched to the clips and joined with a `blend_s` blend at each boundary, placed at the training
dancers' typical position and size. With --model=gan: models.gan.generate_dance (train_seq.py's checkpoint) in
`style`, or one its music classifier picks. The dance file is a pose file (l2d.io.save_poses) plus the moves, clip
bounds and settings; --save_dances=True writes the test split's dances too (bench.py reads them).

Scores on the test split: move accuracy against the k-means labels (argmax, teacher-forced and free-running) with
the majority-move and repeat-the-previous-move baselines; Beat Align Score (l2d.metrics) of generated and real
dances against the music's beats and against beats shifted by half a beat (the null); and generation speed as a
multiple of real time (audio decoding, features, model and joining; not video rendering).

`model` picks the generator: a function in GENERATORS that loads a trained model and returns how to dance with it.
"""
import os
import sys
import time

import numpy as np

from l2d.config import configure
from l2d.io import (AUDIO_EXTENSIONS, InputError, clip_name, data_dir, find_media, load_audio, load_poses, out_dir,
                    save_json, save_poses, split_clips)
from l2d.audio import load_music, music_matrix
from l2d.moves import dance_bounds, join_clips, load_moves, music_windows
from l2d.norm import denormalize

dataset = 'demo'
model = 'dancer'  # generator: 'dancer' (train.py's checkpoint) or 'gan' (train_seq.py's)
style = ''  # --model=gan: the style to dance (a label of its training data); '' lets the model pick from the music
music = ''  # a song (wav/mp3/ogg/flac) to dance to; '' scores the dataset's test split instead
temperature = 1.0
top_k = 5  # sample among the k likeliest moves (0: all)
seed = 0
blend_s = 0.25  # seconds of blending on each side of a move boundary (at most half a move)
ease = 1.0  # time warp of each move (l2d.moves.resample_time): 0 none, 1 the dancer rests on every move boundary
video = True  # with --music: write the MP4
compare_video = True  # without --music: a side-by-side real-vs-generated MP4 of the first test dance
save_dances = False  # without --music: write each test dance to out/<dataset>/dances/test/<clip>_s<seed>.npz
samples = 1  # without --music: dances of the first test song (its test dance, then seeds seed+1001...); with
# save_dances the extra ones are written too (for multimodality)
device = 'auto'  # 'auto': cuda if available, else cpu
settings = configure(globals())


def dancer_generator(dataset, device):
    """Load train.py's checkpoint of `dataset`. Returns a dict: fps, root (2,) and scale (pixels) to place a dancer,
    generate(music, n_frames, seed, greedy=False) -> {'normed': (n_frames, 15, 2), 'moves': (N,), 'bounds': (N, 2)},
    and score_moves(music, bounds, labels) -> (teacher-forced argmax moves (N,), free-running greedy moves (N,))."""
    path = out_dir(dataset, 'dancer', 'ckpt.pt')
    if not os.path.isfile(path):
        raise InputError(f"{path} not found (run `python train.py --dataset={dataset}` first)")
    import torch
    from models.dancer import Dancer
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # torch raises many types for a damaged file
        raise InputError(f"{path}: unreadable checkpoint ({e}); rerun train.py")
    net = Dancer(**ckpt['model_args']).to(device)
    net.load_state_dict(ckpt['model'])
    net.eval()
    vocabulary = ckpt['moves']
    fps, unit, beats_per_clip = float(vocabulary['fps']), vocabulary['unit'], int(vocabulary['beats_per_clip'])
    beat_s = float(vocabulary['median_clip_s']) / (beats_per_clip if unit == 'beats' else 1)
    blend_frames = int(round(blend_s * fps))

    def windows(music, bounds):
        features = (music_matrix(music, ckpt['music_keys']) - ckpt['music_mean']) / ckpt['music_std']
        return torch.from_numpy(music_windows(features, float(music['fps']), bounds[:, 0] / fps, bounds[:, 1] / fps,
                                              ckpt['context'], ckpt['music_rows'])).to(device)

    def generate(music, n_frames, seed, greedy=False):
        bounds = dance_bounds(n_frames, fps, unit, float(vocabulary['clip_s']), beats_per_clip,
                              music['beat_times_s'], beat_s)
        if len(bounds) == 0:
            raise InputError(f"song too short for one move ({n_frames / fps:.2f} s)")
        generator = torch.Generator().manual_seed(int(seed))
        moves = net.generate(windows(music, bounds), temperature, top_k, generator, greedy).cpu().numpy()
        normed = join_clips(vocabulary['centroids'][moves], bounds, n_frames, blend_frames, ease)
        return dict(normed=normed, moves=moves, bounds=bounds)

    def score_moves(music, bounds, labels):
        w = windows(music, bounds)
        previous = torch.from_numpy(np.concatenate([[net.n_moves], labels[:-1]]).astype(np.int64)).to(device)
        with torch.no_grad():
            forced = net(w[None], previous[None])[0].argmax(-1).cpu().numpy()
        return forced, net.generate(w, greedy=True).cpu().numpy()

    return dict(fps=fps, root=vocabulary['typical_root'], scale=float(vocabulary['typical_scale']),
                centroids=vocabulary['centroids'], blend_frames=blend_frames, majority_move=ckpt['majority_move'],
                generate=generate, score_moves=score_moves)


def gan_generator(dataset, device):
    """Load train_seq.py's checkpoint of `dataset`. Returns a dict: fps, root (2,) and scale (pixels) to place a
    dancer, and generate(music, n_frames, seed) -> {'normed': (n_frames, 15, 2)} in `style`."""
    path = out_dir(dataset, 'gan_seq', 'ckpt.pt')
    if not os.path.isfile(path):
        raise InputError(f"{path} not found (run `python train_pose.py --dataset={dataset}` then "
                         f"`python train_seq.py --dataset={dataset}` first)")
    import torch
    from models.gan import generate_dance, load_models
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
        load_models(ckpt, device)
    except Exception as e:  # torch raises many types for a damaged file or one of other networks
        raise InputError(f"{path}: unreadable checkpoint or other networks than models/gan.py's "
                         f"({str(e).splitlines()[0]}); rerun train_seq.py")
    if style and ckpt['styles'] and style not in ckpt['styles']:
        raise InputError(f"unknown style {style!r} for {path} (known: {', '.join(ckpt['styles'])})")

    def generate(music, n_frames, seed):
        # A music file a few frames shorter than its pose file: the dancer holds the last pose.
        n_music = min(n_frames, len(music['beats']))
        if n_music < 1:
            raise InputError("no music frames")
        normed = generate_dance(ckpt, music, n_music, seed, style or None, device)
        return dict(normed=np.concatenate([normed, np.repeat(normed[-1:], n_frames - n_music, 0)]))

    return dict(fps=float(ckpt['fps']), root=np.asarray(ckpt['root'], np.float32), scale=float(ckpt['scale']),
                generate=generate)


# A generator loads a trained model of a dataset and returns a dict with at least fps, root and scale (where to
# place its normalised poses) and generate(music, n_frames, seed) -> {'normed': (n_frames, 15, 2), ...} for music
# features as l2d.audio.music_features makes them; 'moves' and score_moves are optional (move-based models).
GENERATORS = {'dancer': dancer_generator, 'gan': gan_generator}


def read_song(path):
    """Decode a song -> (samples, sr); InputError for an unreadable or empty one. A silent song is danced to on a
    steady grid of the training tempo (it has no beats)."""
    samples, sr = load_audio(path, sr=None)
    if len(samples) < sr * 0.1:
        raise InputError(f"{path}: empty song ({len(samples) / sr:.2f} s of audio)")
    return samples, sr


def song_features(samples, sr, fps):
    """Music features of a song on the pose grid (l2d.audio.music_features), without its warnings."""
    import warnings
    from l2d.audio import music_features
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return music_features(samples, sr, fps)


if model not in GENERATORS:
    sys.exit(f"error: unknown model {model!r} (known: {', '.join(GENERATORS)})")
try:
    song_audio = read_song(music) if music else None
    dancer = GENERATORS[model](dataset, device)
except InputError as e:
    sys.exit(f"error: {e}")
fps = dancer['fps']

# ---- one song ----------------------------------------------------------------------------------------------------
if music:
    song = clip_name(music)
    features = song_features(*song_audio, fps)
    try:
        dance = dancer['generate'](features, len(features['mel_db']), seed)
    except InputError as e:
        sys.exit(f"error: {music}: {e}")
    poses = denormalize(dance['normed'], dancer['root'], dancer['scale'])
    dance_path = out_dir(dataset, 'dances', song + '.npz')
    save_poses(dance_path, poses, np.ones(poses.shape[:2], np.float32), fps, os.path.abspath(music),
               dict(settings, model=model), moves=dance.get('moves', np.zeros(0, int)),
               bounds=dance.get('bounds', np.zeros((0, 2), int)), beat_times_s=features['beat_times_s'])
    print(f"{len(poses) / fps:.1f} s dance, {len(dance.get('moves', []))} moves, "
          f"{len(features['beat_times_s'])} beats: wrote {dance_path}")
    if video:
        from l2d.render import write_animation
        video_path = write_animation(out_dir(dataset, 'dances', song + '.mp4'), [poses], fps, music_path=music,
                                     titles=[song], comment=str(settings))
        print(f"wrote {video_path}")
    sys.exit(0)

# ---- the test split: accuracy, beat alignment, speed -------------------------------------------------------------
from l2d.metrics import beat_metrics
from tqdm import tqdm

moves_path = data_dir(dataset, 'moves.npz')
vocabulary = load_moves(moves_path) if os.path.isfile(moves_path) else None
test_clips = split_clips(dataset, 'test')
if not test_clips:
    sys.exit(f"error: {dataset} has no test clips in {data_dir(dataset, 'meta.json')} (run its prepare.py first)")
rng = np.random.default_rng(seed)
per_song, beat_scores = {}, {}
labels_all, forced_all, greedy_all, previous_all = [], [], [], []
seconds_danced = seconds_spent = 0.0
first_compare = None
for i, clip in enumerate(tqdm(test_clips, desc='test dances', unit='song')):
    try:
        real = load_poses(data_dir(dataset, 'poses', clip + '.npz'))
        song = load_music(data_dir(dataset, 'music', clip + '.npz'))
        n_frames = len(real['poses'])
        dance = dancer['generate'](song, n_frames, seed + i)
    except InputError as e:
        print(f"skipping {clip}: {e}")
        continue
    generated = denormalize(dance['normed'], dancer['root'], dancer['scale'])
    dances = {'generated': generated, 'real': real['poses']}
    if 'moves' in dance:
        # The same joining with moves drawn at random: how much of the beat alignment the model's choice adds.
        random_moves = rng.integers(0, len(dancer['centroids']), len(dance['moves']))
        dances['random_moves'] = denormalize(join_clips(dancer['centroids'][random_moves], dance['bounds'], n_frames,
                                                        dancer['blend_frames'], ease), dancer['root'], dancer['scale'])
    result = {'seconds': n_frames / fps}
    if save_dances:
        sample_seeds = [seed + i] + ([seed + 1000 + s for s in range(1, samples)] if i == 0 else [])
        for dance_seed in sample_seeds:
            poses = generated if dance_seed == seed + i else denormalize(
                dancer['generate'](song, n_frames, dance_seed)['normed'], dancer['root'], dancer['scale'])
            dance_path = out_dir(dataset, 'dances', 'test', f'{clip}_s{dance_seed}.npz')
            save_poses(dance_path, poses, np.ones(poses.shape[:2], np.float32), fps,
                       data_dir(dataset, 'music', clip + '.npz'), dict(settings, model=model, seed=dance_seed),
                       moves=dance.get('moves', np.zeros(0, int)) if dance_seed == seed + i else np.zeros(0, int),
                       beat_times_s=song['beat_times_s'])
            result.setdefault('dance_files', []).append(dance_path)
    for kind, poses in dances.items():
        for name, value in beat_metrics(poses, fps, song['beat_times_s']).items():
            result[f'{kind}_{name}'] = value
            beat_scores.setdefault(f'{kind}_{name}', []).append(value)
    if vocabulary is not None and clip in vocabulary['dances'] and 'score_moves' in dancer:
        d = vocabulary['dances'][clip]
        if len(d['labels']):
            forced, greedy = dancer['score_moves'](song, d['bounds'], d['labels'])
            labels_all.append(d['labels'])
            forced_all.append(forced)
            greedy_all.append(greedy)
            previous_all.append(np.concatenate([[-1], d['labels'][:-1]]))
            result['move_accuracy'] = float(np.mean(forced == d['labels']))
    audio_path = find_media(data_dir(dataset, 'audio'), clip, AUDIO_EXTENSIONS)
    if audio_path:
        started = time.perf_counter()
        features = song_features(*read_song(audio_path), fps)
        dancer['generate'](features, len(features['mel_db']), seed + i)
        seconds_spent += time.perf_counter() - started
        seconds_danced += len(features['mel_db']) / fps
    per_song[clip] = result
    if first_compare is None:
        first_compare = (clip, real['poses'], generated, audio_path)

if not per_song:
    sys.exit(f"error: no test dance of {dataset} could be read")
report = dict(settings=settings, model=model, n_songs=len(per_song),
              **{k: float(np.nanmean(v)) for k, v in beat_scores.items()})
if labels_all:
    labels_all, forced_all, greedy_all, previous_all = map(np.concatenate,
                                                           (labels_all, forced_all, greedy_all, previous_all))
    report.update(
        n_clips=int(len(labels_all)),
        move_accuracy=float(np.mean(forced_all == labels_all)),
        move_accuracy_free_running=float(np.mean(greedy_all == labels_all)),
        majority_accuracy=float(np.mean(labels_all == dancer['majority_move'])),
        repeat_previous_accuracy=float(np.mean(previous_all == labels_all)))
if seconds_spent > 0:
    report['speed_x_realtime'] = seconds_danced / seconds_spent
report['per_song'] = per_song
report_path = out_dir(dataset, 'eval.json' if model == 'dancer' else f'eval_{model}.json')
save_json(report_path, report)
print(f"{report['n_songs']} test songs")
if 'move_accuracy' in report:
    print(f"move accuracy {report['move_accuracy']:.3f} teacher-forced, {report['move_accuracy_free_running']:.3f} "
          f"free-running; baselines: majority move {report['majority_accuracy']:.3f}, repeat previous "
          f"{report['repeat_previous_accuracy']:.3f} ({report['n_clips']} clips)")
for kind in dances:
    print(f"beat align score {kind}: {report[f'{kind}_bas']:.3f} (off-beats {report[f'{kind}_bas_shifted']:.3f}), "
          f"coverage {report[f'{kind}_coverage']:.2f}, hit rate {report[f'{kind}_hit_rate']:.2f}")
if 'speed_x_realtime' in report:
    print(f"generation speed {report['speed_x_realtime']:.1f}x real time (decoding, features, model, joining)")
print(f"wrote {report_path}")
if compare_video:
    from l2d.render import write_animation
    clip, real_poses, generated, audio_path = first_compare
    video_path = write_animation(out_dir(dataset, 'dances', f'compare_{clip}.mp4'), [real_poses, generated], fps,
                                 music_path=audio_path, titles=['real', 'generated'], comment=str(settings))
    print(f"wrote {video_path}")
