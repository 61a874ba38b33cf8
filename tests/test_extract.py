"""extract_poses.sh / extract_poses.py: the OpenPose docker route (with a stand-in docker), the pip fallback, and the
pip extractor's accuracy on real video against OpenPose's and BlazePose's own output."""
import glob
import importlib.util
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import ROOT, run_script, shared_path
from l2d.extract import BODY25_FROM_BLAZEPOSE, blazepose_to_body25, pck, read_single_person
from l2d.io import data_dir, load_poses
from l2d.skeleton import J

HAS_MEDIAPIPE = all(importlib.util.find_spec(m) for m in ('mediapipe', 'cv2'))
needs_mediapipe = pytest.mark.skipif(not HAS_MEDIAPIPE, reason="the pip extractor is not installed "
                                     "(pip install --no-deps -r requirements-extract.txt)")

# Stands in for docker: `info` answers as an engine with NVIDIA's runtime, `run` logs its arguments and writes
# three empty OpenPose frames where --write_json's mount points, or fails for a video named bad.*.
FAKE_DOCKER = r'''#!/usr/bin/env bash
echo "$*" >>"$FAKE_DOCKER_LOG"
case "$1" in
    info) [[ -n "${FAKE_DOCKER_NO_ENGINE:-}" ]] && exit 1; echo '{"nvidia":{"path":"nvidia-container-runtime"}}' ;;
    run)
        prev=""; out=""; video=""
        for a in "$@"; do
            [[ "$prev" == -v && "$a" == *:/out ]] && out="${a%:/out}"
            [[ "$prev" == --video ]] && video="$a"
            prev="$a"
        done
        name="$(basename "${video%.*}")"
        [[ "$name" == bad ]] && exit 1
        for i in 0 1 2; do echo '{"version":1.3,"people":[]}' >"$out/${name}_00000000000${i}_keypoints.json"; done ;;
esac
'''


