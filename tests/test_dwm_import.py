"""data/dance_with_melody/prepare.py: the Dance with Melody importer, on real dances and on small made-up folders."""
import json
import os

import numpy as np
import pytest
import soundfile
from conftest import run_script, shared_path

from l2d.io import load_audio, load_json, load_poses
from l2d.skeleton import J, MIDHIP, NECK, NOSE

SCRIPT = 'data/dance_with_melody/prepare.py'
FPS = 25
PIXELS_PER_CM = 3.0   # the importer's default scale
FLOOR_Y_PX = 720 - 40  # its default picture height minus the floor margin
UP = np.array([0.0, 1.0, 0.0])


def raw_world(folder):
    """A dance's raw 23 points in the capture's world frame: (T, 23, 3) cm."""
    with open(os.path.join(folder, 'skeletons.json')) as f:
        raw = json.load(f)
    return np.asarray(raw['skeletons']) + np.asarray(raw['center'])[:, None, :]


def cv(lengths):
    """Per-bone coefficient of variation over time: std / mean of (T,) lengths."""
    return float(lengths.std() / lengths.mean())


def check_front_view(poses, confidences, world):
    """An upright dancer of the right size on the floor, a fixed camera keeping the root motion, rigid bones."""
    assert poses.shape == (len(world), 15, 2) and np.isfinite(poses).all()
    assert (confidences == 1.0).all()  # these dances have no held (unmeasured) frames

    # Upright in image coordinates (y down): head above neck above hips above ankles.
    assert (poses[:, NOSE, 1] < poses[:, NECK, 1]).mean() > 0.99
    assert (poses[:, NECK, 1] < poses[:, MIDHIP, 1]).all()
    assert (poses[:, [J['RAnkle'], J['LAnkle']], 1] > poses[:, [MIDHIP], 1]).all()

    # A person ~400 px from ankle to nose, standing on the floor row all dance long: the capture's upward height
    # drift (the raw feet float up by ~40 cm in DANCE_W_1) is gone.
    ankle_y = poses[:, [J['RAnkle'], J['LAnkle']], 1].max(axis=1)
    assert 350 < np.median(ankle_y - poses[:, NOSE, 1]) < 480
    tenth = len(poses) // 10
    assert abs(np.median(ankle_y[:tenth]) - np.median(ankle_y[-tenth:])) < 10
    assert FLOOR_Y_PX - 60 < np.median(ankle_y) < FLOOR_Y_PX

    # A fixed orthographic camera, not root-relative: the hips travel across the picture exactly as far as the
    # dancer travels along x, at the fixed scale.
    root_x_cm = world[:, [7, 16], 0].mean(axis=1)
    assert np.ptp(poses[:, MIDHIP, 0]) == pytest.approx(PIXELS_PER_CM * np.ptp(root_x_cm), abs=0.5)
    assert np.ptp(poses[:, MIDHIP, 0]) > 300

    # A rigid skeleton: bones that stay near-vertical keep their projected length, and a projection never
    # lengthens a bone (torso: neck = mid-shoulders 3/12, midhip = mid-hips 7/16; legs: hip, knee, ankle).
    torso_px = np.linalg.norm(poses[:, NECK] - poses[:, MIDHIP], axis=-1)
    torso_cm = np.linalg.norm(world[:, [3, 12]].mean(axis=1) - world[:, [7, 16]].mean(axis=1), axis=-1)
    assert cv(torso_px) < 0.08
    assert (torso_px <= PIXELS_PER_CM * torso_cm + 1e-3).all()
    for side, (hip, knee, ankle) in (('R', (16, 17, 18)), ('L', (7, 8, 9))):
        for a, b, raw_a, raw_b in ((f'{side}Hip', f'{side}Knee', hip, knee),
                                   (f'{side}Knee', f'{side}Ankle', knee, ankle)):
            bone_px = np.linalg.norm(poses[:, J[a]] - poses[:, J[b]], axis=-1)
            bone_cm = np.linalg.norm(world[:, raw_a] - world[:, raw_b], axis=-1)
            assert cv(bone_px) < 0.2, (a, b)
            assert (bone_px <= PIXELS_PER_CM * bone_cm + 1e-3).all(), (a, b)


def check_left_right(poses, world):
    """The decision: the camera looks along +z with x to the right; the dancer faces where the toes point (foot
    point 11/20 ahead of 10/19, read here from the raw data without any joint names). Facing the camera, the
    dancer's right side is on the image's left (OpenPose's convention); facing away, on its right."""
    toes = (world[:, 11] - world[:, 10]) + (world[:, 20] - world[:, 19])
    facing_z = toes[:, 2] / np.linalg.norm(toes[:, [0, 2]], axis=-1)
    towards, away = facing_z < -0.9, facing_z > 0.9
    assert towards.sum() > 100 and away.sum() > 100
    for right, left in (('RHip', 'LHip'), ('RShoulder', 'LShoulder')):
        right_on_image_left = poses[:, J[right], 0] < poses[:, J[left], 0]
        assert right_on_image_left[towards].mean() > 0.95, right
        assert (~right_on_image_left[away]).mean() > 0.95, right


