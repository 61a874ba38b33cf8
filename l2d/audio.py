"""Music features on the pose grid: one row per pose frame, row t describing audio time t / fps seconds.

The audio is resampled to an analysis rate that is an exact multiple of the pose rate, so every hop between
analysis frames is a whole number of samples and no feature needs interpolating:

    sr = fps * BEAT_SUBFRAMES * round(22050 / (fps * BEAT_SUBFRAMES))      (22080 Hz at 30 fps, 22000 Hz at 25 fps)

The spectrogram, onset envelope and beat tracker run on a grid BEAT_SUBFRAMES times finer than the pose grid
(120 frames/s at 30 fps): the beat tracker's tempo is quantised to whole frames of lag, which at the pose rate
alone would put fast tempi up to 5 % off (171 BPM is 10.5 frames at 30 fps). Features are then read off at every
BEAT_SUBFRAMES-th analysis frame.

librosa is imported inside the functions (l2d stays numpy-only at import). Its beat tracker is compiled by numba
on the first call in a fresh environment (~40 s, cached afterwards).
"""
import warnings

import numpy as np

N_MELS = 128
N_FFT = 2048
TEMPOGRAM_FRAMES = 384  # librosa's default autocorrelation window, in pose frames (12.8 s at 30 fps)
BEAT_SUBFRAMES = 4
TEMPO_WINDOW_S = 8.0  # librosa.feature.tempo's default autocorrelation window (ac_size)
SILENCE_DBFS = -60.0  # peak level below which a clip counts as silent (noise-floor beats are meaningless)
FFT_BLOCK_FRAMES = 128  # frames per FFT call: the block's windowed copy stays in cache
TOP_DB = 80.0  # librosa.power_to_db's floor below the clip's peak


def analysis_rate(fps):
    """(sr, hop_length) of the analysis: sample rate in Hz (a float when fps is not whole) and the whole number
    of samples between pose frames, with sr == hop_length * fps."""
    fine_hop = int(round(22050 / (fps * BEAT_SUBFRAMES)))
    hop_length = fine_hop * BEAT_SUBFRAMES
    sr = hop_length * fps
    return (int(sr) if float(sr).is_integer() else float(sr)), hop_length


