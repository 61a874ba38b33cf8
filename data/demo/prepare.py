"""The built-in demo dataset: synthetic songs and a synthetic dancer, with known ground truth.

Writes, under data/<dataset>/, exactly what a real user has after running OpenPose on their videos:
  audio/<clip>.wav                                     the song (mono, `sr` Hz)
  openpose/<clip>/<clip>_<12-digit frame>_keypoints.json   BODY_25 per frame at `fps`, with detector faults
  meta.json                                            labels (style) and a fixed stratified train/test split
and the ground truth a real user does not have:
  truth.json                                           per song: style, tempo, beats, sections, move sequence
  truth/<clip>.npz                                     the clean, fault-free trajectory (a pose file)

Every song is a numpy synthesis of drums, bass and chords in one of four styles that differ in meter, tempo range
and rhythm. Its dancer moves by key poses, one per beat, eased between them so that the body's speed is zero on
each beat; moves change at bar boundaries by a style-specific Markov chain and grow with the section's loudness.

    python data/demo/prepare.py                      # 24 songs of 30 s into data/demo/
    python data/demo/prepare.py --n_songs=8 --song_seconds=8 --dataset=tiny
"""
import os
import re
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from l2d.config import configure  # noqa: E402
from l2d.progress import progress  # noqa: E402
from l2d.io import clip_name, data_dir, load_json, save_json, save_poses, save_wav  # noqa: E402
from l2d.openpose import frame_filename, write_frame  # noqa: E402
from l2d.skeleton import NUM_JOINTS  # noqa: E402

dataset = 'demo'
n_songs = 24                  # songs are dealt to the styles in turn: waltz_00, hiphop_00, reggaeton_00, house_00, ...
song_seconds = 30.0
seed = 1337
fps = 30
sr = 22050
width = 1280                  # video frame size in pixels
height = 720
min_person_height_px = 420.0  # the dancer's height (ankle to top of head) is drawn per song in this range
max_person_height_px = 500.0
joint_noise_px = 0.7          # std of the per-joint, per-frame detector jitter
empty_frame_rate = 0.02       # fraction of frames where the detector finds nobody ("people": [])
zeroed_joint_rate = 0.01      # fraction of joints reported undetected (0, 0, 0)
low_confidence_rate = 0.03    # fraction of joints reported with confidence < 0.3 and a larger position error
bystander_rate = 0.15         # fraction of frames with a second, smaller person in the picture
test_fraction = 0.25          # of each style's songs, the last ones go to the test split
settings = configure(globals())

# ---- styles -------------------------------------------------------------------------------------------------
# Drum patterns are one bar of 16th-note steps ('x' = hit). Every beat carries a kick or a snare so that a beat
# tracker can find it; what makes a style is its meter, tempo range, off-beat layer and the syncopation around it.
STYLES = {
    'waltz': dict(beats_per_bar=3, tempo_range_bpm=(80.0, 88.0),
                  kick='x...........', snare='....x...x...', hat='..x...x...x.',
                  bass_steps=(0,), chord_steps=(4, 8), chord_beats=0.6,
                  progression=((0, 'maj'), (5, 'maj'), (7, 'maj'), (0, 'maj'))),
    'hiphop': dict(beats_per_bar=4, tempo_range_bpm=(90.0, 100.0),
                   kick='x.......x.x.....', snare='....x.......x...', hat='x.x.x.x.x.x.x.x.',
                   bass_steps=(0, 10), chord_steps=(0,), chord_beats=4.0,
                   progression=((0, 'min'), (8, 'maj'), (3, 'maj'), (10, 'maj'))),
    'reggaeton': dict(beats_per_bar=4, tempo_range_bpm=(104.0, 112.0),
                      kick='x...x...x...x...', snare='...x..x.....x...', hat='x...x...x...x...',
                      drum_levels=(1.0, 0.4, 0.25), bass_steps=(0, 3, 8, 11), chord_steps=(0,), chord_beats=4.0,
                      progression=((0, 'min'), (5, 'min'), (10, 'maj'), (3, 'maj'))),
    'house': dict(beats_per_bar=4, tempo_range_bpm=(120.0, 128.0),
                  kick='x...x...x...x...', snare='....x.......x...', hat='..x...x...x...x.',
                  bass_steps=(2, 6, 10, 14), chord_steps=(0,), chord_beats=4.0,
                  progression=((9, 'min'), (5, 'maj'), (0, 'maj'), (7, 'maj'))),
}
STYLE_NAMES = tuple(STYLES)
TRIADS = {'maj': (0, 4, 7), 'min': (0, 3, 7)}
# Sections: loudness of the music (dB) and the matching size of the dance moves.
LEVELS = ({'name': 'quiet', 'gain_db': -10.0, 'move_size': 0.55},
          {'name': 'medium', 'gain_db': -5.0, 'move_size': 0.8},
          {'name': 'loud', 'gain_db': 0.0, 'move_size': 1.0})
