import json
import os
import shutil

import numpy as np
import pytest
from conftest import run_script, shared_path

from l2d.io import load_poses
from l2d.openpose import frame_filename, frame_paths, read_frame, write_frame
from l2d.skeleton import COCO18_INDEX, MIDHIP, NECK
from l2d.track import fill_gaps, main_person, select_track

# A standing figure about 300 px tall, image coordinates (y down), BODY_25's first 15 joints.
STANDING = np.array([[0, -150], [0, -120], [-25, -120], [-35, -80], [-40, -40], [25, -120], [35, -80], [40, -40],
                     [0, -20], [-15, -20], [-18, 60], [-20, 140], [15, -20], [18, 60], [20, 140]], np.float32)


def person(centre, scale=1.0, confidence=0.9):
    """(15, 3) keypoints of the standing figure at `centre` (pixels), `scale` times its size."""
    return np.column_stack([STANDING * scale + np.asarray(centre, np.float32),
                            np.full(15, confidence, np.float32)])


def dancer_frames(n_frames, start=(400.0, 300.0), step=(3.0, 0.0)):
    """The dancer walking `step` pixels per frame: list of (15, 3) keypoints."""
    return [person(np.add(start, np.multiply(step, t))) for t in range(n_frames)]


def write_clip(folder, frames_people, video='clip'):
    for t, people in enumerate(frames_people):
        write_frame(os.path.join(folder, frame_filename(video, t)), people)


def torso(poses):
    return float(np.median(np.linalg.norm(poses[:, NECK] - poses[:, MIDHIP], axis=-1)))


# ---- l2d.track on small made-up detections --------------------------------------------------------------------

def test_bystander_listed_first_is_not_followed():
    dancer = dancer_frames(30)
    # A small figure far to the right, listed before the dancer; in frames 10-14 the dancer is not detected at all.
    frames_people = [[person((1000, 250), scale=0.4)] + ([] if 10 <= t < 15 else [d]) for t, d in enumerate(dancer)]
    poses, confidences = select_track(frames_people)
    seen = confidences.max(axis=1) > 0
    assert not seen[10:15].any() and seen[:10].all() and seen[15:].all()
    np.testing.assert_allclose(poses[seen], np.array(dancer)[seen, :, :2])


def test_start_is_the_main_person_and_order_does_not_matter():
    dancer = dancer_frames(20)
    bystander = person((900, 300), scale=0.5)
    frames_people = [[bystander, d] if t % 2 else [d, bystander] for t, d in enumerate(dancer)]
    assert main_person(frames_people, 0.1) in ((0, 0), (1, 1))
    poses, _ = select_track(frames_people)
    np.testing.assert_allclose(poses, np.array(dancer)[:, :, :2])


def test_a_tiny_figure_on_the_dancer_is_not_taken():
    dancer = dancer_frames(12)
    frames_people = [[d] for d in dancer]
    # Frame 6: the dancer is missed, a figure a third of the size stands where the dancer is.
    frames_people[6] = [person(dancer[6][MIDHIP, :2], scale=0.3)]
    _, confidences = select_track(frames_people)
    assert confidences[6].max() == 0 and confidences[5].min() > 0 and confidences[7].min() > 0


def test_split_detection_is_merged_into_the_dancer():
    dancer = dancer_frames(10)
    upper, legs = dancer[5].copy(), dancer[5].copy()
    upper[8:, 2] = 0
    legs[:8, 2] = 0
    frames_people = [[d] for d in dancer]
    frames_people[5] = [legs, person((1200, 300), scale=0.5), upper]
    poses, confidences = select_track(frames_people)
    np.testing.assert_allclose(poses[5], dancer[5][:, :2])
    assert confidences[5].min() > 0
    _, unmerged = select_track(frames_people, merge_fragments=False)
    assert (unmerged[5] > 0).sum() in (7, 8)


