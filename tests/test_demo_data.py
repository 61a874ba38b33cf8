"""The demo dataset (data/demo/prepare.py): real-user formats, determinism, and the ground truth it promises."""
import glob
import json
import os
import re

import numpy as np
import pytest
import soundfile

from conftest import run_script
from l2d.io import load_json, load_meta, load_poses
from l2d.openpose import frame_paths, read_frame
from l2d.skeleton import BONES, J, bone_lengths

STYLES = ('waltz', 'hiphop', 'reggaeton', 'house')
N_SONGS, SONG_SECONDS = 8, 10.0


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """One small demo, generated once for the read-only checks: (dataset folder, truth.json)."""
    root = tmp_path_factory.mktemp('roots')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('L2D_DATA', str(root / 'data'))
        mp.setenv('L2D_OUT', str(root / 'out'))
        run_script('data/demo/prepare.py', f'--n_songs={N_SONGS}', f'--song_seconds={SONG_SECONDS}')
        meta = load_meta('demo')
    folder = root / 'data' / 'demo'
    return folder, load_json(folder / 'truth.json'), meta


def mean_joint_speed(poses):
    """(T, 15, 2) -> (T,) mean central-difference speed, pixels per frame, over the joints known (NaN: none)."""
    speed = np.full(poses.shape[:2], np.nan)
    speed[1:-1] = np.linalg.norm(poses[2:] - poses[:-2], axis=-1) / 2
    known = ~np.isnan(speed)
    with np.errstate(invalid='ignore'):
        return np.where(known, speed, 0.0).sum(axis=1) / known.sum(axis=1)


def beats_at_speed_minima(speed, beat_frames, tolerance=1):
    """Fraction of beats (away from the clip's ends) with a local minimum of `speed` within `tolerance` frames."""
    is_min = np.zeros(len(speed), bool)
    is_min[1:-1] = (speed[1:-1] <= speed[:-2]) & (speed[1:-1] <= speed[2:])
    beats = [b for b in beat_frames if 2 <= b < len(speed) - 2]
    return np.mean([is_min[b - tolerance:b + tolerance + 1].any() for b in beats])


def dancer_track(folder, clip):
    """What a careful parser gets from the JSON: per frame the tallest person, joints under 0.3 confidence and
    empty frames as NaN -> (T, 15, 2)."""
    paths = frame_paths(str(folder / 'openpose' / clip))
    poses = np.full((len(paths), 15, 2), np.nan)
    for f, path in enumerate(paths):
        people = read_frame(path)
        if people:
            heights = [np.ptp(p[p[:, 2] > 0, 1]) if (p[:, 2] > 0).sum() > 1 else 0.0 for p in people]
            person = people[int(np.argmax(heights))]
            seen = person[:, 2] >= 0.3
            poses[f, seen] = person[seen, :2]
    return poses


def bone_seen(person):
    """(15, 3) detections -> (14,) bool: both ends of each bone detected."""
    seen = person[:, 2] > 0
    return np.array([seen[a] and seen[b] for a, b in BONES])


