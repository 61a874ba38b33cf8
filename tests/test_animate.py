import os
import subprocess

import imageio_ffmpeg
import numpy as np
from conftest import run_script

from l2d.io import ffmpeg_exe, save_poses, save_wav
from l2d.render import BACKGROUND, FLOOR, SIDE_COLOURS, draw_frames, fit_box, music_clip, pale, resample

# Joint positions of a standing figure, in torso lengths, MidHip at 0, y down.
STANDING = np.array([[0, -1.9], [0, -1.5], [-0.45, -1.5], [-0.8, -1.0], [-1.0, -0.5], [0.45, -1.5], [0.8, -1.0],
                     [1.0, -0.5], [0, 0], [-0.25, 0], [-0.3, 0.9], [-0.3, 1.8], [0.25, 0], [0.3, 0.9], [0.3, 1.8]])


def dancer(n_frames, fps=30.0, centre=(160.0, 120.0), torso=40.0):
    """A tiny stick figure waving its arms and swaying: (T, 15, 2) pixels, y down."""
    t = np.arange(n_frames) / fps
    poses = np.repeat(STANDING[None], n_frames, axis=0)
    wave = np.sin(2 * np.pi * t)
    poses[:, 4, 1] -= 1.2 + 1.2 * wave
    poses[:, 7, 1] -= 1.2 - 1.2 * wave
    poses[:, :, 0] += 0.5 * np.sin(np.pi * t)[:, None]
    return (poses * torso + centre).astype(np.float32)


def make_clip(roots, clip='clip', n_frames=60, fps=30.0, music_s=None):
    """Write data/<dataset>/poses/<clip>.npz (and a tone as audio/<clip>.wav) into the test's data root."""
    data, _ = roots
    confidences = np.ones((n_frames, 15), np.float32)
    confidences[10:20, 4] = 0
    save_poses(str(data / 'toy' / 'poses' / f'{clip}.npz'), dancer(n_frames, fps), confidences, fps, 'synthetic')
    if music_s:
        sr = 22050
        save_wav(str(data / 'toy' / 'audio' / f'{clip}.wav'), tone(music_s, sr), sr)


def tone(duration_s, sr, silent_s=0.0):
    """A 440 Hz tone of `duration_s` seconds whose first `silent_s` seconds are silent."""
    t = np.arange(int(duration_s * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * 440 * t) * (t >= silent_s)).astype(np.float32)


def probe(path):
    """ffmpeg's description of a media file (its stream lines)."""
    return subprocess.run([ffmpeg_exe(), '-hide_banner', '-i', str(path)], capture_output=True, text=True).stderr


def decoded_audio(path, tmp_path):
    """The audio track of a video decoded to mono samples: (samples (N,), sr)."""
    import soundfile
    wav = tmp_path / 'decoded.wav'
    subprocess.run([ffmpeg_exe(), '-v', 'error', '-y', '-i', str(path), '-vn', '-ac', '1', str(wav)], check=True)
    samples, sr = soundfile.read(str(wav))
    return samples, sr