BARS_PER_SECTION = 4

# ---- the dancer's body: a frontal 2-D kinematic model ---------------------------------------------------------
# Pose parameters, radians unless noted. Shoulder/hip angles are measured from hanging straight down, positive
# away from the body (mirrored for the two sides); elbow bends continue the arm's rotation; knee bends push the
# knee outward (a plie, the bend that shows from the front); dx is a sideways shift in person heights.
PARAMS = ('lean', 'head', 'rs', 're', 'ls', 'le', 'rh', 'rk', 'lh', 'lk', 'dx')
P = {name: i for i, name in enumerate(PARAMS)}
NEUTRAL = dict(rs=0.2, re=0.25, ls=0.2, le=0.25, rh=0.07, rk=0.06, lh=0.07, lk=0.06)
# Segment lengths in person heights (ankle-to-head-top = 1), from standard body proportions.
BODY = dict(ankle_height=0.04, thigh=0.245, shank=0.245, torso=0.30, head=0.10, shoulder_half=0.10,
            upper_arm=0.17, forearm=0.15, hip_half=0.055)


def pose(**deltas):
    """A key pose as a change from NEUTRAL: (len(PARAMS),) array."""
    v = np.zeros(len(PARAMS))
    for name, value in deltas.items():
        v[P[name]] = value
    return v