def test_fill_gaps_interpolates_holds_ends_and_marks_filled():
    poses = np.zeros((5, 15, 2), np.float32)
    poses[:, :, 0] = np.arange(5)[:, None] * 10.0
    confidences = np.full((5, 15), 0.9, np.float32)
    confidences[2, 3] = 0.05  # below the threshold: its (wrong) position must be replaced
    poses[2, 3] = (999, 999)
    confidences[0, 4] = confidences[4, 4] = 0.0
    confidences[:, 7] = 0.0  # LWrist never seen: placed on LElbow
    filled, conf = fill_gaps(poses, confidences, min_confidence=0.1)
    np.testing.assert_allclose(filled[2, 3], (20, 0))
    np.testing.assert_allclose(filled[[0, 4], 4, 0], (10, 30))
    np.testing.assert_allclose(filled[:, 7], filled[:, 6])
    assert conf[2, 3] == 0 and conf[0, 4] == 0 and (conf[:, 7] == 0).all() and conf[1, 3] == np.float32(0.9)
    with pytest.raises(ValueError):
        fill_gaps(poses, np.zeros((5, 15)), 0.1)


# ---- parse.py on real OpenPose output ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def soccer(tmp_path_factory):
    """Both soccer clips parsed as a dataset, their videos in its videos/ folder (links to ../shared)."""
    data = tmp_path_factory.mktemp('soccer') / 'data'
    for clip in ('soccer_Kick_2', 'soccer_Kick_20'):
        for kind, name in (('openpose', clip), ('videos', clip + '.mp4')):
            (data / 'real' / kind).mkdir(parents=True, exist_ok=True)
            os.symlink(shared_path('openpose_json', name), data / 'real' / kind / name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv('L2D_DATA', str(data))
        run_script('parse.py', '--dataset=real')
    return data / 'real'


@pytest.mark.parametrize('clip', ['soccer_Kick_2', 'soccer_Kick_20'])
def test_soccer_track_is_continuous_through_empty_frames_and_fragments(soccer, clip):
    n_frames = len(frame_paths(str(soccer / 'openpose' / clip)))
    d = load_poses(soccer / 'poses' / f'{clip}.npz')
    assert d['poses'].shape == (n_frames, 15, 2) and d['confidences'].shape == (n_frames, 15)
    assert d['fps'] == pytest.approx(29.97, abs=0.01)  # from the dataset's video
    seen = d['confidences'] > 0
    assert 35 <= seen.any(axis=1).sum() < n_frames  # the kicker is out of view at the start
    # No jump to another detection: MidHip moves less than a quarter torso per frame.
    assert np.abs(np.diff(d['poses'][:, MIDHIP], axis=0)).max() < 0.25 * torso(d['poses'])
    assert d['settings']['max_jump'] == 0.3 and d['source'].endswith(clip)


def test_clips_in_worker_processes_give_the_same_pose_files_as_one_process(soccer, tmp_path, monkeypatch):
    poses = {}
    for processes in (1, 2):
        data = tmp_path / str(processes)
        (data / 'real').mkdir(parents=True)
        for kind in ('openpose', 'videos'):
            os.symlink(soccer / kind, data / 'real' / kind)
        monkeypatch.setenv('L2D_DATA', str(data))
        run_script('parse.py', '--dataset=real', f'--processes={processes}')
        poses[processes] = {clip: load_poses(data / 'real' / 'poses' / f'{clip}.npz')
                            for clip in ('soccer_Kick_2', 'soccer_Kick_20')}
    for clip, one in poses[1].items():
        two = poses[2][clip]
        assert np.array_equal(one['poses'], two['poses']) and np.array_equal(one['confidences'], two['confidences'])


def test_soccer_track_ignores_a_bystander_added_first(roots):
    """The real soccer detections with a smaller copy of the kicker, 350 px to the left, listed first."""
    paths = frame_paths(shared_path('openpose_json', 'soccer_Kick_2'))
    frames_people = [read_frame(p) for p in paths]
    alone = select_track(frames_people)
    crowded = []
    for people in frames_people:
        extra = []
        for kp in people:
            copy = kp.copy()
            copy[:, :2] = (kp[:, :2] - kp[:, :2].mean(0)) * 0.6 + kp[:, :2].mean(0) - (350, 0)
            extra.append(copy)
        crowded.append(extra + people)
    with_bystander = select_track(crowded)
    np.testing.assert_array_equal(with_bystander[0], alone[0])
    np.testing.assert_array_equal(with_bystander[1], alone[1])


def test_footskate_dancer_is_smooth(roots):
    folder = shared_path('openpose_json', 'footskate_dance')
    run_script('parse.py', '--dataset=real', f'--openpose_dir={folder}')
    d = load_poses(roots[0] / 'real' / 'poses' / 'footskate_dance.npz')
    assert d['poses'].shape == (69, 15, 2)
    assert d['fps'] == pytest.approx(23.976, abs=0.01)
    assert (d['confidences'] > 0).mean() > 0.95
    assert np.linalg.norm(np.diff(d['poses'][:, MIDHIP], axis=0), axis=1).max() < 0.2 * torso(d['poses'])
    assert str(d['fps_source']).endswith('footskate_dance.mp4')  # the video beside the folder
    np.testing.assert_allclose(d['poses'][0, 0], (498.128, 180.696), atol=1e-3)


def test_schema_1_2_without_person_id(roots):
    folder = shared_path('openpose_json', 'spin_v1.2')
    run_script('parse.py', '--dataset=real', f'--openpose_dir={folder}', '--min_frames=1')
    d = load_poses(roots[0] / 'real' / 'poses' / 'spin_v1.2.npz')
    with open(frame_paths(folder)[0]) as f:
        doc = json.load(f)
    assert 'person_id' not in doc['people'][0]
    expected = np.array(doc['people'][0]['pose_keypoints_2d'], np.float32).reshape(25, 3)[:15]
    seen = expected[:, 2] >= 0.1
    np.testing.assert_allclose(d['poses'][0][seen], expected[seen, :2])
    np.testing.assert_allclose(d['confidences'][0][seen], expected[seen, 2])
    assert d['fps'] == 30.0
    # With the default min_frames a one-frame clip is skipped, and then nothing at all is parsed.
    proc = run_script('parse.py', '--dataset=other', f'--openpose_dir={folder}', check=False)
    assert proc.returncode != 0
    assert 'skipped' in proc.stdout and 'spin_v1.2' in proc.stdout and 'min_frames=10' in proc.stdout
    assert 'no clip could be parsed' in proc.stderr


def test_truncated_json_is_reported_and_the_clip_still_parsed(roots):
    source = shared_path('openpose_json', 'footskate_dance')
    folder = roots[0] / 'real' / 'openpose' / 'dance'
    shutil.copytree(source, folder)
    broken = frame_paths(str(folder))[30]
    with open(broken, 'rb') as f:
        text = f.read()
    with open(broken, 'wb') as f:
        f.write(text[:len(text) // 2])
    (roots[0] / 'real' / 'openpose' / 'empty').mkdir()
    proc = run_script('parse.py', '--dataset=real')
    assert os.path.basename(broken) in proc.stdout + proc.stderr
    assert 'empty' in proc.stdout and 'no *_keypoints.json' in proc.stdout
    assert 'parsed 1 of 2 clips' in proc.stdout
    d = load_poses(roots[0] / 'real' / 'poses' / 'dance.npz')
    assert d['poses'].shape == (69, 15, 2)
    assert (d['confidences'][30] == 0).all() and (d['confidences'][[29, 31]] > 0).all()
    np.testing.assert_allclose(d['poses'][30], d['poses'][[29, 31]].mean(axis=0), atol=1e-3)
    assert d['fps'] == 30.0  # no video and no fps.txt in this dataset


# ---- parse.py on made-up OpenPose files -------------------------------------------------------------------------

def test_coco18_input_gets_midhip_from_the_hips(roots):
    folder = roots[0] / 'toy' / 'openpose' / 'coco'
    folder.mkdir(parents=True)
    expected_midhip = []
    for t in range(12):
        body = person((300 + 2.0 * t, 300))
        body[9, :2] += (-10, 0.5 * t)  # right hip moving, so that MidHip is not the figure's own MidHip
        coco = np.zeros((18, 3))
        coco[list(COCO18_INDEX[:8]) + list(COCO18_INDEX[9:])] = np.delete(body, MIDHIP, axis=0)
        coco[14:] = body[0] + (3, -3, 0)  # eyes and ears beside the nose
        expected_midhip.append((body[9, :2] + body[12, :2]) / 2)
        doc = {'version': 1.3, 'people': [{'person_id': [-1], 'pose_keypoints_2d': coco.ravel().tolist()}]}
        (folder / frame_filename('coco', t)).write_text(json.dumps(doc))
    (folder / 'fps.txt').write_text('12.5\n')
    run_script('parse.py', '--dataset=toy')
    d = load_poses(roots[0] / 'toy' / 'poses' / 'coco.npz')
    np.testing.assert_allclose(d['poses'][:, MIDHIP], expected_midhip, atol=1e-3)
    assert (d['confidences'] > 0).all()
    assert d['fps'] == 12.5 and str(d['fps_source']).endswith('fps.txt')


def test_fps_constant_meta_json_and_bad_fps_file(roots):
    for clip in ('good', 'bad'):
        write_clip(roots[0] / 'toy' / 'openpose' / clip, [[d] for d in dancer_frames(12)])
    (roots[0] / 'toy' / 'openpose' / 'bad' / 'fps.txt').write_text('fast')
    proc = run_script('parse.py', '--dataset=toy', '--fps=24')
    assert load_poses(roots[0] / 'toy' / 'poses' / 'good.npz')['fps'] == 24.0
    assert not (roots[0] / 'toy' / 'poses' / 'bad.npz').exists()
    assert 'fps.txt' in proc.stdout and "'fast'" in proc.stdout
    (roots[0] / 'toy' / 'meta.json').write_text(json.dumps({'fps': 25, 'clips': {}}))
    run_script('parse.py', '--dataset=toy', '--fps=24')
    assert load_poses(roots[0] / 'toy' / 'poses' / 'good.npz')['fps'] == 25.0


def test_no_clip_at_all_is_an_error(roots):
    (roots[0] / 'toy' / 'openpose' / 'a').mkdir(parents=True)
    proc = run_script('parse.py', '--dataset=toy', check=False)
    assert proc.returncode != 0 and 'no *_keypoints.json' in proc.stdout
    assert 'no clip could be parsed' in proc.stderr
    proc = run_script('parse.py', '--dataset=missing', check=False)
    assert proc.returncode != 0 and 'missing' in proc.stderr and 'no clip folders' in proc.stderr


def test_missing_frame_files_keep_the_clip_in_time(roots):
    folder = roots[0] / 'toy' / 'openpose' / 'gappy'
    dancer = dancer_frames(20)
    write_clip(folder, [[d] for d in dancer], video='gappy')
    for t in (0, 7, 8):
        (folder / frame_filename('gappy', t)).unlink()
    proc = run_script('parse.py', '--dataset=toy')
    assert 'no file for 3 frames (0, 7, 8)' in proc.stdout
    d = load_poses(roots[0] / 'toy' / 'poses' / 'gappy.npz')
    assert d['poses'].shape == (20, 15, 2)
    assert (d['confidences'][[0, 7, 8]] == 0).all() and (d['confidences'][[1, 6, 9]] > 0).all()
    np.testing.assert_allclose(d['poses'][1:], np.array(dancer)[1:, :, :2], atol=1e-3)  # walking at constant speed
    write_frame(str(folder / frame_filename('gappy', 1000)), [dancer[0]])
    proc = run_script('parse.py', '--dataset=toy', check=False)
    assert proc.returncode != 0 and 'skipped' in proc.stdout and 'numbered up to frame 1000' in proc.stdout