def decoded_frames(path):
    """All frames of a video as (T, H, W, 3) uint8."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta['size']
    return np.stack([np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader])


def test_mp4_has_one_frame_per_pose_and_the_music_cut_to_the_dance(roots, tmp_path):
    make_clip(roots, n_frames=45, music_s=4.0)
    run_script('animate.py', '--dataset=toy', '--poses=clip', '--width=320', '--height=240')
    path = roots[1] / 'toy' / 'animations' / 'clip.mp4'
    info = probe(path)
    assert 'h264' in info and 'yuv420p' in info and '320x240' in info and 'aac' in info, info
    n_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n_frames == 45
    samples, sr = decoded_audio(path, tmp_path)
    assert abs(len(samples) / sr - 1.5) < 0.05  # 45 frames at 30 fps, from 4 s of music
    assert np.sqrt(np.mean(samples ** 2)) > 0.1
    data = path.read_bytes()
    assert data.index(b'moov') < data.index(b'mdat'), "not +faststart: players must read the whole file first"
    assert 'animate.py' in info and '"dataset": "toy"' in info  # the settings are in the comment tag


def test_music_offset_skips_into_the_music_and_short_music_is_padded(roots, tmp_path):
    out = roots[1]
    make_clip(roots, n_frames=60)
    music = tmp_path / 'late.wav'
    save_wav(str(music), tone(2.5, 22050, silent_s=1.0), 22050)
    target = out / 'offset.mp4'
    run_script('animate.py', '--dataset=toy', '--poses=clip', f'--music={music}', '--music_offset_s=1.0',
               f'--out={target}', '--width=160', '--height=120')
    samples, sr = decoded_audio(target, tmp_path)
    assert abs(len(samples) / sr - 2.0) < 0.05  # 1.5 s of music left after the offset, then silence
    first, last = samples[int(0.1 * sr):int(0.5 * sr)], samples[int(1.6 * sr):int(1.9 * sr)]
    assert np.sqrt(np.mean(first ** 2)) > 0.1, "the offset did not skip the silent first second"
    assert np.sqrt(np.mean(last ** 2)) < 0.01


def test_music_clip_cuts_pads_and_delays(tmp_path):
    path = tmp_path / 'tone.wav'
    save_wav(str(path), tone(3.0, 8000), 8000)
    samples, sr = music_clip(str(path), 0.0, 1.25)
    assert sr == 8000 and len(samples) == 10000
    samples, _ = music_clip(str(path), -0.5, 1.0)
    assert len(samples) == 8000 and np.abs(samples[:4000]).max() == 0 and np.abs(samples[4100:]).max() > 0.3


def test_gif_output(roots):
    make_clip(roots, n_frames=12, fps=10.0, music_s=3.0)
    # No --poses: the dataset's first clip.
    proc = run_script('animate.py', '--dataset=toy', '--gif=True', '--width=160', '--height=120')
    path = roots[1] / 'toy' / 'animations' / 'clip.gif'
    assert str(path) in proc.stdout
    from PIL import Image
    with Image.open(path) as image:
        assert image.format == 'GIF' and image.size == (160, 120) and image.n_frames == 12
        image.seek(5)
        colours = np.asarray(image.convert('RGB')).reshape(-1, 3)
    assert (np.abs(colours.astype(int) - BACKGROUND).sum(axis=1) > 60).mean() > 0.01  # a figure, not a blank


def test_side_by_side_frames_each_sequence_in_its_own_panel(roots):
    data, out = roots
    make_clip(roots, n_frames=30)
    generated = dancer(20, torso=0.01, centre=(0.0, 0.0))  # other units, shorter: framed on its own, holds its end
    save_poses(str(data / 'gen.npz'), generated, np.ones((20, 15)), 30.0, 'synthetic')
    target = out / 'sbs.mp4'
    run_script('animate.py', '--dataset=toy', '--poses=clip', f'--poses2={data / "gen.npz"}', '--title=real',
               '--title2=generated', f'--out={target}', '--width=320', '--height=240')
    frames = decoded_frames(target)
    assert frames.shape == (30, 240, 320, 3)
    for frame in (frames[5], frames[-1]):
        for panel in (frame[:, :160], frame[:, 160:]):
            red = (panel[..., 0] > 150) & (panel[..., 1] < 110) & (panel[..., 2] < 110)
            blue = (panel[..., 2] > 150) & (panel[..., 0] < 110)
            assert red.sum() > 20 and blue.sum() > 20
            rows = np.flatnonzero((np.abs(panel.astype(int) - BACKGROUND).sum(axis=2) > 90)[20:-16].any(axis=1))
            assert np.ptp(rows) > 0.7 * 200, "each sequence should fill its panel's height"


def test_video_overlay_keeps_the_video_frames_and_pixel_coordinates(roots, tmp_path):
    data, out = roots
    # A 160x96 video at 10 fps whose frame i is uniformly grey at level 40 + 8 i.
    video = tmp_path / 'grey.mp4'
    writer = imageio_ffmpeg.write_frames(str(video), (160, 96), fps=10, macro_block_size=1, ffmpeg_log_level='error')
    writer.send(None)
    for i in range(20):
        writer.send(np.full((96, 160, 3), 40 + 8 * i, np.uint8))
    writer.close()
    poses = dancer(20, fps=10.0, centre=(40.0, 40.0), torso=8.0)  # in the video's top-left quarter
    save_poses(str(data / 'tracked.npz'), poses, np.ones((20, 15)), 10.0, str(video))
    target = out / 'overlay.mp4'
    run_script('animate.py', f'--poses={data / "tracked.npz"}', f'--video={video}', f'--out={target}',
               '--width=320', '--height=240', '--music=none')
    frames = decoded_frames(target).astype(int)
    assert frames.shape == (20, 192, 320, 3)  # the video's aspect, scaled to fit 320x240
    for i in (0, 10, 19):
        assert abs(frames[i, 150, 300].mean() - (40 + 8 * i)) < 6, "the output should show the video's own frame"
        assert abs(frames[i, 80:, 160:].mean() - (40 + 8 * i)) < 6, "nothing drawn outside the figure's place"
        neck = np.round(poses[i, 1] * 2).astype(int)  # the video is shown at twice its size
        x, y = neck
        patch = frames[i, y - 2:y + 3, x - 2:x + 3].reshape(-1, 3)
        assert (np.abs(patch - (40 + 8 * i)).sum(axis=1) > 150).any(), "the neck should be drawn where it is"


def test_bad_input_is_one_line_naming_the_file(roots, tmp_path):
    out = roots[1]
    proc = run_script('animate.py', '--dataset=toy', '--poses=missing', check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'missing.npz' in lines[0] and 'not found' in lines[0]
    make_clip(roots)
    bad = tmp_path / 'bad.mp3'
    bad.write_bytes(b'this is not audio' * 100)
    proc = run_script('animate.py', '--dataset=toy', '--poses=clip', f'--music={bad}', check=False)
    # libsndfile's MP3 decoder prints its own notes to stderr first; ours is the one line after them.
    lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith('Note:')]
    assert proc.returncode != 0 and len(lines) == 1 and 'bad.mp3' in lines[0] and 'audio' in lines[0]
    assert not os.path.exists(out / 'toy' / 'animations') or not os.listdir(out / 'toy' / 'animations')


def test_each_frame_is_the_same_whatever_came_before():
    # Frames are drawn over the previous one and only its figure is wiped: played backwards (same framing, since
    # the framing is the whole clip's), every frame must come out identical.
    poses = dancer(12)
    captions = [f"t {i}" for i in range(12)]
    forward = [f.copy() for f in draw_frames([poses, poses[::-1]], (640, 480), titles=['a', 'b'], captions=captions)]
    backward = [f.copy() for f in draw_frames([poses[::-1], poses], (640, 480), titles=['a', 'b'],
                                              captions=captions[::-1])]
    for i in range(12):
        assert np.array_equal(forward[i], backward[11 - i]), f"frame {i} depends on the frames before it"


def test_filled_joints_are_pale():
    poses = dancer(6)
    confidences = np.ones((6, 15))
    confidences[3, 4] = 0  # the right wrist was filled in
    frames = [f.astype(int) for f in draw_frames([poses], (640, 480), confidences_list=[confidences])]
    pale_red = np.array(pale(SIDE_COLOURS['R']))
    near_pale = [(np.abs(f - pale_red).sum(axis=2) < 20).sum() for f in frames]
    assert near_pale[3] > 30 and max(near_pale[:3] + near_pale[4:]) == 0


def test_framing_keeps_the_aspect_and_fits_the_box():
    poses = dancer(30, centre=(0.0, 0.0), torso=0.5)
    scale, offset = fit_box(poses, (100, 50, 300, 450), margin=0.1)
    pixels = poses.reshape(-1, 2) * scale + offset
    assert pixels[:, 0].min() >= 100 + 20 - 1e-6 and pixels[:, 0].max() <= 300 - 20 + 1e-6
    assert pixels[:, 1].min() >= 50 + 40 - 1e-6 and pixels[:, 1].max() <= 450 - 40 + 1e-6
    # The tight side touches its margins: the figure is as large as the box allows.
    assert np.isclose(pixels[:, 1].max() - pixels[:, 1].min(), 320) or np.isclose(np.ptp(pixels[:, 0]), 160)


def test_resample_keeps_the_duration():
    poses = dancer(50, fps=25.0)
    at_30 = resample(poses, 25.0, 30.0)
    assert len(at_30) == 60 and np.array_equal(at_30[0], poses[0]) and np.array_equal(at_30[-1], poses[-1])
    assert np.array_equal(at_30[30], poses[25])  # 1 s in both


def figure_rows(frame):
    """Rows of a frame holding the stick figure (its red or blue pixels)."""
    f = frame.astype(int)
    red = (f[..., 0] > 150) & (f[..., 1] < 110) & (f[..., 2] < 110)
    blue = (f[..., 2] > 150) & (f[..., 0] < 110)
    return np.flatnonzero((red | blue).any(axis=1))


def floor_pixels(frame):
    """Mask of the floor marks' colour."""
    return (np.abs(frame.astype(int) - FLOOR).sum(axis=2) < 30)