NEUTRAL_KEY = pose(**NEUTRAL)
# Each move is a cycle of key poses, one per beat; a bar plays the cycle from its start.
MOVES = {
    'step_touch': [pose(dx=-0.06, rh=0.15, rk=0.2, rs=0.3, ls=0.3), pose(dx=0.06, lh=0.15, lk=0.2, rs=0.3, ls=0.3)],
    'arm_swing': [pose(rs=1.3, ls=-0.15, lean=-0.08), pose(ls=1.3, rs=-0.15, lean=0.08)],
    'bounce': [pose(rk=0.5, lk=0.5, rh=0.15, lh=0.15, head=0.1, re=0.8, le=0.8), pose(re=0.3, le=0.3)],
    'box_step': [pose(rk=0.35, lk=0.35, dx=-0.04, rs=0.9, re=1.2, ls=0.9, le=1.2),
                 pose(rh=0.12, rs=1.0, re=1.0, ls=1.0, le=1.0),
                 pose(dx=0.04, lh=0.12, rs=0.9, re=1.1, ls=0.9, le=1.1)],
    'balance': [pose(lean=0.15, dx=0.05, lh=0.2, rs=1.5, ls=0.6),
                pose(lean=0.05, rs=1.1, ls=1.1, rk=0.2, lk=0.2),
                pose(lean=-0.15, dx=-0.05, rh=0.2, ls=1.5, rs=0.6)],
    'reach_turn': [pose(rs=2.6, re=-0.15, ls=0.4), pose(rs=1.8, re=0.6, ls=1.0, lean=0.1),
                   pose(rs=0.8, ls=2.4, le=-0.05, lean=-0.1)],
    'sway_hold': [pose(lean=0.12, head=0.15, rs=1.2, re=1.4, ls=1.2, le=1.4),
                  pose(rk=0.25, lk=0.25, rs=1.0, re=1.2, ls=1.0, le=1.2),
                  pose(lean=-0.12, head=-0.15, rs=1.2, re=1.4, ls=1.2, le=1.4)],
    'arm_pump': [pose(rs=2.7, ls=2.7, re=-0.15, le=-0.15), pose(rs=1.4, re=1.8, ls=1.4, le=1.8, rk=0.3, lk=0.3)],
    'shoulder_roll': [pose(lean=0.1, rs=0.6, re=1.6, head=-0.1), pose(lean=-0.1, ls=0.6, le=1.6, head=0.1)],
    'kick_out': [pose(rh=0.6, ls=1.0), pose(rk=0.3, lk=0.3), pose(lh=0.6, rs=1.0), pose(rk=0.3, lk=0.3, re=0.6)],
    'jack': [pose(rk=0.45, lk=0.45, rh=0.12, lh=0.12, head=0.2, rs=0.5, ls=0.5, re=1.0, le=1.0),
             pose(head=-0.1, rs=0.8, ls=0.8)],
    'hands_up': [pose(rs=2.8, ls=2.8), pose(rs=2.3, ls=2.3, re=0.7, le=0.7, rk=0.3, lk=0.3)],
    'shuffle': [pose(rh=0.45, lk=0.3, lean=0.06), pose(lh=0.45, rk=0.3, lean=-0.06)],
    'point': [pose(rs=2.5, re=-0.2, ls=0.3, lean=-0.05), pose(rs=0.6, re=1.0, rk=0.25, lk=0.25),
              pose(ls=2.5, le=-0.2, rs=0.3, lean=0.05), pose(ls=0.6, le=1.0, rk=0.25, lk=0.25)],
    'hip_sway': [pose(lean=0.14, dx=0.04, rk=0.3, rs=0.7, re=1.5, ls=0.7, le=1.5),
                 pose(lean=-0.14, dx=-0.04, lk=0.3, rs=0.7, re=1.5, ls=0.7, le=1.5)],
    'perreo': [pose(rk=0.55, lk=0.55, rh=0.25, lh=0.25, lean=0.08, rs=0.4, ls=0.4), pose(rk=0.2, lk=0.2, lean=-0.08)],
    'arm_roll': [pose(rs=1.3, re=2.0, ls=1.0, le=2.2), pose(rs=1.0, re=2.2, ls=1.3, le=2.0, rk=0.2, lk=0.2)],
    'clap_side': [pose(rs=1.1, re=1.6, ls=1.1, le=1.6, lean=0.1, dx=0.03), pose(rs=0.4, ls=0.4, rk=0.25, lk=0.25),
                  pose(rs=1.1, re=1.6, ls=1.1, le=1.6, lean=-0.1, dx=-0.03), pose(rs=0.4, ls=0.4)],
}
# Each style's vocabulary, in the order its Markov chain prefers to walk it (a few moves are shared).
STYLE_MOVES = {
    'waltz': ('box_step', 'balance', 'reach_turn', 'sway_hold', 'arm_swing'),
    'hiphop': ('bounce', 'arm_pump', 'shoulder_roll', 'kick_out', 'arm_swing', 'step_touch'),
    'reggaeton': ('hip_sway', 'perreo', 'arm_roll', 'clap_side', 'step_touch'),
    'house': ('jack', 'hands_up', 'shuffle', 'point', 'bounce', 'step_touch'),
}
NEXT_IN_ORDER, REPEAT = 0.55, 0.25   # the rest of the probability is spread evenly over the style's other moves
# A knee dip added to a key pose that would otherwise hold still through a beat, so every beat has a speed minimum.
DIP = pose(rk=0.25, lk=0.25)


def transition_matrix(n_moves):
    """The Markov chain over a style's moves: (n_moves, n_moves) rows summing to 1."""
    t = np.full((n_moves, n_moves), (1.0 - NEXT_IN_ORDER - REPEAT) / max(n_moves - 2, 1))
    for i in range(n_moves):
        t[i, i] = REPEAT
        t[i, (i + 1) % n_moves] = NEXT_IN_ORDER
    return t / t.sum(axis=1, keepdims=True)


