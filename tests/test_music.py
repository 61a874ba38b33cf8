import json
import os
import shutil

import numpy as np
import pytest

from conftest import run_script, shared_path
from l2d.audio import analysis_rate, mel_filters, music_features, track_beats
from l2d.io import load_audio, save_poses, save_wav

VIBE_ACE = 'Kevin_MacLeod_-_Vibe_Ace'  # a steady electronic beat, about 130 BPM


def click_track(bpm, duration_s, sr, start_s=0.25):
    """(samples (N,) float32, click times (C,) s): clicks every 60/bpm s from start_s."""
    import librosa
    times_s = np.arange(start_s, duration_s, 60.0 / bpm)
    samples = librosa.clicks(times=times_s, sr=sr, length=int(duration_s * sr), click_duration=0.05)
    return samples.astype(np.float32), times_s


def write_dance(data_root, dataset, clip, n_frames, fps):
    """A pose file of n_frames still poses: only its length and fps matter to process_waves."""
    save_poses(os.path.join(data_root, dataset, 'poses', clip + '.npz'), np.zeros((n_frames, 15, 2)),
               np.ones((n_frames, 15)), fps, source='test')


def load_music(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ---- music_features on synthetic audio -------------------------------------------------------------------------

@pytest.mark.parametrize('bpm, fps, sr', [(120, 30, 22050), (97, 25, 44100), (171, 23.976, 48000)])
def test_click_track_tempo_and_beats(bpm, fps, sr):
    samples, clicks_s = click_track(bpm, 10.0, sr)
    f = music_features(samples, sr, fps)
    n_frames = int(10.0 * fps)
    assert f['tempo_bpm'] == pytest.approx(bpm, rel=0.02)
    assert len(f['beat_times_s']) >= len(clicks_s) - 2  # the tracker may drop an edge beat
    error_s = np.abs(f['beat_times_s'][:, None] - clicks_s[None, :]).min(axis=1)
    assert error_s[1:-1].max() < 0.03 and error_s.max() < 0.08  # the tracker extrapolates the edge beats
    assert f['beats'].shape == (n_frames,) and f['beats'].dtype == np.float32
    np.testing.assert_array_equal(np.flatnonzero(f['beats']), np.round(f['beat_times_s'] * fps).astype(int))
    assert f['fps'] == fps


@pytest.mark.parametrize('fps', [30, 25, 24])
def test_rows_are_on_the_pose_grid(fps):
    sr = 44100
    samples = np.zeros(int(3.1 * sr), np.float32)
    samples[int(1.234 * sr):int(1.234 * sr) + 200] = 0.8  # a burst at 1.234 s
    f = music_features(samples, sr, fps)
    n_frames = int(3.1 * fps)  # floor(duration * fps)
    assert f['mel_db'].shape == (n_frames, 128) and f['mel_db'].dtype == np.float32
    assert f['tempogram'].shape == (n_frames, 384) and f['tempogram'].dtype == np.float32
    assert f['onset_strength'].shape == (n_frames,)
    assert abs(int(np.argmax(f['onset_strength'])) - 1.234 * fps) <= 1
    assert abs(int(np.argmax(f['mel_db'].mean(axis=1))) - 1.234 * fps) <= 1
    sr_analysis, hop = analysis_rate(fps)
    assert sr_analysis == hop * fps and float(hop).is_integer()


def test_pad_and_cut_to_n_frames():
    samples, _ = click_track(120, 2.0, 22050)
    padded = music_features(samples, 22050, 30, n_frames=90)
    assert padded['mel_db'].shape == (90, 128) and padded['beats'].shape == (90,)
    # Rows well past the audio's end (2 s + half a window) hear the padding's silence.
    assert (padded['mel_db'][66:] == padded['mel_db'].min()).all()
    assert padded['beat_times_s'].max() < 2.0
    cut = music_features(samples, 22050, 30, n_frames=30)
    assert cut['tempogram'].shape == (30, 384)
    assert (cut['beat_times_s'] < 1.0).all()
    assert music_features(samples, 22050, 30, n_frames=0)['mel_db'].shape == (0, 128)


@pytest.mark.parametrize('level', [0.0, 3e-5])
def test_silence_gives_no_beats_and_a_warning(level):
    samples = level * np.random.default_rng(0).standard_normal(3 * 22050)
    with pytest.warns(UserWarning, match='silent'):
        f = music_features(samples, 22050, 30)
    assert f['beat_times_s'].shape == (0,) and f['beat_times_s'].dtype == np.float64
    assert f['tempo_bpm'] == 0.0 and not f['beats'].any()
    assert f['mel_db'].shape == (90, 128) and np.isfinite(f['mel_db']).all()


def test_click_mixed_into_a_real_recording():
    samples, sr = load_audio(shared_path('music', VIBE_ACE + '.ogg'), sr=None, offset_s=5.0, duration_s=15.0)
    alone = music_features(samples, sr, 25)['tempo_bpm']
    clicks, _ = click_track(100, 15.0, sr)
    mixed = samples + np.abs(samples).max() * clicks / np.abs(clicks).max()
    assert abs(alone - 100) > 10  # so the tempo found below is the clicks', not the music's
    assert music_features(mixed, sr, 25)['tempo_bpm'] == pytest.approx(100, rel=0.02)


# ---- the same numbers as librosa's analysis, which l2d.audio re-implements without numba ------------------------

@pytest.mark.parametrize('sr, n_fft, n_mels', [(22000, 2048, 128), (22080, 2048, 128), (16000, 512, 40)])
def test_mel_filters_are_librosas(sr, n_fft, n_mels):
    import librosa
    np.testing.assert_allclose(mel_filters(sr, n_fft, n_mels), librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels),
                               rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize('bpm, seed', [(97.0, 0), (131.0, 1), (171.0, 2)])
def test_track_beats_gives_librosas_beats(bpm, seed):
    """Pulses with timing jitter, noise, missing beats, and silence at both ends (librosa's first-beat and trim
    rules): the very same frames."""
    import librosa
    rng = np.random.default_rng(seed)
    frame_rate, n = 100, 3000
    onset = 0.2 * rng.random(n).astype(np.float32)
    pulses = np.arange(300, 2700, 6000 / bpm) + rng.normal(0, 1.5, len(np.arange(300, 2700, 6000 / bpm)))
    onset[np.round(pulses[rng.random(len(pulses)) > 0.1]).astype(int)] += 2.0
    onset[:200] = 0.0
    onset[2800:] = 0.0
    _, expected = librosa.beat.beat_track(onset_envelope=onset, sr=22000, hop_length=220, bpm=bpm, units='frames')
    np.testing.assert_array_equal(track_beats(onset, frame_rate, bpm), expected)


def test_features_are_librosas_analysis():
    """music_features against the librosa calls it replaces, on 12 s of clicks in noise at 30 fps."""
    import librosa
    import scipy.ndimage
    import soxr
    samples, _ = click_track(117, 12.0, 22050)
    samples = samples + 0.02 * np.random.default_rng(0).standard_normal(len(samples)).astype(np.float32)
    f = music_features(samples, 22050, 30)
    sr, hop = analysis_rate(30)
    y = soxr.resample(samples, 22050, sr).astype(np.float32)[: 360 * hop + 1024]
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=hop // 4,
                                                                n_mels=128))[:, :1440]
    onset_fine = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop // 4, aggregate=np.median)
    onset = scipy.ndimage.maximum_filter1d(onset_fine, size=5, mode='constant')[::4]
    tempogram = librosa.feature.tempogram(onset_envelope=onset, sr=sr, hop_length=hop, win_length=384).T
    np.testing.assert_allclose(f['mel_db'], mel_db[:, ::4].T, atol=2e-3)
    np.testing.assert_allclose(f['onset_strength'], onset, atol=1e-4 * onset.max())
    np.testing.assert_allclose(f['tempogram'], tempogram, atol=1e-4)
    tempo = librosa.feature.tempo(onset_envelope=onset_fine, sr=sr, hop_length=hop // 4)[0]
    assert f['tempo_bpm'] == pytest.approx(tempo, rel=0.01)
    _, beats = librosa.beat.beat_track(onset_envelope=onset_fine, sr=sr, hop_length=hop // 4, bpm=f['tempo_bpm'],
                                       units='frames')
    np.testing.assert_allclose(f['beat_times_s'], beats / 120.0)


# ---- process_waves.py on one dataset of good and bad clips -----------------------------------------------------

@pytest.fixture(scope='module')
def waves(tmp_path_factory):
    """Run process_waves.py once over a dataset holding every case; returns (data_root, CompletedProcess)."""
    root = tmp_path_factory.mktemp('waves')
    data, out = root / 'data', root / 'out'
    audio = data / 'mix' / 'audio'
    audio.mkdir(parents=True)
    try:
        real = shared_path('music', VIBE_ACE + '.ogg')
    except pytest.skip.Exception:
        real = None
    if real:
        shutil.copyfile(real, audio / 'vibe.ogg')  # 22.05 kHz mono, 61 s: cut to a 10 s dance
        write_dance(data, 'mix', 'vibe', 300, 30)
        shutil.copyfile(real.replace('.ogg', '.hq.ogg'), audio / 'vibe_hq.ogg')  # 44.1 kHz stereo
        write_dance(data, 'mix', 'vibe_hq', 250, 25)
    import soundfile
    clicks, _ = click_track(120, 8.0, 48000)
    soundfile.write(audio / 'clicks_flac.flac', np.stack([clicks, 0.5 * clicks], axis=1), 48000)
    write_dance(data, 'mix', 'clicks_flac', 240, 30)
    clicks, _ = click_track(97, 8.0, 44100)
    soundfile.write(audio / 'clicks_mp3.mp3', clicks, 44100, format='MP3')
    write_dance(data, 'mix', 'clicks_mp3', 200, 25)
    (audio / 'corrupt.wav').write_bytes(b'RIFF\x24\x08\x00\x00WAVE' + np.random.default_rng(0).bytes(4000))
    write_dance(data, 'mix', 'corrupt', 60, 30)
    save_wav(audio / 'short.wav', click_track(120, 3.0, 22050)[0], 22050)
    write_dance(data, 'mix', 'short', 150, 30)
    save_wav(audio / 'slightly_short.wav', click_track(120, 4.5, 22050)[0], 22050)
    write_dance(data, 'mix', 'slightly_short', 150, 30)
    save_wav(audio / 'silent.wav', np.zeros(4 * 16000), 16000)
    write_dance(data, 'mix', 'silent', 120, 30)
    write_dance(data, 'mix', 'no_audio', 30, 30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('L2D_DATA', str(data))
        mp.setenv('L2D_OUT', str(out))
        proc = run_script('process_waves.py', '--dataset=mix', check=False)
    return data / 'mix', proc


def output_lines(proc, word):
    return [line for line in (proc.stdout + proc.stderr).splitlines() if word in line]


def test_real_recordings_on_the_pose_grid(waves):
    shared_path('music', VIBE_ACE + '.hq.ogg')
    folder, proc = waves
    mono, stereo = load_music(folder / 'music' / 'vibe.npz'), load_music(folder / 'music' / 'vibe_hq.npz')
    for music, n_frames, fps in [(mono, 300, 30), (stereo, 250, 25)]:
        assert music['mel_db'].shape == (n_frames, 128) and music['tempogram'].shape == (n_frames, 384)
        assert music['onset_strength'].shape == (n_frames,) and music['beats'].shape == (n_frames,)
        assert float(music['fps']) == fps and float(music['sr']) == analysis_rate(fps)[0]
        assert 10 <= len(music['beat_times_s']) and music['beat_times_s'].max() < n_frames / fps
        assert json.loads(str(music['settings']))['dataset'] == 'mix'
    assert str(mono['audio']).endswith('vibe.ogg')
    # The same music from a 22 kHz mono and a 44.1 kHz stereo file: the same tempo.
    assert float(stereo['tempo_bpm']) == pytest.approx(float(mono['tempo_bpm']), rel=0.02)
    assert 120 < float(mono['tempo_bpm']) < 140
    assert output_lines(proc, 'vibe: audio 61.')[0].endswith('cut to the dance')


def test_flac_and_mp3_at_other_rates(waves):
    folder, _ = waves
    assert float(load_music(folder / 'music' / 'clicks_flac.npz')['tempo_bpm']) == pytest.approx(120, rel=0.02)
    assert float(load_music(folder / 'music' / 'clicks_mp3.npz')['tempo_bpm']) == pytest.approx(97, rel=0.02)


def test_corrupt_audio_is_reported_by_name_and_the_rest_run(waves):
    folder, proc = waves
    assert proc.returncode == 1
    lines = output_lines(proc, 'corrupt.wav')
    assert len(lines) == 1 and 'cannot decode audio' in lines[0]
    assert not (folder / 'music' / 'corrupt.npz').exists()
    assert (folder / 'music' / 'clicks_flac.npz').exists()
    assert 'failed: corrupt, short' in proc.stdout


def test_audio_much_shorter_than_the_dance_is_an_error(waves):
    folder, proc = waves
    lines = output_lines(proc, 'short.wav')
    assert len(lines) == 1 and '3.00 s' in lines[0] and '5.00 s' in lines[0] and 'shorter' in lines[0]
    assert not (folder / 'music' / 'short.npz').exists()


def test_audio_slightly_shorter_is_padded_and_said(waves):
    folder, proc = waves
    assert output_lines(proc, 'slightly_short:') == ['slightly_short: audio 4.50 s, dance 5.00 s: audio padded '
                                                     'with silence to the dance']
    music = load_music(folder / 'music' / 'slightly_short.npz')
    assert music['mel_db'].shape == (150, 128)
    assert float(music['tempo_bpm']) == pytest.approx(120, rel=0.02)


def test_silence_gives_an_empty_beat_list_and_a_warning(waves):
    folder, proc = waves
    assert 'silent audio' in output_lines(proc, 'silent.wav')[0]
    music = load_music(folder / 'music' / 'silent.npz')
    assert music['beat_times_s'].shape == (0,) and float(music['tempo_bpm']) == 0.0
    assert music['beats'].shape == (120,) and not music['beats'].any()


def test_clip_without_audio_is_reported(waves):
    folder, proc = waves
    assert len(output_lines(proc, 'no_audio: no audio file')) == 1
    assert not (folder / 'music' / 'no_audio.npz').exists()
    assert 'x real time' in proc.stdout
