"""Dance with Melody (Tang, Jia, Mao, ACM MM 2018) -> this project's layout, from the raw dataset folders.

Reads `source_dir`/DANCE_<type>_<n>/{skeletons.json, config.json, audio.mp3} (3-D motion capture at 25 fps and the
whole song; see ../shared/README.md) and writes under data/<dataset>/:
  poses/<clip>.npz   the 15-joint skeleton seen by a fixed front camera: (T, 15, 2) pixels, y down, 25 fps
  audio/<clip>.wav   the music of the dance: from config.json's start_position / 25 s, T / 25 s long, `sr` Hz mono
  meta.json          label = dance type (C cha-cha, R rumba, T tango, W waltz) and the fixed train/test split

    python data/dance_with_melody/prepare.py
    python data/dance_with_melody/prepare.py --clips=DANCE_C_2,DANCE_W_1 --source_dir=/elsewhere/dance_with_melody

The 15 joints from the 23 points (numbers are the dataset's point indices; "A" is the chain 3-6 / 7-11 and "B"
the chain 12-15 / 16-20):
  Nose       midpoint of the head points 0 and 1. They are 10-11 cm apart at the same height, across the head
             (ear to ear, not front to back: in the cha-cha and rumba the 0->1 line is 84 degrees from the body's
             forward direction), so their midpoint, the centre of the head, is the head point a front camera sees
             where OpenPose puts the nose.
  Neck       midpoint of the shoulders 3 and 12 (the dataset stores no neck).
  RShoulder 12, RElbow 13, RWrist 15; LShoulder 3, LElbow 4, LWrist 6. An arm's end point (6, 15) is the wrist:
             it is 23-30 cm from the elbow, a forearm's length; the middle points 5 and 14 are only 11-17 cm from
             the elbow, on the forearm. The extra hand-direction points 21 and 22 are not used.
  MidHip     midpoint of the hips 7 and 16, as OpenPose's MidHip lies between the hip joints. The root point 2 is
             not used: it sits 12-17 cm above that midpoint, on the lower spine.
  RHip 16, RKnee 17, RAnkle 18; LHip 7, LKnee 8, LAnkle 9. The foot points (10, 11, 19, 20) only serve the
             left/right check and the floor.

Left and right, decided from the data. The dataset names no joint; two facts fix the sides.
  1. Which way the dancer faces, from the body alone: take F = (hip16 - hip7) x up (the ordinary cross-product
     formula on the stored numbers). The toe of each foot (the foot point farther from the ankle: 11 and 20 are
     16-18 cm from it, 10 and 19 only 8-13 cm) lies ahead of the other foot point along F in 98.0% of the 2 x
     60,335 foot observations of the 37 dances (foot A 98.7%, foot B 97.4%; at least 94.5% in every dance), and a
     bent knee (8 or 17 more than 5 cm off its hip-ankle line) bulges along F in 83% of them (tango 99.7%, waltz
     95%, cha-cha 76%, rumba 56%, whose technique straightens and braces the knee). So F is the dancer's forward
     direction, and chains A and B lie on opposite sides of it, the same way round in every dance.
  2. Which of those sides is the dancer's left: the frame's handedness, which no geometry can tell, so it is read
     off a rule of the two closed-hold dances: in the waltz and the tango both partners turn the head to their own
     LEFT. Relative to the shoulders, the head's ear line (0 -> 1) turns the face toward chain A by a median 23
     degrees in the 26 waltzes (in 66-93% of each one's frames) and 38 degrees in the tango, against 5-6 in the
     cha-cha and rumba, which have no such rule; in those two the head is also shifted 1-2 cm to the A side. So chain A
     is the LEFT side, and the stored frame is left-handed (x, y up, z, as in Unity, which the dataset's authors
     used for their demo): forward = (right - left) x up. This also fits the rest of the closed hold if the dancer
     is the lady: her head is held back (9-11 cm behind the neck in the waltz and tango, 2 cm ahead of it in the
     Latin dances), and her right hand, held in her partner's left, is the higher one (wrist B 10 cm above the
     shoulder line in the waltz and 18 in the tango, wrist A 2 and -2).
     Were the frame right-handed instead, every output would be the mirror image of the dance with matching labels:
     still a consistent dancer. Each run re-checks fact 1 per dance and warns below `min_toes_forward`.

Front view. The dancers face every way about equally (+z 27%, -z 23%, +x 25%, -x 26% of the frames, all dances
together: ballroom turns all the time), so no axis is "the front". The camera is the dataset authors' own view,
their drawing's x to the right and y up: in the left-handed frame, a camera at -z looking along +z. It is
orthographic (fixed, at infinity): 1 cm is `pixels_per_cm` pixels in every dance and every frame, so a dancer is
about 400 px from ankle to nose wherever they are and root speeds compare across dances; travel along x moves the
figure across the picture, travel along z is depth, not seen. Each dance's range of root positions along x is
centred in the picture; dances that travel far leave the nominal `width` at times (a renderer frames the clip
itself): the whole figure is inside 1280 x 720 in 82% of all frames, in 35% for the widest traveller (W_11,
8.5 m of travel along x) and throughout in 5 dances.

Motion capture faults handled:
  - Height drift: the global root height `center` y drifts upward in most dances (the feet float up to 51 cm above
    the floor by the end, W_31; 27 cm in the median dance). The floor is re-found as the lowest foot point's
    height, its minimum over a sliding `floor_window_s` window (in these dances a foot is down at least that
    often) smoothed over the same window, and subtracted, so the feet stay on the picture's floor row.
  - Held frames: where the capture lost the dancer it repeats the last pose, or the last root position (which
    stays held a few frames longer), exactly; those frames get confidence 0 ("filled in"), all others 1.
  - config.json's end_position - start_position differs from T by 1-56 frames: T is trusted, as the dataset says.
"""
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from l2d.config import configure  # noqa: E402
from l2d.progress import progress  # noqa: E402
from l2d.io import ROOT, InputError, data_dir, load_audio, load_json, save_json, save_poses, save_wav  # noqa: E402