def _power_spectrogram(y, n_fft, hop_length):
    """Hann-windowed power spectrogram of y (N,) float32: (1 + N // hop_length, n_fft // 2 + 1) float32, frame t
    centred on sample t * hop_length, zeros beyond the ends (librosa.stft's frames with center=True). Computed in
    float32 in blocks of frames: librosa's float64 FFT costs twice as much for differences of ~1e-4 dB."""
    import scipy.fft
    import scipy.signal
    n_frames = 1 + len(y) // hop_length
    padded = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    window = scipy.signal.get_window('hann', n_fft, fftbins=True).astype(np.float32)
    power = np.empty((n_frames, n_fft // 2 + 1), np.float32)
    for start in range(0, n_frames, FFT_BLOCK_FRAMES):
        spectrum = scipy.fft.rfft(frames[start:start + FFT_BLOCK_FRAMES] * window, axis=1)
        power[start:start + FFT_BLOCK_FRAMES] = spectrum.real ** 2 + spectrum.imag ** 2
    return power


def _local_autocorrelation(envelope, window_frames, stride):
    """Hann-windowed autocorrelation of an envelope (T,) in windows centred on every `stride`-th frame (the
    envelope padded by linear ramps to 0, as librosa.feature.tempogram does), each normalised to a peak of 1:
    (ceil(T / stride), window_frames) float32, column k a lag of k frames."""
    import scipy.fft
    import scipy.signal
    n = len(envelope)
    padded = np.pad(np.asarray(envelope, np.float32), window_frames // 2, mode='linear_ramp', end_values=0)
    frames = np.lib.stride_tricks.sliding_window_view(padded, window_frames)[::stride][: (n + stride - 1) // stride]
    window = scipy.signal.get_window('hann', window_frames, fftbins=True).astype(np.float32)
    n_fft = scipy.fft.next_fast_len(2 * window_frames - 1, real=True)
    spectrum = scipy.fft.rfft(frames * window, n=n_fft, axis=1)
    autocorrelation = scipy.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=n_fft, axis=1)[:, :window_frames]
    peak = np.abs(autocorrelation).max(axis=1, keepdims=True)
    return autocorrelation / np.where(peak < np.finfo(np.float32).tiny, 1.0, peak)


def _global_tempo(onset_envelope, sr, hop_length, stride):
    """librosa.feature.tempo's estimate (mean local autocorrelation over 8 s windows, log-normal prior around
    120 BPM), with a window every `stride` frames instead of every frame: the mean hardly changes and the cost,
    which dominates the whole analysis otherwise, drops `stride`-fold."""
    import librosa
    window_frames = int(round(TEMPO_WINDOW_S * sr / hop_length))
    local_autocorrelation = _local_autocorrelation(onset_envelope, window_frames, stride)
    return float(librosa.feature.tempo(tg=local_autocorrelation.T, sr=sr, hop_length=hop_length)[0])


def music_features(samples, sr, fps, n_frames=None):
    """Music features on a pose grid of `fps` frames per second.

    Parameters: samples (N,) mono audio (float, -1..1); sr its sample rate in Hz; fps the pose frame rate;
    n_frames the number of rows wanted (None: floor(duration * fps)); shorter audio is padded with silence,
    longer audio is cut.

    Returns a dict:
      mel_db (T, 128) float32: log-mel power spectrogram in dB (librosa.power_to_db: ref 1, floor 80 dB below
        the clip's peak), 2048-sample window centred on each row's time;
      tempogram (T, 384) float32: local autocorrelation of the onset envelope; column k is a lag of k / fps s;
      onset_strength (T,) float32: spectral flux (median over mel bands), the max over the row's sub-frames;
      beats (T,) float32: 1 at the frame nearest each beat, else 0;
      beat_times_s (B,) float64: beat times in seconds (dynamic-programming beat tracker, librosa.beat);
      tempo_bpm float: global tempo in beats per minute (quantised to whole analysis frames of beat period:
        within 1 % up to 170 BPM at 30 or 25 fps);
      fps float.
    Silence (peak below -60 dBFS) or no detectable beat gives no beats, tempo 0.0 and a UserWarning.
    """
    import librosa
    import scipy.ndimage
    import soxr
    fps = float(fps)
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if n_frames is None:
        n_frames = int(np.floor(len(samples) / sr * fps + 1e-9))
    n_frames = int(n_frames)
    analysis_sr, hop_length = analysis_rate(fps)
    fine_hop = hop_length // BEAT_SUBFRAMES
    fine_rate = fps * BEAT_SUBFRAMES
    features = {
        'mel_db': np.zeros((n_frames, N_MELS), np.float32),
        'tempogram': np.zeros((n_frames, TEMPOGRAM_FRAMES), np.float32),
        'onset_strength': np.zeros(n_frames, np.float32),
        'beats': np.zeros(n_frames, np.float32),
        'beat_times_s': np.zeros(0, np.float64),
        'tempo_bpm': 0.0,
        'fps': fps,
    }
    if n_frames == 0:
        return features

    y = soxr.resample(samples, sr, analysis_sr).astype(np.float32) if sr != analysis_sr else samples
    # Keep half a window of audio past the last row so that its centred window sees real audio, not padding.
    wanted = n_frames * hop_length
    y = y[: wanted + N_FFT // 2] if len(y) >= wanted else np.pad(y, (0, wanted - len(y)))
    n_fine = n_frames * BEAT_SUBFRAMES

    power = _power_spectrogram(y, N_FFT, fine_hop)
    mel_basis = librosa.filters.mel(sr=analysis_sr, n_fft=N_FFT, n_mels=N_MELS)
    mel_db_fine = 10.0 * np.log10(np.maximum(power @ mel_basis.T, np.float32(1e-10)))
    mel_db_fine = np.maximum(mel_db_fine, mel_db_fine.max() - np.float32(TOP_DB))[:n_fine]
    features['mel_db'] = np.ascontiguousarray(mel_db_fine[::BEAT_SUBFRAMES])
    # librosa.onset.onset_strength's spectral flux, delayed by half a window as librosa does to undo the lead of
    # centred frames.
    flux = np.median(np.maximum(np.diff(mel_db_fine, axis=0), 0.0), axis=1)
    onset_fine = np.zeros(n_fine, np.float32)
    delay = 1 + N_FFT // (2 * fine_hop)
    onset_fine[delay:] = flux[: max(n_fine - delay, 0)]
    # A max, not a sample, so that a sharp onset between two pose frames is not lost.
    onset = scipy.ndimage.maximum_filter1d(onset_fine, size=BEAT_SUBFRAMES + 1, mode='constant')[::BEAT_SUBFRAMES]
    features['onset_strength'] = onset.astype(np.float32)
    features['tempogram'] = _local_autocorrelation(onset, TEMPOGRAM_FRAMES, 1)

    peak = float(np.max(np.abs(y[:wanted])))
    peak_dbfs = 20 * np.log10(peak) if peak > 0 else -np.inf
    if peak_dbfs < SILENCE_DBFS:
        warnings.warn(f"silent audio (peak {peak_dbfs:.0f} dBFS < {SILENCE_DBFS:.0f}): no beats")
        return features
    if not onset_fine.any():
        warnings.warn("no onsets in the audio: no beats")
        return features
    tempo_bpm = _global_tempo(onset_fine, analysis_sr, fine_hop, stride=4 * BEAT_SUBFRAMES)
    _, beat_frames = librosa.beat.beat_track(onset_envelope=onset_fine, sr=analysis_sr, hop_length=fine_hop,
                                             bpm=tempo_bpm, units='frames')
    if len(beat_frames) == 0:
        warnings.warn("no detectable beat")
        return features
    beat_times_s = np.asarray(beat_frames, np.float64) / fine_rate
    features['beat_times_s'] = beat_times_s
    beat_rows = np.clip(np.round(beat_times_s * fps).astype(int), 0, n_frames - 1)
    features['beats'][beat_rows] = 1.0
    features['tempo_bpm'] = float(tempo_bpm)
    return features


# ---- the music-feature file: data/<dataset>/music/<clip>.npz (process_waves.py writes it, every stage reads it) ----

def save_music(path, features, **extra):
    """Write a song's music features (the dict of `music_features`) atomically, with extra entries (sr, the audio
    path, settings as JSON, ...)."""
    from .io import save_npz
    save_npz(path, **features, **extra)


def load_music(path):
    """A music-feature file (data/<dataset>/music/<clip>.npz, written by process_waves.py) -> dict of arrays, 0-d
    entries as Python scalars. InputError naming the file, and the stage that makes it, when missing or unreadable."""
    from .io import InputError
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise InputError(f"{path}: no music features (run process_waves.py first)")
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable music-feature file ({e})")
    for k, v in d.items():
        if v.ndim == 0:
            d[k] = v.item()
    return d


def music_matrix(music, keys):
    """Stack per-frame music features into one matrix. music: dict of arrays with T rows ((T,) or (T, D)), keys:
    the names to use, in order -> (T, F) float32. KeyError naming the missing feature."""
    columns = []
    for key in keys:
        if key not in music:
            raise KeyError(f"music features have no '{key}' (have: {', '.join(sorted(music))})")
        a = np.asarray(music[key], dtype=np.float32)
        columns.append(a[:, None] if a.ndim == 1 else a.reshape(len(a), -1))
    return np.concatenate(columns, axis=1)


def song_features(path, fps):
    """Decode a song (wav/mp3/ogg/flac) and compute its `music_features` at fps, without librosa's warnings.
    InputError naming the file when it cannot be read or holds under 0.1 s of audio. A silent song gets features
    without beats (dancers then dance on a steady grid)."""
    from .io import InputError, load_audio
    samples, sr = load_audio(path, sr=None)
    if len(samples) < sr * 0.1:
        raise InputError(f"{path}: empty song ({len(samples) / sr:.2f} s of audio)")
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return music_features(samples, sr, fps)