def ease(u):
    """Ease-in-out from 0 to 1 with zero slope at both ends: u (...,) in 0..1 -> same shape."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


def keyframe(key_times_s, keys, times_s):
    """Values at `times_s` of a track that eases from key to key: key_times_s (K,) increasing, keys (K, D)
    -> (len(times_s), D). Before the first key and after the last the track holds still."""
    i = np.clip(np.searchsorted(key_times_s, times_s, side='right') - 1, 0, len(key_times_s) - 2)
    u = (times_s - key_times_s[i]) / (key_times_s[i + 1] - key_times_s[i])
    return keys[i] + ease(u)[:, None] * (keys[i + 1] - keys[i])


def body_joints(params, height_px):
    """Forward kinematics. params (T, len(PARAMS)) -> joints (T, 15, 2) in pixels relative to the MidHip, y down."""
    side = {'R': -1.0, 'L': 1.0}    # the dancer faces the camera: their right side is on the image's left
    b = {k: v * height_px for k, v in BODY.items()}
    lean = params[:, P['lean']]
    joints = np.zeros((len(params), NUM_JOINTS, 2))

    def direction(angle):           # unit vector at `angle` from straight down, positive toward the image's right
        return np.stack([np.sin(angle), np.cos(angle)], axis=-1)

    neck = -b['torso'] * direction(lean)
    across = np.stack([np.cos(lean), -np.sin(lean)], axis=-1)      # the shoulder line, square to the torso
    joints[:, 1] = neck
    joints[:, 0] = neck - b['head'] * direction(lean + params[:, P['head']])
    for s, shoulder_j, angle, bend in (('R', 2, 'rs', 're'), ('L', 5, 'ls', 'le')):
        shoulder = neck + side[s] * b['shoulder_half'] * across
        upper = lean + side[s] * params[:, P[angle]]
        elbow = shoulder + b['upper_arm'] * direction(upper)
        joints[:, shoulder_j:shoulder_j + 3] = np.stack(
            [shoulder, elbow, elbow + b['forearm'] * direction(upper + side[s] * params[:, P[bend]])], axis=1)
    for s, hip_j, angle, bend in (('R', 9, 'rh', 'rk'), ('L', 12, 'lh', 'lk')):
        hip = np.zeros_like(neck) + [side[s] * b['hip_half'], 0.0]
        thigh = side[s] * params[:, P[angle]]
        knee = hip + b['thigh'] * direction(thigh)
        joints[:, hip_j:hip_j + 3] = np.stack(
            [hip, knee, knee + b['shank'] * direction(thigh - side[s] * params[:, P[bend]])], axis=1)
    return joints


# ---- music synthesis ------------------------------------------------------------------------------------------

def one_shots(rng):
    """Drum samples: dict name -> (N,) float array at `sr`."""
    t = np.arange(int(0.35 * sr)) / sr
    kick_hz = 48.0 + 110.0 * np.exp(-t / 0.035)
    kick = np.sin(2 * np.pi * np.cumsum(kick_hz) / sr) * np.exp(-t / 0.13)
    kick[:int(0.003 * sr)] += rng.uniform(-0.6, 0.6, int(0.003 * sr))      # beater click: a sharp onset
    noise = rng.standard_normal(len(t))
    snare = (0.7 * np.diff(noise, prepend=0.0) * np.exp(-t / 0.07)
             + 0.6 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.05))
    hat = np.diff(noise, n=2, prepend=[0.0, 0.0]) * np.exp(-t / 0.018) * 0.5
    return {'kick': kick, 'snare': snare, 'hat': hat}


def note(freq_hz, duration_s, attack_s, decay_s, harmonics):
    """One synthesised note: (duration_s * sr,) float, with a 20 ms release so that it ends without a click."""
    t = np.arange(int(duration_s * sr)) / sr
    envelope = np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s) * np.clip((duration_s - t) / 0.02, 0.0, 1.0)
    return envelope * sum(a * np.sin(2 * np.pi * (k + 1) * freq_hz * t) for k, a in enumerate(harmonics))


def place(mix, onsets_s, sounds, gains):
    """Add sounds[i] * gains[i] into `mix` (N,) at onsets_s[i], in place; sounds past the end are cut."""
    for onset_s, sound, gain in zip(onsets_s, sounds, gains):
        start = int(round(onset_s * sr))
        n = min(len(sound), len(mix) - start)
        if n > 0:
            mix[start:start + n] += gain * sound[:n]


def synthesise(style, beat_s, first_beat_s, n_bars, bar_gain_db, root_semitone, rng, n_samples):
    """One song's audio: (n_samples,) float32, peak 0.9. Each instrument is a sample placed at its onsets."""
    st = STYLES[style]
    step_s = beat_s / 4
    bar_starts_s = first_beat_s + np.arange(n_bars) * st['beats_per_bar'] * beat_s
    mix = np.zeros(n_samples)
    shots = one_shots(rng)
    for name, level in zip(('kick', 'snare', 'hat'), st.get('drum_levels', (1.0, 0.55, 0.25))):
        steps = np.array([i for i, c in enumerate(st[name]) if c == 'x'])
        onsets_s = (bar_starts_s[:, None] + steps[None, :] * step_s).ravel()
        accent = np.tile(np.where(steps % 4 == 0, 1.0, 0.7), n_bars)       # hits on the beat are played harder
        velocity = accent * rng.uniform(0.9, 1.0, len(onsets_s))           # a drummer is never exactly even
        place(mix, onsets_s, [shots[name]] * len(onsets_s), level * velocity)
    chords = [st['progression'][b % len(st['progression'])] for b in range(n_bars)]
    root_hz = 55.0 * 2 ** (root_semitone / 12)                              # A1 .. G#2
    bass = {c: note(root_hz * 2 ** (c[0] / 12), 0.9 * beat_s, 0.008, 0.25, (1.0, 0.35, 0.15)) for c in set(chords)}
    bass_steps = np.array(st['bass_steps'])
    place(mix, (bar_starts_s[:, None] + bass_steps * step_s).ravel(),
          [bass[c] for c in chords for _ in bass_steps], np.full(n_bars * len(bass_steps), 0.35))
    chord_sound = {c: sum(note(4 * root_hz * 2 ** ((c[0] + interval) / 12), st['chord_beats'] * beat_s, 0.02, 1.5,
                               (1.0, 0.2)) for interval in TRIADS[c[1]]) for c in set(chords)}
    chord_steps = np.array(st['chord_steps'])
    place(mix, (bar_starts_s[:, None] + chord_steps * step_s).ravel(),
          [chord_sound[c] for c in chords for _ in chord_steps], np.full(n_bars * len(chord_steps), 0.07))
    # A recording's noise floor (room, tape), scaled with the section's level below: over digital silence a quiet
    # section's hits make much weaker onsets in a log spectrogram, and beat trackers drop quiet intros.
    mix += 0.004 * rng.standard_normal(n_samples)
    # Section loudness, with 10 ms ramps at the bar lines so gain changes do not click.
    previous_db = np.concatenate([[bar_gain_db[0]], bar_gain_db[:-1]])
    ramp_points = np.column_stack([bar_starts_s - 0.005, bar_starts_s + 0.005]).ravel()
    ramp_db = np.column_stack([previous_db, bar_gain_db]).ravel()
    mix *= 10 ** (np.interp(np.arange(n_samples) / sr, ramp_points, ramp_db) / 20)
    return (0.9 * mix / np.max(np.abs(mix))).astype(np.float32)