def onset_envelope(samples, sr, hop=256, n_fft=1024):
    """Log-power spectral flux: (frames,) and the frame times in seconds."""
    padded = np.pad(samples, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * np.hanning(n_fft)
    log_power = 10 * np.log10(np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-10)
    flux = np.concatenate([[0.0], np.maximum(np.diff(log_power, axis=0), 0.0).mean(axis=1)])
    return flux, np.arange(len(flux)) * hop / sr


def test_files_have_the_real_formats(demo):
    folder, truth, meta = demo
    clips = sorted(truth['songs'])
    assert len(clips) == N_SONGS and all(re.fullmatch(r'(waltz|hiphop|reggaeton|house)_\d\d', c) for c in clips)
    assert {truth['songs'][c]['style'] for c in clips} == set(STYLES)
    n_frames = int(round(SONG_SECONDS * 30))
    for clip in clips:
        info = soundfile.info(str(folder / 'audio' / f'{clip}.wav'))
        assert (info.samplerate, info.channels, info.frames) == (22050, 1, int(SONG_SECONDS * 22050))
        names = sorted(os.listdir(folder / 'openpose' / clip))
        assert names == [f'{clip}_{f:012d}_keypoints.json' for f in range(n_frames)]
        for name in names[::7]:
            with open(folder / 'openpose' / clip / name) as f:
                doc = json.load(f)
            for person in doc['people']:
                assert len(person['pose_keypoints_2d']) == 75
                xyc = np.reshape(person['pose_keypoints_2d'], (25, 3))
                assert np.all(xyc[15:] == 0)                  # BODY_25's foot joints are never detected here
                seen = xyc[:15, 2] > 0
                assert np.all((xyc[:15][seen, 0] >= 0) & (xyc[:15][seen, 0] < 1280))
                assert np.all((xyc[:15][seen, 1] >= 0) & (xyc[:15][seen, 1] < 720))
        clean = load_poses(str(folder / 'truth' / f'{clip}.npz'))
        assert clean['poses'].shape == (n_frames, 15, 2) and clean['fps'] == 30


def test_meta_is_a_stratified_split_consistent_with_truth(demo):
    folder, truth, meta = demo
    assert meta['label_kind'] == 'style' and meta['fps'] == 30
    assert set(meta['clips']) == set(truth['songs'])
    for clip, entry in meta['clips'].items():
        assert entry['label'] == truth['songs'][clip]['style']
    for style in STYLES:
        splits = [e['split'] for e in meta['clips'].values() if e['label'] == style]
        assert splits.count('test') >= 1 and splits.count('train') >= 1


def test_styles_differ_in_meter_and_tempo(demo):
    folder, truth, _ = demo
    for song in truth['songs'].values():
        style = truth['styles'][song['style']]
        assert song['beats_per_bar'] == (3 if song['style'] == 'waltz' else 4)
        low, high = style['tempo_range_bpm']
        assert low <= song['tempo_bpm'] <= high
        beat_s = np.diff(song['beat_times_s'])
        assert np.allclose(beat_s, 60.0 / song['tempo_bpm'], atol=1e-5)
        assert song['beat_times_s'][-1] < song['duration_s'] <= song['beat_times_s'][-1] + beat_s[0]
        assert song['beat_frames'] == [round(t * 30) for t in song['beat_times_s']]
    ranges = sorted(truth['styles'][s]['tempo_range_bpm'] for s in STYLES if s != 'waltz')
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


def test_clean_dancer_rests_on_every_beat(demo):
    folder, truth, _ = demo
    for clip, song in truth['songs'].items():
        speed = mean_joint_speed(load_poses(str(folder / 'truth' / f'{clip}.npz'))['poses'])
        assert beats_at_speed_minima(speed, song['beat_frames']) >= 0.95, clip
        beats = np.array([b for b in song['beat_frames'] if b + 2 < len(speed)])
        mid_beats = (beats[:-1] + beats[1:]) // 2
        assert np.median(speed[beats]) < 0.3 * np.median(speed[mid_beats]), clip


def test_beats_survive_the_detector_faults(demo):
    folder, truth, _ = demo
    fractions = []
    for clip, song in truth['songs'].items():
        speed = mean_joint_speed(dancer_track(folder, clip))
        known = ~np.isnan(speed)
        speed = np.interp(np.arange(len(speed)), np.flatnonzero(known), speed[known])
        fractions.append(beats_at_speed_minima(speed, song['beat_frames']))
        beats = np.array([b for b in song['beat_frames'] if b + 2 < len(speed)])
        assert np.median(speed[beats]) < 0.5 * np.median(speed[(beats[:-1] + beats[1:]) // 2]), clip
    assert min(fractions) >= 0.85 and np.mean(fractions) >= 0.9, fractions


def test_body_looks_human_and_faces_the_camera(demo):
    folder, truth, _ = demo
    for clip, song in truth['songs'].items():
        poses = load_poses(str(folder / 'truth' / f'{clip}.npz'))['poses']
        bones = bone_lengths(poses)
        assert np.all(bones.std(axis=0) < 0.01 * bones.mean(axis=0))     # rigid bones, whatever the move
        shoulders = poses[:, J['LShoulder']] - poses[:, J['RShoulder']]
        spine = poses[:, J['Neck']] - poses[:, J['MidHip']]
        cosine = (shoulders * spine).sum(-1) / np.linalg.norm(shoulders, axis=-1) / np.linalg.norm(spine, axis=-1)
        assert np.all(np.abs(cosine) < 0.01)                            # shoulders square to the spine
        assert 400 <= song['person_height_px'] <= 500
        nose_to_ankle = poses[:, [J['RAnkle'], J['LAnkle']], 1].max(axis=1) - poses[:, J['Nose'], 1]
        assert np.all((nose_to_ankle > 0.7 * song['person_height_px']) & (nose_to_ankle < song['person_height_px']))
        # OpenPose's convention: facing the camera, the dancer's right side is on the image's left.
        assert np.all(poses[:, J['RShoulder'], 0] < poses[:, J['LShoulder'], 0])
        assert np.all(poses[:, J['RHip'], 0] < poses[:, J['LHip'], 0])


def test_moves_change_on_bar_lines_from_the_styles_vocabulary(demo):
    folder, truth, _ = demo
    for clip, song in truth['songs'].items():
        moves, bpb = song['moves'], song['beats_per_bar']
        assert moves[0]['start_frame'] == song['beat_frames'][0] and moves[-1]['end_frame'] == song['n_frames']
        for m, following in zip(moves, moves[1:]):
            assert m['end_frame'] == following['start_frame']
            assert following['start_frame'] == song['beat_frames'][following['bar'] * bpb]
        assert {m['move'] for m in moves} <= set(truth['styles'][song['style']]['moves'])
        for m in moves:
            section = [s for s in song['sections'] if s['start_frame'] <= m['start_frame'] < s['end_frame']]
            assert len(section) == 1 and m['size'] == section[0]['move_size']


def test_louder_sections_sound_louder_and_dance_bigger(demo):
    folder, truth, _ = demo
    level_db, move_speed = {}, {}
    for clip, song in truth['songs'].items():
        samples, sr = soundfile.read(str(folder / 'audio' / f'{clip}.wav'))
        speed = mean_joint_speed(load_poses(str(folder / 'truth' / f'{clip}.npz'))['poses'])
        for s in song['sections']:
            # whole sections only: the song's ends cut a section short and dilute its level
            if s['end_frame'] >= song['n_frames']:
                continue
            a, b = int(s['start_frame'] / 30 * sr), int(s['end_frame'] / 30 * sr)
            rms_db = 10 * np.log10(np.mean(samples[a:b] ** 2))
            level_db.setdefault(clip, []).append((s['gain_db'], rms_db))
        for m in song['moves']:
            frames = speed[m['start_frame']:m['end_frame']]
            move_speed.setdefault((clip, m['move'], m['size']), []).append(np.nanmean(frames))
    for pairs in level_db.values():
        gains, measured = np.array(pairs).T
        for i in range(len(gains)):
            for k in range(len(gains)):
                if gains[i] > gains[k] + 1:
                    assert measured[i] - measured[k] == pytest.approx(gains[i] - gains[k], abs=3.0)
    # The same move, danced in a louder section, is faster (it covers more ground in the same beats).
    bigger_is_faster = [np.mean(move_speed[(c, m, big)]) > np.mean(move_speed[(c, m, small)])
                        for (c, m, big) in move_speed for (c2, m2, small) in move_speed
                        if (c, m) == (c2, m2) and big > small]
    assert len(bigger_is_faster) >= 3 and np.mean(bigger_is_faster) >= 0.8


def test_onsets_peak_on_the_beats(demo):
    folder, truth, _ = demo
    for clip, song in truth['songs'].items():
        samples, sr = soundfile.read(str(folder / 'audio' / f'{clip}.wav'))
        flux, times_s = onset_envelope(samples, sr)
        beat_s = 60.0 / song['tempo_bpm']

        def peak_near(t):
            window = (times_s >= t - 0.012) & (times_s <= t + 0.035)
            return flux[window].max()
        on_beat = np.array([peak_near(t) for t in song['beat_times_s']])
        # between 16th notes nothing is played: a 32nd note after each beat is the quiet reference
        off_grid = np.array([peak_near(t + beat_s / 8) for t in song['beat_times_s'][:-1]])
        assert np.median(on_beat) > 4 * np.median(off_grid), clip
        assert np.mean(on_beat > 2 * np.median(off_grid)) >= 0.95, clip


def test_detector_faults_are_all_there(demo):
    folder, truth, _ = demo
    empty, zeroed, low, two_people, bystander_first = 0, 0, 0, 0, 0
    for clip, song in truth['songs'].items():
        faults = song['faults']
        in_bystander = np.zeros(song['n_frames'], bool)
        for a, b in faults['bystander_frames']:
            in_bystander[a:b] = True
        for f, path in enumerate(frame_paths(str(folder / 'openpose' / clip))):
            people = read_frame(path)
            assert (len(people) == 0) == (f in faults['empty_frames'])
            if people:
                assert len(people) == 1 + in_bystander[f]
            empty += not people
            zeroed += sum(int(np.sum(np.all(p == 0, axis=1))) for p in people)
            low += sum(int(np.sum((p[:, 2] > 0) & (p[:, 2] < 0.3))) for p in people)
            if len(people) == 2:
                two_people += 1
                both = bone_seen(people[0]) & bone_seen(people[1])
                first_to_second = np.median(bone_lengths(people[0][:, :2])[both] / bone_lengths(people[1][:, :2])[both])
                assert first_to_second < 0.75 or first_to_second > 1 / 0.75      # the bystander is clearly smaller
                bystander_first += first_to_second < 1
    n_frames = N_SONGS * SONG_SECONDS * 30
    assert 0.005 < empty / n_frames < 0.06
    assert zeroed > 0 and low > 0
    assert two_people > 0 and 0 < bystander_first < two_people
    runs = [np.diff(s['faults']['empty_frames']) for s in truth['songs'].values()]
    assert any(np.any(r == 1) for r in runs)          # sometimes several empty frames in a row


def test_same_seed_same_files_other_seed_other_dance(roots):
    data, _ = roots
    small = ('--n_songs=4', '--song_seconds=3')
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        run_script('data/demo/prepare.py', f'--dataset={name}', f'--seed={seed}', *small)

    def contents(name):
        files = sorted(glob.glob(str(data / name / '*' / '**' / '*.*'), recursive=True))
        return {os.path.relpath(p, data / name): open(p, 'rb').read() for p in files if not p.endswith('.npz')}
    a, b, c = contents('a'), contents('b'), contents('c')
    assert a == b and len(a) == 4 + 4 * 90
    assert load_json(data / 'a' / 'truth.json')['songs'] == load_json(data / 'b' / 'truth.json')['songs']
    for clip in ('waltz_00', 'house_00'):
        pa = load_poses(str(data / 'a' / 'truth' / f'{clip}.npz'))['poses']
        assert np.array_equal(pa, load_poses(str(data / 'b' / 'truth' / f'{clip}.npz'))['poses'])
        assert not np.allclose(pa, load_poses(str(data / 'c' / 'truth' / f'{clip}.npz'))['poses'], atol=1.0)
        assert a[f'audio/{clip}.wav'] != c[f'audio/{clip}.wav']


def test_rerun_replaces_the_previous_demo_and_spares_other_data(roots):
    data, _ = roots
    run_script('data/demo/prepare.py', '--dataset=mine', '--n_songs=8', '--song_seconds=2')
    stale = data / 'mine' / 'poses' / 'house_01.npz'          # a later stage's output for a clip about to vanish
    stale.parent.mkdir()
    stale.write_bytes(b'old')
    kept = data / 'mine' / 'moves.npz'
    kept.write_bytes(b'not per clip')
    run_script('data/demo/prepare.py', '--dataset=mine', '--n_songs=4', '--song_seconds=2')
    assert sorted(os.listdir(data / 'mine' / 'openpose')) == ['hiphop_00', 'house_00', 'reggaeton_00', 'waltz_00']
    assert sorted(os.listdir(data / 'mine' / 'audio')) == [f'{s}_00.wav' for s in sorted(STYLES)]
    assert not stale.exists() and kept.read_bytes() == b'not per clip'
    assert len(load_json(data / 'mine' / 'meta.json')['clips']) == 4
    assert not [p for p in glob.glob(str(data / 'mine' / '**' / '.*'), recursive=True)]   # no temporary files

    real = data / 'real' / 'audio'
    real.mkdir(parents=True)
    (real / 'song.wav').write_bytes(b'a user recording')
    proc = run_script('data/demo/prepare.py', '--dataset=real', '--n_songs=4', '--song_seconds=2', check=False)
    assert proc.returncode != 0 and 'real' in proc.stderr and 'did not make' in proc.stderr
    assert os.listdir(data / 'real') == ['audio'] and (real / 'song.wav').read_bytes() == b'a user recording'
