"""A dance for a song, and the dancer's scores.

    python eval.py --music=any/song.mp3     # -> out/<dataset>/dances/dancer/song.npz + song.mp4 (with the song)
    python eval.py                          # every test dance of the dataset -> out/<dataset>/eval.json
    python eval.py --model=gan --style=waltz --music=song.wav    # the GAN dancer (eval_gan.json on the test split)
    python eval.py --model=tokens --music=song.mp3               # the motion-token dancer

`model` is a dancer of models/dancers.py (DANCERS): it loads the trained model of `dataset` and dances to the song's
music features (l2d.audio.song_features on the dancer's frame grid), seeded. The move classifier ('dancer') samples a
move for every beat-placed clip (`temperature`, `top_k`) and draws each move with a real training clip of that move
(`clips='real'`) or its k-means centroid (`clips='centroids'`), joined with `blend_s` blends; the GAN dances in
`style` or one its music classifier picks. Every dancer travels over the floor the real training dancers used. The
dance file is a pose file (l2d.io.save_poses) plus the root track, moves, clip bounds and settings.

Scores on the test split: move accuracy against the k-means labels (argmax, teacher-forced and free-running) with
the majority-move and repeat-the-previous-move baselines (move dancers); Beat Align Score (l2d.metrics) of the
generated and the real dances against the music's beats and against beats shifted by half a beat (the null); and
generation speed as a multiple of real time (audio decoding, features, model and joining; not video rendering).
bench.py scores every dancer with the full metric suite.
"""
import os
import sys
import time

import numpy as np

from l2d.audio import load_music, song_features
from l2d.config import configure
from l2d.io import (AUDIO_EXTENSIONS, InputError, clip_name, data_dir, find_media, load_poses, out_dir, save_json,
                    save_poses, split_clips)
from models.dancers import DANCERS, load

dataset = 'demo'
model = 'dancer'  # a dancer of models/dancers.py: 'dancer' (train.py), 'gan' (train_seq.py), 'tokens', 'original', ...
style = ''  # the style to dance (a label of the training data: dancer, gan, tokens); '' picks it from the music
music = ''  # path of a song (wav/mp3/ogg/flac) to dance to; '' scores the dataset's test split instead
temperature = 1.0
top_k = 5  # sample among the k likeliest moves (0: all)
clips = 'real'  # move classifier: draw each move with a real training clip ('real') or its centroid ('centroids')
blend_s = 0.25  # seconds of blending on each side of a move boundary (at most half a move)
ease = 0.5  # time warp of each move (l2d.moves.resample_time): 0 none, 1 the dancer rests on every move boundary
smooth_s = 0.1  # the dance's poses are smoothed in time over this many seconds (0: not at all)
seed = 0
video = True  # with --music: write the MP4
compare_video = True  # without --music: a side-by-side real-vs-generated MP4 of the first test dance
device = 'auto'  # 'auto': cuda if available, else cpu
settings = configure(globals())

if model not in DANCERS:
    sys.exit(f"error: unknown model {model!r} (known: {', '.join(DANCERS)})")
try:
    dancer = load(dataset, model, device, settings)
    song_path = music
    features = song_features(song_path, dancer.fps) if song_path else None
except InputError as e:
    sys.exit(f"error: {e}")
fps = dancer.fps

# ---- one song ----------------------------------------------------------------------------------------------------
if song_path:
    song = clip_name(song_path)
    try:
        dance = dancer.generate(features, len(features['mel_db']), seed)
    except InputError as e:
        sys.exit(f"error: {song_path}: {e}")
    poses = dance['poses']
    dance_path = out_dir(dataset, 'dances', model, song + '.npz')
    save_poses(dance_path, poses, np.ones(poses.shape[:2], np.float32), fps, os.path.abspath(song_path),
               dict(settings, made_by=dancer.made_by), root_tl=dance['root_tl'],
               moves=dance.get('moves', np.zeros(0, int)), bounds=dance.get('bounds', np.zeros((0, 2), int)),
               beat_times_s=features['beat_times_s'])
    moves = f"{len(dance['moves'])} moves, " if 'moves' in dance else ''
    print(f"{len(poses) / fps:.1f} s dance, {moves}{len(features['beat_times_s'])} beats: wrote {dance_path}")
    if video:
        from l2d.render import write_animation
        video_path = write_animation(out_dir(dataset, 'dances', model, song + '.mp4'), [poses], fps,
                                     music_path=song_path, titles=[f"{model}: {song}"], comment=str(settings))
        print(f"wrote {video_path}")
    sys.exit(0)