# ---- detector faults ------------------------------------------------------------------------------------------

def runs(rng, n_frames, rate, min_len, max_len):
    """A boolean (n_frames,) mask covering about `rate` of the frames with runs of min_len..max_len frames."""
    mask = np.zeros(n_frames, bool)
    if rate <= 0:
        return mask
    mean_len = (min_len + max_len) / 2
    starts = np.flatnonzero(rng.random(n_frames) < rate / mean_len)
    for start, length in zip(starts, rng.integers(min_len, max_len + 1, len(starts))):
        mask[start:start + length] = True
    return mask


def detections(rng, clean, confidence_range, zeroed_rate, low_rate):
    """What a detector reports for a person: clean (T, 15, 2) -> (T, 15, 3) with jitter, low-confidence joints
    (placed less accurately, as real ones are) and undetected joints (0, 0, 0)."""
    kp = np.concatenate([clean + rng.normal(0.0, joint_noise_px, clean.shape),
                         rng.uniform(*confidence_range, clean.shape[:2])[..., None]], axis=-1)
    low = rng.random(clean.shape[:2]) < low_rate
    kp[low, :2] += rng.normal(0.0, 6.0, (low.sum(), 2))
    kp[low, 2] = rng.uniform(0.05, 0.3, low.sum())
    kp[rng.random(clean.shape[:2]) < zeroed_rate] = 0.0
    return kp