dataset = 'dance_with_melody'
source_dir = '../shared/data/dance_with_melody'  # the raw dataset; a relative path is taken from the repository root
clips = ''                   # comma-separated folder names to import, e.g. 'DANCE_C_2,DANCE_W_1'; '' = all DANCE_*
sr = 22050                   # sample rate of the written audio, Hz
pixels_per_cm = 3.0          # picture scale: a dancer is ~400 px from ankle to nose, ~500 px tall
width = 1280                 # picture size in pixels, for placing the dancer
height = 720
floor_margin_px = 40         # the floor is this far above the picture's bottom edge
floor_window_s = 2.0         # window for re-finding the floor under the height drift, seconds
min_toes_forward = 0.9       # warn when fewer frames than this have the toes pointing the way left/right imply
settings = configure(globals())

FPS = 25                     # the dataset's capture rate
DANCE_TYPES = {'C': 'cha-cha', 'R': 'rumba', 'T': 'tango', 'W': 'waltz'}
CLIP_NAME = re.compile(r'DANCE_([A-Z])_\d+$')
# The fixed test split: 9 of the 37 dances (24%), one cha-cha, one rumba and seven waltzes; the one tango trains.
# Many waltzes repeat stretches of other waltzes frame for frame (up to 28% of a dance), so the test waltzes are
# those that share nothing with the others (4, 16, 18, 29, 34: under 1% of their frames) and the pair 8 and 20,
# which share 3% only with each other; a test dance thus never replays training frames.
TEST_CLIPS = ('DANCE_C_7', 'DANCE_R_9', 'DANCE_W_4', 'DANCE_W_8', 'DANCE_W_16', 'DANCE_W_18', 'DANCE_W_20',
              'DANCE_W_29', 'DANCE_W_34')

N_POINTS = 23
UP = np.array([0.0, 1.0, 0.0])
# Each of the 15 joints (l2d.skeleton order) as the mean of these points; see the docstring for why.
JOINT_POINTS = ((0, 1), (3, 12), (12,), (13,), (15,), (3,), (4,), (6,), (7, 16), (16,), (17,), (18,), (7,), (8,), (9,))
LEFT_HIP, RIGHT_HIP = 7, 16
TOES, HEELS = (11, 20), (10, 19)
FOOT_POINTS = (9, 10, 11, 18, 19, 20)


