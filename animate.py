"""Animate poses as a stick figure: MP4 with the music (H.264/AAC), or GIF; side by side; or over the video.

    python animate.py --poses=clip                     # data/<dataset>/poses/clip.npz + data/<dataset>/audio/clip.*
    python animate.py --poses=out/demo/dances/tokens/song.npz --poses2=clip --title=tokens --title2=real
    python animate.py --poses=clip --video=data/demo/videos/clip.mp4    # check pose tracking on the video
    python animate.py --poses=clip --gif=True
    python animate.py --poses=clip --camera=fixed      # frame the whole path once instead of following the dancer

Any .npz with a `poses` (T, 15, 2) array and `fps` works; optional `confidences` (T, 15) mark filled-in joints, and
an optional `music` entry (path of an audio file) is the default music of a dance that has no clip of its own.
"""
import json
import os
import sys

from l2d.config import configure
from l2d.io import AUDIO_EXTENSIONS, InputError, clip_name, data_dir, find_media, load_poses, out_dir
from l2d.render import CAMERAS, resample, write_animation

dataset = 'demo'
poses = ''  # path of a poses .npz, or a clip name in data/<dataset>/poses/ ('' = the dataset's first clip)
poses2 = ''  # a second sequence drawn beside the first (e.g. real vs generated); '' = none
title = ''  # title over the first sequence ('' = its clip name when side by side, none otherwise)
title2 = ''
music = ''  # audio file; '' = data/<dataset>/audio/<clip>.* if it exists; 'none' = silent
music_offset_s = 0.0  # where in the music the dance starts (negative: silence first)
video = ''  # draw over this video's frames (poses in its pixel coordinates)
out = ''  # '' = out/<dataset>/animations/<clip>.mp4 (or .gif)
width = 640
height = 480
fps = 0.0  # output frame rate; 0 = the pose file's
gif = False  # write a GIF (also chosen by an out path ending in .gif)
mark_filled = True  # draw joints of confidence 0 (filled in, not detected) pale
camera = 'follow'  # 'follow': pan with the dancer over a ticked floor; 'fixed': frame the whole clip once
settings = configure(globals())


def resolve_poses(name):
    """A pose file path from a path or a clip name of the dataset."""
    if os.path.isfile(name) or name.endswith('.npz') or os.sep in name:
        return name
    return data_dir(dataset, 'poses', name + '.npz')


def existing(path):
    """`path`, or InputError naming it when there is no such file."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    return path


try:
    if camera not in CAMERAS:
        raise InputError(f"camera must be one of {', '.join(CAMERAS)}, got {camera!r}")
    if not poses:
        folder = data_dir(dataset, 'poses')
        names = sorted(f for f in os.listdir(folder) if f.endswith('.npz')) if os.path.isdir(folder) else []
        if not names:
            raise InputError(f"{folder}: no pose files (give --poses=path or run parse.py first)")
        poses = names[0][:-len('.npz')]
    sequences = [load_poses(existing(resolve_poses(p))) for p in (poses, poses2) if p]
    clips = [clip_name(resolve_poses(p)) for p in (poses, poses2) if p]
    for path, seq in zip((poses, poses2), sequences):
        if not seq['fps'] > 0:
            raise InputError(f"{resolve_poses(path)}: no positive 'fps' entry")

    out_fps = fps or sequences[0]['fps']
    poses_list = [resample(s['poses'], s['fps'], out_fps) for s in sequences]
    confidences_list = None
    if mark_filled:
        confidences_list = [resample(s['confidences'], s['fps'], out_fps) if 'confidences' in s else None
                            for s in sequences]

    if music.lower() == 'none':
        music_path = None
    elif music:
        music_path = existing(music)
    elif 'music' in sequences[0] and os.path.isfile(str(sequences[0]['music'])):
        music_path = str(sequences[0]['music'])
    else:
        music_path = find_media(data_dir(dataset, 'audio'), clips[0], AUDIO_EXTENSIONS)

    side_by_side = len(sequences) > 1
    titles = [title or clips[0], title2 or clips[1]] if side_by_side else [title] if title else None
    as_gif = gif or out.lower().endswith('.gif')
    out_path = out or out_dir(dataset, 'animations', '_vs_'.join(clips) + ('.gif' if as_gif else '.mp4'))
    if as_gif and not out_path.lower().endswith('.gif'):
        out_path = os.path.splitext(out_path)[0] + '.gif'
    if music_path and as_gif:
        print(f"note: a GIF has no sound; {music_path} is not used")
    print(f"animating {' | '.join(clips)}: {max(len(p) for p in poses_list)} frames at {out_fps:g} fps"
          + (f", music {music_path} from {music_offset_s:g} s" if music_path and not as_gif else ''))
    write_animation(out_path, poses_list, out_fps, music_path=music_path, music_offset_s=music_offset_s,
                    titles=titles, size=(width, height), video_path=video and existing(video),
                    confidences_list=confidences_list, caption=None if side_by_side else clips[0],
                    comment=json.dumps({'script': 'animate.py', 'settings': settings}), camera=camera)
except InputError as e:
    sys.exit(f"error: {e}")
print(f"wrote {out_path}")