# ---- one song -------------------------------------------------------------------------------------------------

def dance(style, bar_move, bar_level, key_times_s, times_s, rng):
    """The dancer's clean trajectory: (len(times_s), 15, 2) pixels, and their height in pixels.

    bar_move: index into STYLE_MOVES[style] per bar; bar_level: index into LEVELS per bar; key_times_s: the time
    of each key pose, one beat before the first bar's first beat (the neutral pose), then every beat."""
    bpb = STYLES[style]['beats_per_bar']
    keys = [NEUTRAL_KEY]
    for move, level in zip(bar_move, bar_level):
        cycle = MOVES[STYLE_MOVES[style][move]]
        size = LEVELS[level]['move_size']
        for beat in range(bpb):
            key = NEUTRAL_KEY + size * cycle[beat % len(cycle)]
            if np.max(np.abs(key - keys[-1])) < 0.1:
                key = key + size * DIP
            keys.append(key)
    # Travel and sway are keyed on the beats too: the whole body comes to rest on each beat.
    height_px = float(rng.uniform(min_person_height_px, max_person_height_px))
    floor_x = (0.35 * width, 0.65 * width)
    x = float(rng.uniform(0.42, 0.58) * width)
    step_px, direction = float(rng.uniform(2.0, 5.0)), float(rng.choice([-1.0, 1.0]))
    travel_x = [x]
    for _ in range(len(keys) - 1):
        if not floor_x[0] < x + direction * step_px < floor_x[1]:
            direction = -direction
        x += direction * step_px
        travel_x.append(x)
    sway_x = 0.015 * height_px * np.sin(np.pi * np.arange(-1, len(keys) - 1) / bpb)
    params = keyframe(key_times_s, np.column_stack([keys, np.array(travel_x) + sway_x]), times_s)
    joints = body_joints(params[:, :-1], height_px)
    root_x = params[:, -1] + params[:, P['dx']] * height_px
    return stand(joints, root_x, 0.93 * height, height_px), height_px


def stand(joints, root_x, floor_y, height_px):
    """Place a body (T, 15, 2), given relative to its MidHip, with the MidHip at root_x (T,) and its lower foot on
    the floor (the ankle joint is a little above the sole) -> (T, 15, 2) float32 pixels."""
    feet_y = joints[:, [11, 14], 1].max(axis=1) + BODY['ankle_height'] * height_px
    return (joints + np.stack([root_x, floor_y - feet_y], axis=-1)[:, None, :]).astype(np.float32)


def detector_output(clean, height_px, times_s, rng):
    """What OpenPose reports per frame (a list of people, each (15, 3): x, y, confidence) and the faults made."""
    n_frames = len(clean)
    dancer = detections(rng, clean, (0.6, 0.95), zeroed_joint_rate, low_confidence_rate)
    empty = runs(rng, n_frames, empty_frame_rate, 1, 3)
    bystander = runs(rng, n_frames, bystander_rate, int(0.5 * fps), int(2.5 * fps))
    idle = np.tile(NEUTRAL_KEY, (n_frames, 1))       # a bystander shifts about, not to the beat
    idle[:, P['lean']] += 0.05 * np.sin(2 * np.pi * times_s / 3.1)
    idle[:, P['rs']] += 0.2 * np.sin(2 * np.pi * times_s / 2.3)
    idle[:, P['le']] += 0.3 * np.sin(2 * np.pi * times_s / 1.7)
    by_height_px = height_px * rng.uniform(0.5, 0.65)
    by_x = width * (0.08 if rng.random() < 0.5 else 0.92)       # off to the side, beyond the dancer's reach
    by_clean = stand(body_joints(idle, by_height_px), np.full(n_frames, by_x), 0.93 * height - 30.0, by_height_px)
    by_kp = detections(rng, by_clean, (0.3, 0.75), 3 * zeroed_joint_rate, 2 * low_confidence_rate)
    by_first = rng.random(n_frames) < 0.4
    people = []
    for f in range(n_frames):
        if empty[f]:
            people.append([])
        elif bystander[f]:
            people.append([by_kp[f], dancer[f]] if by_first[f] else [dancer[f], by_kp[f]])
        else:
            people.append([dancer[f]])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bystander.astype(int), [0]]))).reshape(-1, 2)
    faults = {'empty_frames': [int(f) for f in np.flatnonzero(empty)],
              'bystander_frames': [[int(a), int(b)] for a, b in edges], 'bystander_x_px': round(float(by_x), 1)}
    return people, faults