def check_audio(wav_path, folder, n_frames):
    """The cut song is T / 25 s long and starts at the dance's first frame, start_position / 25 s into the song."""
    start_s = load_json(os.path.join(folder, 'config.json'))['start_position'] / FPS
    info = soundfile.info(wav_path)
    assert info.channels == 1 and info.samplerate == 22050
    assert info.frames == round(n_frames / FPS * info.samplerate)
    # Find 1 s of the cut (from 5 s in) in the song within +-0.1 s of where it should be: found to the sample.
    cut, sr = soundfile.read(wav_path, dtype='float32')
    excerpt = cut[5 * sr:6 * sr]
    song, _ = load_audio(os.path.join(folder, 'audio.mp3'), sr=sr, offset_s=start_s + 4.9, duration_s=1.2)
    errors = [np.abs(song[lag:lag + len(excerpt)] - excerpt).mean() for lag in range(sr // 5)]
    assert abs(int(np.argmin(errors)) - sr // 10) <= 2
    assert min(errors) < 0.01 * np.abs(excerpt).mean()


def test_two_real_dances(roots):
    """A cha-cha and a waltz of the real dataset: poses, left and right, audio and meta.json."""
    source = shared_path('dance_with_melody')
    clips = ('DANCE_C_2', 'DANCE_W_1')
    proc = run_script(SCRIPT, f'--source_dir={source}', f'--clips={",".join(clips)}')
    assert 'imported 2 of 2 dances' in proc.stdout
    out = roots[0] / 'dance_with_melody'
    for clip in clips:
        world = raw_world(os.path.join(source, clip))
        d = load_poses(out / 'poses' / f'{clip}.npz')
        assert d['fps'] == FPS and d['source'].endswith(clip) and d['settings']['clips'] == ','.join(clips)
        check_front_view(d['poses'], d['confidences'], world)
        check_left_right(d['poses'], world)
        check_audio(str(out / 'audio' / f'{clip}.wav'), os.path.join(source, clip), len(world))
    meta = load_json(out / 'meta.json')
    assert meta['label_kind'] == 'dance type' and meta['fps'] == FPS
    assert meta['clips'] == {'DANCE_C_2': {'label': 'C', 'split': 'train'},
                             'DANCE_W_1': {'label': 'W', 'split': 'train'}}


def write_dance(folder, world, audio_s, start_position=0):
    """A made-up dance folder in the dataset's format: the points as root-relative skeletons plus `center`,
    config.json and `audio_s` seconds of a tone as MP3."""
    os.makedirs(folder)
    center = world[:, [7, 16]].mean(axis=1)
    with open(os.path.join(folder, 'skeletons.json'), 'w') as f:
        json.dump({'length': len(world), 'center': center.tolist(),
                   'skeletons': (world - center[:, None]).tolist()}, f)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump({'start_position': start_position, 'end_position': start_position + len(world)}, f)
    t = np.arange(int(audio_s * 44100)) / 44100
    soundfile.write(os.path.join(folder, 'audio.mp3'), 0.3 * np.sin(2 * np.pi * 440 * t), 44100, format='MP3')


def test_split_rule_over_every_dance_and_bad_folders_are_skipped(roots, tmp_path):
    """Every dance of the shared copy, made tiny (10 real frames each), plus broken folders: meta.json puts every
    dance type with two or more dances in both splits, 20-25% of the dances in test, the single tango in train;
    each bad folder costs one line naming its file, and the others are imported."""
    real = shared_path('dance_with_melody')
    names = sorted(n for n in os.listdir(real) if n.startswith('DANCE_'))
    world = raw_world(os.path.join(real, 'DANCE_C_2'))[:10]
    source = tmp_path / 'dwm'
    for name in names:
        write_dance(source / name, world, audio_s=1.0)
    write_dance(source / 'DANCE_W_98', world, audio_s=0.1)  # the song ends before the dance
    write_dance(source / 'DANCE_W_99', world, audio_s=1.0)
    with open(source / 'DANCE_W_99' / 'skeletons.json', 'r+') as f:
        f.truncate(500)
    write_dance(source / 'DANCE_X_1', world, audio_s=1.0)  # no such dance type
    before = (source / 'DANCE_W_99' / 'skeletons.json').read_bytes()

    proc = run_script(SCRIPT, f'--source_dir={source}')
    lines = (proc.stdout + proc.stderr).splitlines()
    for bad, culprit in (('DANCE_W_98', 'audio.mp3'), ('DANCE_W_99', 'skeletons.json'), ('DANCE_X_1', 'DANCE_X_1')):
        hits = [line for line in lines if line.startswith(f'skipped {bad}:')]
        assert len(hits) == 1 and culprit in hits[0], (bad, hits)
    assert f'imported {len(names)} of {len(names) + 3} dances' in proc.stdout
    assert (source / 'DANCE_W_99' / 'skeletons.json').read_bytes() == before

    data = roots[0] / 'dance_with_melody'
    meta = load_json(data / 'meta.json')
    assert sorted(meta['clips']) == names
    assert not list((data / 'poses').glob('.*'))  # no temporary files left behind
    by_type = {}
    for clip, entry in meta['clips'].items():
        assert entry['label'] == clip.split('_')[1] and entry['split'] in ('train', 'test')
        by_type.setdefault(entry['label'], set()).add(entry['split'])
    counts = {t: sum(c.split('_')[1] == t for c in names) for t in by_type}
    for dance_type, splits in by_type.items():
        assert splits == ({'train', 'test'} if counts[dance_type] >= 2 else {'train'}), dance_type
    test_fraction = np.mean([e['split'] == 'test' for e in meta['clips'].values()])
    assert 0.2 <= test_fraction <= 0.25

    # Importing one dance again keeps the others' meta.json entries.
    run_script(SCRIPT, f'--source_dir={source}', '--clips=DANCE_T_5')
    assert load_json(data / 'meta.json')['clips'] == meta['clips']
