"""Music features for every dance: data/<dataset>/audio/<clip>.{wav,mp3,ogg,flac} -> data/<dataset>/music/<clip>.npz.

Each clip with a pose file data/<dataset>/poses/<clip>.npz gets one feature row per pose frame, at the pose
file's fps (see l2d.audio.music_features): mel_db, tempogram, onset_strength, beats, beat_times_s, tempo_bpm, fps,
plus sr (the analysis sample rate, Hz), audio (the source file) and settings (JSON).

Audio more than max_short_s shorter than its dance is an error; smaller mismatches, and audio longer than the
dance, are padded with silence or cut, and said. A clip that fails is reported in one line and the others go on;
the exit status is 1 if any clip failed.

    python process_waves.py --dataset=demo
"""
import glob
import json
import os
import sys
import time
import warnings

from l2d.audio import analysis_rate, music_features, save_music
from l2d.config import configure
from l2d.io import AUDIO_EXTENSIONS, InputError, clip_name, data_dir, find_media, load_audio, load_poses
from l2d.progress import progress

dataset = 'demo'
clips = ''  # comma-separated clip names; empty: every clip with a pose file
max_short_s = 1.0  # audio may be this much shorter than the dance (padded with silence); more is an error
settings = configure(globals())

pose_files = sorted(glob.glob(os.path.join(data_dir(dataset, 'poses'), '*.npz')))
if clips:
    wanted = set(clips.split(','))
    missing = wanted - {clip_name(p) for p in pose_files}
    if missing:
        sys.exit(f"error: no pose file for clip(s) {', '.join(sorted(missing))} in {data_dir(dataset, 'poses')}")
    pose_files = [p for p in pose_files if clip_name(p) in wanted]
if not pose_files:
    sys.exit(f"error: no pose files in {data_dir(dataset, 'poses')} (run parse.py first)")

audio_folder = data_dir(dataset, 'audio')
failed, without_audio, written = [], [], 0
timings = []  # (audio seconds, wall seconds) per clip, for the real-time factor
bar = progress(pose_files, desc='music', unit='clip')
for pose_path in bar:
    clip = clip_name(pose_path)
    audio_path = find_media(audio_folder, clip, AUDIO_EXTENSIONS)
    if audio_path is None:
        extensions = ','.join(e[1:] for e in AUDIO_EXTENSIONS)
        bar.write(f"{clip}: no audio file {os.path.join(audio_folder, clip)}.{{{extensions}}}")
        without_audio.append(clip)
        continue
    start = time.perf_counter()
    try:
        dance = load_poses(pose_path)
        n_frames, fps = len(dance['poses']), dance['fps']
        if fps <= 0:
            raise InputError(f"{pose_path}: fps is {fps}, not a frame rate")
        samples, sr = load_audio(audio_path, sr=None)
    except InputError as e:
        bar.write(str(e))
        failed.append(clip)
        continue
    audio_s, dance_s = len(samples) / sr, n_frames / fps
    if audio_s < dance_s - max_short_s:
        bar.write(f"{audio_path}: audio is {audio_s:.2f} s, shorter than its dance ({dance_s:.2f} s, "
                  f"{n_frames} frames at {fps:g} fps) by more than {max_short_s:g} s")
        failed.append(clip)
        continue
    if abs(audio_s - dance_s) >= 0.5 / fps:
        bar.write(f"{clip}: audio {audio_s:.2f} s, dance {dance_s:.2f} s: audio "
                  f"{'padded with silence' if audio_s < dance_s else 'cut'} to the dance")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        features = music_features(samples, sr, fps, n_frames=n_frames)
    for w in caught:
        bar.write(f"{audio_path}: {w.message}")
    save_music(data_dir(dataset, 'music', clip + '.npz'), features, sr=analysis_rate(fps)[0], audio=audio_path,
             settings=json.dumps(settings))
    written += 1
    timings.append((min(audio_s, dance_s), time.perf_counter() - start))

print(f"wrote {written} music file(s) to {data_dir(dataset, 'music')}"
      + (f"; {len(without_audio)} clip(s) without audio" if without_audio else '')
      + (f"; {len(failed)} failed: {', '.join(failed)}" if failed else ''))
if timings:
    audio_total_s, wall_total_s = map(sum, zip(*timings))
    print(f"speed: {audio_total_s / wall_total_s:.0f}x real time ({audio_total_s:.0f} s of audio in "
          f"{wall_total_s:.1f} s)")
sys.exit(1 if failed else 0)