def dance_type(clip):
    """The dance type letter of a folder name such as 'DANCE_W_12' ('W'), or None for any other name."""
    match = CLIP_NAME.match(clip)
    return match.group(1) if match and match.group(1) in DANCE_TYPES else None


def read_dance(folder):
    """A dance folder -> (points (T, 23, 3) float64 in the capture's world frame, cm, y up; held (T,) bool, the
    frames that repeat the previous frame's pose or root position exactly, so were not measured; start_position in
    frames). InputError naming the file when a file is missing or malformed."""
    path = os.path.join(folder, 'skeletons.json')
    raw = load_json(path)
    try:
        n_frames = int(raw['length'])
        skeletons = np.asarray(raw['skeletons'], dtype=np.float64)
        center = np.asarray(raw['center'], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: expected 'length', 'center' [T][3] and 'skeletons' [T][23][3] ({e})")
    if skeletons.shape != (n_frames, N_POINTS, 3) or center.shape != (n_frames, 3) or n_frames < 2:
        raise InputError(f"{path}: 'skeletons' is {skeletons.shape} and 'center' {center.shape}, expected "
                         f"({n_frames}, {N_POINTS}, 3) and ({n_frames}, 3) for 'length' {n_frames} (at least 2)")
    if not (np.isfinite(skeletons).all() and np.isfinite(center).all()):
        raise InputError(f"{path}: contains NaN or infinite coordinates")
    config_path = os.path.join(folder, 'config.json')
    config = load_json(config_path)
    start = config.get('start_position') if isinstance(config, dict) else None
    if not isinstance(start, int) or start < 0:
        raise InputError(f"{config_path}: expected a non-negative integer 'start_position', got {start!r}")
    held = np.zeros(n_frames, dtype=bool)
    held[1:] = (skeletons[1:] == skeletons[:-1]).all(axis=(1, 2)) | (center[1:] == center[:-1]).all(axis=1)
    return skeletons + center[:, None, :], held, start


def remove_height_drift(points, window_frames):
    """Put the floor back at height 0 in every frame. points: (T, 23, 3) cm, y up -> same shape.

    The floor is the lowest foot point's height, its minimum over a sliding window (a foot touches the floor at
    least once per window), then averaged over the same window so that the correction has no steps."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    lowest = points[:, FOOT_POINTS, 1].min(axis=1)
    floor = uniform_filter1d(minimum_filter1d(lowest, window_frames, mode='nearest'), window_frames, mode='nearest')
    out = points.copy()
    out[:, :, 1] -= floor[:, None]
    return out


def toes_forward_fraction(points):
    """Fraction of foot observations (frames x 2 feet) whose toe lies ahead of the heel along the forward direction
    that the left/right assignment implies, (right hip - left hip) x up. points: (T, 23, 3) -> float 0..1."""
    forward = np.cross(points[:, RIGHT_HIP] - points[:, LEFT_HIP], UP)
    toe_directions = points[:, TOES] - points[:, HEELS]
    return float(((toe_directions * forward[:, None, :]).sum(axis=-1) > 0).mean())


def front_view(points):
    """The 15 joints in the picture of the fixed orthographic front camera. points: (T, 23, 3) cm, floor at y = 0
    -> (T, 15, 2) pixels, y down. The camera looks along +z, so x runs to the right (see the docstring)."""
    joints = np.stack([points[:, list(p)].mean(axis=1) for p in JOINT_POINTS], axis=1)
    root_x = points[:, (LEFT_HIP, RIGHT_HIP), 0].mean(axis=1)
    x_middle = (root_x.min() + root_x.max()) / 2
    pixels = np.empty(joints.shape[:2] + (2,))
    pixels[..., 0] = width / 2 + pixels_per_cm * (joints[..., 0] - x_middle)
    pixels[..., 1] = height - floor_margin_px - pixels_per_cm * joints[..., 1]
    return pixels


source = source_dir if os.path.isabs(source_dir) else os.path.normpath(os.path.join(ROOT, source_dir))
if not os.path.isdir(source):
    sys.exit(f"error: {source}: no such folder (set --source_dir to the Dance with Melody dataset)")
folders = sorted(name for name in os.listdir(source) if os.path.isdir(os.path.join(source, name)))
if clips:
    wanted = [c.strip() for c in clips.split(',') if c.strip()]
    missing = [c for c in wanted if c not in folders]
    if missing:
        print(f"skipped: {', '.join(missing)}: no such folder in {source}")
    folders = [c for c in wanted if c in folders]
else:
    folders = [name for name in folders if name.startswith('DANCE_')]

start_time = time.perf_counter()
n_imported = n_frames = 0
toes_forward = {}
bar = progress(folders, unit='dance', desc='import', mininterval=0.5)
for clip in bar:
    folder = os.path.join(source, clip)
    try:
        if not dance_type(clip):
            raise InputError(f"{folder}: not a dance folder name DANCE_<{'|'.join(DANCE_TYPES)}>_<n>")
        points, held, start = read_dance(folder)
        duration_s = len(points) / FPS
        audio_path = os.path.join(folder, 'audio.mp3')
        samples, _ = load_audio(audio_path, sr=sr, offset_s=start / FPS, duration_s=duration_s)
        n_samples = int(round(duration_s * sr))
        # An mp3 decoder may end a few samples early; more than a frame short means the song ends before the dance.
        if len(samples) < n_samples - sr / FPS:
            raise InputError(f"{audio_path}: the song ends {len(samples) / sr + start / FPS:.2f} s in, before the "
                             f"dance's end at {(start + len(points)) / FPS:.2f} s")
        samples = np.pad(samples, (0, max(0, n_samples - len(samples))))[:n_samples]
    except InputError as e:
        bar.write(f"skipped {clip}: {e}")
        continue
    toes_forward[clip] = toes_forward_fraction(points)
    if toes_forward[clip] < min_toes_forward:
        bar.write(f"warning: {clip}: the toes point the way the left/right assignment implies in only "
                  f"{100 * toes_forward[clip]:.1f}% of frames (expected >= {100 * min_toes_forward:.0f}%): "
                  f"left and right may be swapped in this dance")
    points = remove_height_drift(points, int(round(floor_window_s * FPS)))
    poses = front_view(points)
    confidences = np.repeat(np.where(held, 0.0, 1.0)[:, None], poses.shape[1], axis=1)
    save_poses(data_dir(dataset, 'poses', clip + '.npz'), poses, confidences, FPS, folder, settings)
    save_wav(data_dir(dataset, 'audio', clip + '.wav'), samples, sr)
    n_imported += 1
    n_frames += len(points)
bar.close()

# meta.json covers every dance with a pose file, so importing a few dances keeps the others' entries.
pose_dir = data_dir(dataset, 'poses')
imported = sorted(name[:-len('.npz')] for name in (os.listdir(pose_dir) if os.path.isdir(pose_dir) else ())
                  if name.endswith('.npz') and dance_type(name[:-len('.npz')]))
meta = {'label_kind': 'dance type', 'fps': FPS, 'label_names': DANCE_TYPES, 'settings': settings,
        'clips': {clip: {'label': dance_type(clip), 'split': 'test' if clip in TEST_CLIPS else 'train'}
                  for clip in imported}}
save_json(data_dir(dataset, 'meta.json'), meta)

elapsed_s = time.perf_counter() - start_time
if toes_forward:
    worst = min(toes_forward, key=toes_forward.get)
    print(f"left/right check: toes point forward in {100 * np.mean(list(toes_forward.values())):.1f}% of frames on "
          f"average, {100 * toes_forward[worst]:.1f}% at worst ({worst})")
n_test = sum(m['split'] == 'test' for m in meta['clips'].values())
print(f"imported {n_imported} of {len(folders)} dances ({n_frames} frames, {n_frames / FPS / 60:.1f} min) -> "
      f"{data_dir(dataset)}; meta.json: {len(imported)} dances, {n_test} test; {elapsed_s:.1f} s")
if n_imported == 0:
    sys.exit("error: no dance could be imported")