def make_song(index):
    """Song number `index` -> (clip name, audio (N,) float32, clean poses (T, 15, 2), people per frame, truth)."""
    style = STYLE_NAMES[index % len(STYLE_NAMES)]
    clip = f"{style}_{index // len(STYLE_NAMES):02d}"
    st = STYLES[style]
    bpb = st['beats_per_bar']
    # Separate streams, so that changing the fault rates does not change the dance or the music.
    music_rng, dance_rng, fault_rng = (np.random.default_rng([seed, index, k]) for k in range(3))
    n_frames, n_samples = int(round(song_seconds * fps)), int(round(song_seconds * sr))
    tempo_bpm = float(music_rng.uniform(*st['tempo_range_bpm']))
    beat_s = 60.0 / tempo_bpm
    first_beat_s = float(music_rng.uniform(0.15, 0.5))
    n_beats = max(0, int(np.floor((song_seconds - first_beat_s) / beat_s)) + 1)
    n_bars = -(-n_beats // bpb) + 1       # one bar past the end, so the dance keeps moving up to the last frame
    section_level = [int(music_rng.integers(len(LEVELS)))]
    while len(section_level) * BARS_PER_SECTION < n_bars:
        section_level.append((section_level[-1] + int(music_rng.integers(1, len(LEVELS)))) % len(LEVELS))
    bar_level = np.repeat(section_level, BARS_PER_SECTION)[:n_bars]
    audio = synthesise(style, beat_s, first_beat_s, n_bars, np.array([LEVELS[k]['gain_db'] for k in bar_level]),
                       int(music_rng.integers(12)), music_rng, n_samples)

    names = STYLE_MOVES[style]
    chain = transition_matrix(len(names))
    bar_move = [int(dance_rng.integers(len(names)))]
    for _ in range(n_bars - 1):
        bar_move.append(int(dance_rng.choice(len(names), p=chain[bar_move[-1]])))
    times_s = np.arange(n_frames) / fps
    key_times_s = first_beat_s + beat_s * np.arange(-1, n_bars * bpb)
    clean, height_px = dance(style, bar_move, bar_level, key_times_s, times_s, dance_rng)
    people, faults = detector_output(clean, height_px, times_s, fault_rng)

    beat_times_s = first_beat_s + beat_s * np.arange(n_beats)
    bar_starts_s = first_beat_s + beat_s * bpb * np.arange(n_bars + 1)
    bar_frames = np.minimum(np.round(bar_starts_s * fps).astype(int), n_frames)
    moves = [{'move': names[m], 'bar': b, 'size': LEVELS[bar_level[b]]['move_size'],
              'start_s': round(float(bar_starts_s[b]), 6), 'start_frame': int(bar_frames[b]),
              'end_frame': int(bar_frames[b + 1])}
             for b, m in enumerate(bar_move) if bar_frames[b] < n_frames]
    sections = [{'level': LEVELS[level]['name'], 'gain_db': LEVELS[level]['gain_db'],
                 'move_size': LEVELS[level]['move_size'], 'start_s': round(float(bar_starts_s[first_bar]), 6),
                 'start_frame': int(bar_frames[first_bar]),
                 'end_frame': int(bar_frames[min(first_bar + BARS_PER_SECTION, n_bars)])}
                for first_bar, level in zip(range(0, n_bars, BARS_PER_SECTION), section_level)
                if bar_frames[first_bar] < n_frames]
    truth = {'style': style, 'tempo_bpm': round(tempo_bpm, 4), 'beats_per_bar': bpb,
             'beat_times_s': [round(float(t), 6) for t in beat_times_s],
             'beat_frames': [int(f) for f in np.round(beat_times_s * fps)],
             'n_frames': n_frames, 'duration_s': n_samples / sr, 'person_height_px': round(height_px, 2),
             'sections': sections, 'moves': moves, 'faults': faults}
    return clip, audio, clean, people, truth


# ---- clear a previous demo ------------------------------------------------------------------------------------
t_start = time.time()
GENERATOR = 'data/demo/prepare.py'
root = data_dir(dataset)
truth_path = os.path.join(root, 'truth.json')
ours = dataset == 'demo' or (os.path.isfile(truth_path) and load_json(truth_path).get('generator') == GENERATOR)
if not ours and os.path.isdir(root) and set(os.listdir(root)) - {'prepare.py', 'README.md'}:
    sys.exit(f"{root}: holds files that {GENERATOR} did not make (no demo truth.json); choose another --dataset")
# Every per-clip output of an earlier demo, in any stage's folder: the clips it names may not exist any more.
clip_pattern = re.compile(r'^(' + '|'.join(STYLE_NAMES) + r')_\d+$')
if os.path.isdir(root):
    for stage in sorted(os.listdir(root)):
        folder = os.path.join(root, stage)
        if os.path.isdir(folder):
            for entry in os.listdir(folder):
                path = os.path.join(folder, entry)
                if clip_pattern.match(clip_name(entry)):
                    if os.path.isdir(path):
                        shutil.rmtree(path)
                    else:
                        os.remove(path)
    for name in ('truth.json', 'meta.json'):
        if os.path.isfile(os.path.join(root, name)):
            os.remove(os.path.join(root, name))
save_json(truth_path, {'generator': GENERATOR, 'complete': False, 'settings': settings})

# ---- generate -------------------------------------------------------------------------------------------------
songs = {}
for index in progress(range(n_songs), desc='demo songs', unit='song'):
    clip, audio, clean, people, truth = make_song(index)
    save_wav(data_dir(dataset, 'audio', clip + '.wav'), audio, sr)
    folder = data_dir(dataset, 'openpose', clip)
    os.makedirs(folder, exist_ok=True)
    for frame, frame_people in enumerate(people):
        write_frame(os.path.join(folder, frame_filename(clip, frame)), frame_people)
    save_poses(data_dir(dataset, 'truth', clip + '.npz'), clean, np.ones(clean.shape[:2], np.float32), fps,
               source=f"{GENERATOR}: clean trajectory, before detector faults", settings=settings,
               beat_frames=np.array(truth['beat_frames'], np.int64))
    songs[clip] = truth

clips = {}
for style in STYLE_NAMES:
    of_style = sorted(c for c in songs if songs[c]['style'] == style)
    # The last songs of each style are the test set; a lone song stays in training, where a model needs it.
    n_test = min(max(1, int(len(of_style) * test_fraction + 0.5)), len(of_style) - 1)
    for k, clip in enumerate(of_style):
        clips[clip] = {'label': style, 'split': 'test' if k >= len(of_style) - n_test else 'train'}
save_json(data_dir(dataset, 'meta.json'), {'label_kind': 'style', 'fps': fps, 'clips': clips,
                                           'source': GENERATOR, 'settings': settings})
save_json(truth_path, {
    'generator': GENERATOR, 'complete': True, 'settings': settings, 'fps': fps, 'sr': sr,
    'width': width, 'height': height,
    'notes': 'frame ranges are [start_frame, end_frame); a move runs from its first key pose (on its bar line) '
             'to the next move\'s; beat_frames = round(beat_times_s * fps)',
    'styles': {s: {'beats_per_bar': STYLES[s]['beats_per_bar'], 'tempo_range_bpm': list(STYLES[s]['tempo_range_bpm']),
                   'moves': list(STYLE_MOVES[s])} for s in STYLE_NAMES},
    'songs': songs})
size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs) / 1e6
print(f"{n_songs} songs of {song_seconds:g} s in {root}: {size_mb:.1f} MB, {time.time() - t_start:.1f} s")