def fake_docker(tmp_path, monkeypatch, engine=True):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'docker').write_text(FAKE_DOCKER)
    (bin_dir / 'docker').chmod(0o755)
    monkeypatch.setenv('PATH', f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv('FAKE_DOCKER_LOG', str(tmp_path / 'docker.log'))
    if not engine:
        monkeypatch.setenv('FAKE_DOCKER_NO_ENGINE', '1')
    return tmp_path / 'docker.log'


def make_video(path, n_frames=6, fps=25, tone_hz=None):
    """A small grey video (nobody in it), with a sine sound track at tone_hz if given."""
    import imageio_ffmpeg
    audio = None
    if tone_hz:
        import soundfile
        audio = str(path) + '.wav'
        t = np.arange(int(16000 * n_frames / fps)) / 16000
        soundfile.write(audio, 0.5 * np.sin(2 * np.pi * tone_hz * t), 16000)
    writer = imageio_ffmpeg.write_frames(str(path), (64, 48), fps=fps, macro_block_size=16, audio_path=audio,
                                         audio_codec='aac' if audio else None)
    writer.send(None)
    for i in range(n_frames):
        writer.send(np.full((48, 64, 3), 60 + 10 * i, np.uint8))
    writer.close()
    if audio:
        os.remove(audio)


def run_sh(**env):
    """Run extract_poses.sh with extra environment variables; returns the CompletedProcess."""
    return subprocess.run(['bash', os.path.join(ROOT, 'extract_poses.sh')], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300, cwd=ROOT)


def keypoint_files(folder):
    return sorted(glob.glob(os.path.join(folder, '*_keypoints.json')))


# ---- BlazePose-33 -> BODY_25, PCK -----------------------------------------------------------------------------

def test_blazepose_to_body25_maps_sides_and_midpoints():
    landmarks = np.array([(10.0 * i, 1000.0 + i, 0.9) for i in range(33)])
    landmarks[12, 2] = 0.3  # right shoulder barely seen
    kp = blazepose_to_body25(landmarks)
    assert kp.shape == (25, 3)
    assert np.allclose(kp[J['RShoulder']], landmarks[12]) and np.allclose(kp[J['LWrist']], landmarks[15])
    assert np.allclose(kp[J['Neck']], [115.0, 1011.5, 0.3])  # mean of shoulders 11, 12, the lower confidence
    assert np.allclose(kp[J['MidHip']], [235.0, 1023.5, 0.9])
    assert np.allclose(kp[J['RAnkle']], landmarks[28]) and np.allclose(kp[J['LKnee']], landmarks[25])
    assert np.allclose(kp[15], landmarks[5]) and np.allclose(kp[16], landmarks[2])  # REye, LEye
    assert np.all(kp[[20, 23]] == 0)  # small toes: no BlazePose equivalent
    assert sum(s is None for s in BODY25_FROM_BLAZEPOSE) == 2
    low = blazepose_to_body25(landmarks, min_confidence=0.5)
    assert np.all(low[J['RShoulder']] == 0) and np.all(low[J['Neck']] == 0) and low[J['LShoulder'], 2] == 0.9
    with pytest.raises(ValueError, match='33, 3'):
        blazepose_to_body25(landmarks[:25])


def test_pck_counts_only_joints_the_reference_saw():
    rng = np.random.default_rng(0)
    reference = np.concatenate([rng.uniform(0, 500, (4, 15, 2)), np.ones((4, 15, 1))], axis=2)
    reference[:, J['Neck'], :2] = [100, 100]
    reference[:, J['MidHip'], :2] = [100, 200]  # torso 100 px: tolerance 20 px
    predicted = reference.copy()
    predicted[:, J['Nose'], 0] += 19
    predicted[:, J['LWrist'], 0] += 21
    predicted[0, J['RKnee']] = 0     # missed by the extractor: wrong
    reference[1, J['LAnkle'], 2] = 0  # not seen in the reference: not counted
    reference[2, J['Neck'], 2] = 0    # no torso in frame 2: nothing counted there
    correct, counted = pck(predicted, reference)
    assert correct[J['Nose']] == 1 and correct[J['LWrist']] == 0
    assert correct[J['RKnee']] == pytest.approx(2 / 3) and counted[J['RKnee']] == 3
    assert counted[J['LAnkle']] == 2 and correct[J['LAnkle']] == 1
    assert pck(predicted, reference, threshold=0.25)[0][J['LWrist']] == 1


# ---- extract_poses.sh: the OpenPose route, the fallback ---------------------------------------------------------

def test_openpose_route_spreads_videos_over_gpus_and_keeps_going(roots, tmp_path, monkeypatch):
    log = fake_docker(tmp_path, monkeypatch)
    videos = roots[0] / 'mine' / 'videos'
    videos.mkdir(parents=True)
    make_video(videos / 'a.mp4', fps=25, tone_hz=440)
    make_video(videos / 'b.MOV', fps=24000 / 1001)
    (videos / 'bad.mp4').write_bytes(b'not a video')
    (videos / 'notes.txt').write_text('not a video either')

    proc = run_sh(DATASET='mine', GPUS='0 1', IMAGE='my/openpose:1')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'bad: FAILED' in proc.stderr and '1 of 3 videos failed' in proc.stderr
    out = roots[0] / 'mine' / 'openpose'
    assert sorted(os.listdir(out)) == ['a', 'b']  # no partial folder left behind, nothing for bad or notes.txt
    assert [os.path.basename(p) for p in keypoint_files(out / 'a')] == [
        f'a_{i:012d}_keypoints.json' for i in range(3)]
    assert float((out / 'a' / 'fps.txt').read_text()) == 25.0
    assert float((out / 'b' / 'fps.txt').read_text()) == pytest.approx(24000 / 1001, abs=1e-9)
    made = json.loads((out / 'b' / 'extractor.json').read_text())
    assert made['backend'] == 'openpose' and made['image'] == 'my/openpose:1'

    runs = [line.split() for line in log.read_text().splitlines() if line.startswith('run')]
    assert len(runs) == 3
    assert {r[r.index('--gpus') + 1] for r in runs} == {'device=0', 'device=1'}
    for flags in (['--display', '0'], ['--render_pose', '0'], ['--model_pose', 'BODY_25'], ['--write_json', '/out']):
        assert all(' '.join(flags) in ' '.join(r) for r in runs), flags
    assert all('my/openpose:1' in r for r in runs)

    import soundfile
    info = soundfile.info(str(roots[0] / 'mine' / 'audio' / 'a.wav'))
    assert info.samplerate == 16000 and info.duration == pytest.approx(6 / 25, abs=0.05)
    assert 'b: no sound track' in proc.stdout and not (roots[0] / 'mine' / 'audio' / 'b.wav').exists()

    rerun = run_sh(DATASET='mine', GPUS='0 1')
    assert 'a: already extracted, skipped' in rerun.stdout and 'b: already extracted' in rerun.stdout
    assert sum(line.startswith('run') for line in log.read_text().splitlines()) == 4  # only bad again


def test_falls_back_to_pip_without_a_docker_engine(roots, tmp_path, monkeypatch):
    fake_docker(tmp_path, monkeypatch, engine=False)
    videos = roots[0] / 'mine' / 'videos'
    videos.mkdir(parents=True)
    make_video(videos / 'empty_room.mp4', n_frames=4, fps=30)
    proc = run_sh(DATASET='mine')
    assert 'docker has no engine running' in proc.stdout and 'pip extractor' in proc.stdout
    if not HAS_MEDIAPIPE:
        assert proc.returncode == 2 and 'requirements-extract.txt' in proc.stderr
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = roots[0] / 'mine' / 'openpose' / 'empty_room'
    frames = keypoint_files(folder)
    assert len(frames) == 4
    assert all(json.load(open(f)) == {'version': 1.3, 'people': []} for f in frames)
    assert float((folder / 'fps.txt').read_text()) == 30.0
    assert json.loads((folder / 'extractor.json').read_text())['backend'] == 'pip'


def test_rejects_an_unknown_backend(roots):
    videos = roots[0] / 'mine' / 'videos'
    videos.mkdir(parents=True)
    make_video(videos / 'a.mp4', n_frames=2)
    proc = run_sh(DATASET='mine', BACKEND='alphapose')
    assert proc.returncode == 2 and "BACKEND must be openpose or pip, not 'alphapose'" in proc.stderr
    assert not (roots[0] / 'mine' / 'openpose' / 'a').exists()


# ---- extract_poses.py alone, on real media ----------------------------------------------------------------------

@needs_mediapipe
def test_pip_extractor_alone_skips_finished_clips_and_reports_bad_ones(roots):
    videos = roots[0] / 'mine' / 'videos'
    videos.mkdir(parents=True)
    make_video(videos / 'room.mp4', n_frames=3)
    (videos / 'broken.mkv').write_bytes(b'\x00' * 100)
    proc = run_script('extract_poses.py', '--dataset=mine', check=False)
    assert proc.returncode == 1 and 'broken.mkv' in proc.stderr and 'not a readable video' in proc.stderr
    assert len(keypoint_files(data_dir('mine', 'openpose', 'room'))) == 3
    assert os.listdir(data_dir('mine', 'openpose')) == ['room']
    again = run_script('extract_poses.py', '--dataset=mine', check=False)
    assert 'room: already extracted' in again.stdout


@needs_mediapipe
def test_image_finds_one_person_with_openpose_sides(tmp_path):
    image = shared_path('person_media', 'pose.jpg')
    run_script('extract_poses.py', f'--video={image}', f'--json_dir={tmp_path}')
    frames = keypoint_files(tmp_path)
    assert [os.path.basename(f) for f in frames] == ['pose_000000000000_keypoints.json']
    assert not (tmp_path / 'fps.txt').exists()
    people = json.load(open(frames[0]))['people']
    assert len(people) == 1 and len(people[0]['pose_keypoints_2d']) == 75
    kp = np.array(people[0]['pose_keypoints_2d']).reshape(25, 3)
    # The man faces the camera with both arms out: his left hand is on the image's right, as OpenPose has it.
    assert kp[J['LWrist'], 0] > kp[J['Neck'], 0] + 100 > kp[J['RWrist'], 0] + 200
    assert kp[J['Nose'], 1] < kp[J['Neck'], 1] < kp[J['MidHip'], 1] < kp[J['LAnkle'], 1]
    assert np.all(kp[:15, 2] > 0.5)


@needs_mediapipe
def test_squats_match_blazepose_reference(tmp_path):
    video = shared_path('person_media', 'pose_squats.mp4')
    reference = json.load(open(shared_path('person_media', 'pose_squats.full.json')))
    run_script('extract_poses.py', f'--video={video}', f'--json_dir={tmp_path}')
    predicted = read_single_person(str(tmp_path))
    expected = np.stack([blazepose_to_body25(np.c_[np.array(f)[:, :2], np.ones(33)])[:15] for f in reference])
    assert predicted.shape == expected.shape == (65, 15, 3)
    correct, counted = pck(predicted, expected, threshold=0.2)
    assert (correct * counted).sum() / counted.sum() >= 0.99
    correct, counted = pck(predicted, expected, threshold=0.05)
    assert (correct * counted).sum() / counted.sum() >= 0.9


@pytest.fixture(scope='module')
def footskate(tmp_path_factory):
    """footskate_dance.mp4 run through extract_poses.sh (pip) in a fresh dataset; returns its data root."""
    video = shared_path('openpose_json', 'footskate_dance.mp4')
    if not HAS_MEDIAPIPE:
        pytest.skip("the pip extractor is not installed (pip install --no-deps -r requirements-extract.txt)")
    data = tmp_path_factory.mktemp('footskate') / 'data'
    (data / 'real' / 'videos').mkdir(parents=True)
    shutil.copy(video, data / 'real' / 'videos')
    proc = run_sh(DATASET='real', BACKEND='pip', L2D_DATA=str(data))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'footskate_dance: no sound track' in proc.stdout
    return data


def test_footskate_pck_against_openpose(footskate):
    folder = footskate / 'real' / 'openpose' / 'footskate_dance'
    predicted = read_single_person(str(folder))
    reference = read_single_person(shared_path('openpose_json', 'footskate_dance'))
    assert predicted.shape == reference.shape == (69, 15, 3)
    correct, counted = pck(predicted, reference, threshold=0.2)
    assert counted.min() == 69
    assert (correct * counted).sum() / counted.sum() >= 0.95
    assert correct.min() >= 0.85
    assert float((folder / 'fps.txt').read_text()) == pytest.approx(24000 / 1001, abs=1e-6)


def test_footskate_end_to_end_through_parse(footskate, monkeypatch):
    monkeypatch.setenv('L2D_DATA', str(footskate))
    run_script('parse.py', '--dataset=real')
    parsed = load_poses(str(footskate / 'real' / 'poses' / 'footskate_dance.npz'))
    assert parsed['poses'].shape == (69, 15, 2)
    assert parsed['fps'] == pytest.approx(23.976, abs=0.01)
    reference = read_single_person(shared_path('openpose_json', 'footskate_dance'))
    torso = np.linalg.norm(reference[:, J['Neck'], :2] - reference[:, J['MidHip'], :2], axis=-1)
    error = np.linalg.norm(parsed['poses'] - reference[:, :, :2], axis=-1) / torso[:, None]
    assert np.mean(error <= 0.2) >= 0.95