def test_following_camera_keeps_a_travelling_dancer_large_over_a_scrolling_floor():
    poses = dancer(60)
    poses[..., 0] += np.linspace(0, 20 * 40, 60)[:, None]  # 20 torso lengths to the right in 2 s
    follow = [f.copy() for f in draw_frames([poses], (320, 240), camera='follow', fps=30.0)]
    fixed = [f.copy() for f in draw_frames([poses], (320, 240), camera='fixed', fps=30.0)]
    for i in (0, 30, 59):
        assert np.ptp(figure_rows(follow[i])) > 0.6 * 240, "the followed dancer should fill most of the height"
        assert np.ptp(figure_rows(fixed[i])) < 0.25 * 240  # the whole path in frame: a tiny dancer
    # The ground line stays put while its ticks scroll by; a dancer on the spot has a still floor.
    moved = [floor_pixels(f) for f in follow]
    assert moved[0].sum() > 100 and (moved[0] != moved[5]).sum() > 4
    still = [floor_pixels(f.copy()) for f in draw_frames([np.repeat(poses[:1], 6, 0)], (320, 240), fps=30.0)]
    assert np.array_equal(still[0], still[5]) and still[0].sum() > 100
    assert floor_pixels(fixed[0]).sum() < 0.2 * moved[0].sum()  # no floor drawn, only the figure's edges


def test_camera_flag(roots):
    out = roots[1]
    make_clip(roots, n_frames=20)
    floor = {}
    for camera in ('fixed', 'follow'):
        target = out / f'{camera}.mp4'
        run_script('animate.py', '--dataset=toy', '--poses=clip', f'--camera={camera}', f'--out={target}',
                   '--width=160', '--height=120', '--music=none')
        floor[camera] = floor_pixels(decoded_frames(target)[5]).sum()
    assert floor['follow'] > floor['fixed'] + 100  # the ground line across the panel
    proc = run_script('animate.py', '--dataset=toy', '--poses=clip', '--camera=drone', check=False)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1 and 'camera' in proc.stderr