# ---- the test split: accuracy, beat alignment, speed -------------------------------------------------------------
from l2d.metrics import beat_metrics  # noqa: E402
from l2d.moves import load_moves, moves_file  # noqa: E402
from l2d.progress import progress  # noqa: E402

vocabulary_path = moves_file(dataset, model)
vocabulary = load_moves(vocabulary_path) if hasattr(dancer, 'score_moves') and os.path.isfile(vocabulary_path) else None
test_clips = split_clips(dataset, 'test')
if not test_clips:
    sys.exit(f"error: {dataset} has no test clips in {data_dir(dataset, 'meta.json')} (run its prepare.py first)")
per_song, beat_scores = {}, {}
labels_all, forced_all, greedy_all, previous_all = [], [], [], []
seconds_danced = seconds_spent = 0.0
first_compare = None
for i, clip in enumerate(progress(test_clips, desc='test dances', unit='song')):
    try:
        real = load_poses(data_dir(dataset, 'poses', clip + '.npz'))
        clip_features = load_music(data_dir(dataset, 'music', clip + '.npz'))
        n_frames = len(real['poses'])
        generated = dancer.generate(clip_features, n_frames, seed + i)['poses']
    except InputError as e:
        print(f"skipping {clip}: {e}")
        continue
    result = {'seconds': n_frames / fps}
    for kind, poses in (('generated', generated), ('real', real['poses'])):
        for name, value in beat_metrics(poses, fps, clip_features['beat_times_s']).items():
            result[f'{kind}_{name}'] = value
            beat_scores.setdefault(f'{kind}_{name}', []).append(value)
    if vocabulary is not None and clip in vocabulary['dances'] and len(vocabulary['dances'][clip]['labels']):
        d = vocabulary['dances'][clip]
        forced, greedy = dancer.score_moves(clip_features, d['bounds'], d['labels'])
        labels_all.append(d['labels'])
        forced_all.append(forced)
        greedy_all.append(greedy)
        previous_all.append(np.concatenate([[-1], d['labels'][:-1]]))
        result['move_accuracy'] = float(np.mean(forced == d['labels']))
    audio_path = find_media(data_dir(dataset, 'audio'), clip, AUDIO_EXTENSIONS)
    if audio_path:
        started = time.perf_counter()
        song_music = song_features(audio_path, fps)
        dancer.generate(song_music, len(song_music['mel_db']), seed + i)
        seconds_spent += time.perf_counter() - started
        seconds_danced += len(song_music['mel_db']) / fps
    per_song[clip] = result
    if first_compare is None:
        first_compare = (clip, real['poses'], generated, audio_path)

if not per_song:
    sys.exit(f"error: no test dance of {dataset} could be read")
report = dict(settings=settings, model=model, made_by=dancer.made_by, n_songs=len(per_song),
              **{k: float(np.nanmean(v)) for k, v in beat_scores.items()})
if labels_all:
    labels_all, forced_all, greedy_all, previous_all = map(np.concatenate,
                                                           (labels_all, forced_all, greedy_all, previous_all))
    report.update(
        n_clips=int(len(labels_all)),
        move_accuracy=float(np.mean(forced_all == labels_all)),
        move_accuracy_free_running=float(np.mean(greedy_all == labels_all)),
        majority_accuracy=float(np.mean(labels_all == dancer.majority_move)),
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
for kind in ('generated', 'real'):
    print(f"beat align score {kind}: {report[f'{kind}_bas']:.3f} (off-beats {report[f'{kind}_bas_shifted']:.3f}), "
          f"coverage {report[f'{kind}_coverage']:.2f}, hit rate {report[f'{kind}_hit_rate']:.2f}")
if 'speed_x_realtime' in report:
    print(f"generation speed {report['speed_x_realtime']:.1f}x real time (decoding, features, model, joining)")
print(f"wrote {report_path}")
if compare_video:
    from l2d.render import write_animation
    clip, real_poses, generated, audio_path = first_compare
    video_path = write_animation(out_dir(dataset, 'dances', model, f'compare_{clip}.mp4'), [real_poses, generated],
                                 fps, music_path=audio_path, titles=['real', model], comment=str(settings))
    print(f"wrote {video_path}")
