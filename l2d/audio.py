"""Music features on the pose grid: one row per pose frame, row t describing audio time t / fps seconds.

The audio is resampled to an analysis rate that is an exact multiple of the pose rate, so every hop between
analysis frames is a whole number of samples and no feature needs interpolating:

    sr = fps * BEAT_SUBFRAMES * round(22050 / (fps * BEAT_SUBFRAMES))      (22080 Hz at 30 fps, 22000 Hz at 25 fps)

The spectrogram, onset envelope and beat tracker run on a grid BEAT_SUBFRAMES times finer than the pose grid
(120 frames/s at 30 fps): the beat tracker's tempo is quantised to whole frames of lag, which at the pose rate
alone would put fast tempi up to 5 % off (171 BPM is 10.5 frames at 30 fps). Features are then read off at every
BEAT_SUBFRAMES-th analysis frame.

The analysis follows librosa's (log-mel spectrogram, median spectral flux, tempogram, tempo estimate, Ellis' beat
tracker) and gives its numbers to float32 rounding (tests/test_music.py compares them), but is computed here with
numpy, scipy.fft and soxr only: librosa compiles its numba functions in every new process, 5 to 30 s before the
first song, and its float64 spectrogram costs twice as much as a float32 one.
"""
import math
import warnings

import numpy as np

N_MELS = 128
N_FFT = 2048
TEMPOGRAM_FRAMES = 384  # librosa's default autocorrelation window, in pose frames (12.8 s at 30 fps)
BEAT_SUBFRAMES = 4
TEMPO_WINDOW_S = 8.0  # librosa.feature.tempo's default autocorrelation window (ac_size)
SILENCE_DBFS = -60.0  # peak level below which a clip counts as silent (noise-floor beats are meaningless)
FFT_BLOCK_FRAMES = 128  # frames per FFT call: the block's windowed copy and spectrum stay in cache
MEL_CHUNK_FRAMES = 2048  # frames per mel matrix product (8 MB of power spectrum at n_fft 2048)
TOP_DB = 80.0  # librosa.power_to_db's floor below the clip's peak


def analysis_rate(fps):
    """(sr, hop_length) of the analysis: sample rate in Hz (a float when fps is not whole) and the whole number
    of samples between pose frames, with sr == hop_length * fps."""
    fine_hop = int(round(22050 / (fps * BEAT_SUBFRAMES)))
    hop_length = fine_hop * BEAT_SUBFRAMES
    sr = hop_length * fps
    return (int(sr) if float(sr).is_integer() else float(sr)), hop_length


def _slaney_mel(frequency_hz):
    """Hz -> Slaney mels (linear below 1 kHz, logarithmic above), as librosa.hz_to_mel(htk=False)."""
    frequency_hz = np.asarray(frequency_hz, np.float64)
    linear = frequency_hz / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    above = frequency_hz >= 1000.0
    return np.where(above, 15.0 + np.log(np.maximum(frequency_hz, 1000.0) / 1000.0) / log_step, linear)


def _slaney_hz(mels):
    """Slaney mels -> Hz, the inverse of `_slaney_mel` (librosa.mel_to_hz(htk=False))."""
    mels = np.asarray(mels, np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(mels >= 15.0, 1000.0 * np.exp(log_step * (np.maximum(mels, 15.0) - 15.0)), (200.0 / 3) * mels)


def mel_filters(sr, n_fft, n_mels):
    """Slaney-normalised triangular mel filters from 0 Hz to sr / 2: (n_mels, n_fft // 2 + 1) float32 weights on
    the FFT bins, as librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)."""
    bin_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    edge_hz = _slaney_hz(np.linspace(_slaney_mel(0.0), _slaney_mel(sr / 2.0), n_mels + 2))
    spacing_hz = np.diff(edge_hz)
    ramps = np.subtract.outer(edge_hz, bin_hz)
    weights = np.zeros((n_mels, len(bin_hz)), np.float32)
    for band in range(n_mels):
        rising, falling = -ramps[band] / spacing_hz[band], ramps[band + 2] / spacing_hz[band + 1]
        weights[band] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edge_hz[2:] - edge_hz[:-2]))[:, None]
    return weights


def track_beats(onset_envelope, frame_rate, tempo_bpm, tightness=100.0):
    """Ellis' dynamic-programming beat tracker: the beats of librosa.beat.beat_track(onset_envelope=...,
    bpm=tempo_bpm, units='frames'), with the dynamic programme vectorised over half a beat of frames at a time.

    onset_envelope (T,) float32 onset strength on a grid of frame_rate frames per second; tempo_bpm > 0.
    Returns the beat frames (B,) int64, increasing."""
    onset = np.asarray(onset_envelope, np.float32)
    n = len(onset)
    if n == 0 or not onset.any():
        return np.zeros(0, np.int64)
    frames_per_beat = float(np.round(frame_rate * 60.0 / tempo_bpm))
    normalised = onset / (onset.std(ddof=1) + np.finfo(np.float32).tiny)
    offsets = np.arange(-frames_per_beat, frames_per_beat + 1)
    window = np.exp(-0.5 * (offsets * 32.0 / frames_per_beat) ** 2)
    # A same-size convolution in float64, summed term by term in librosa's order (np.convolve's order moves a
    # beat by a frame where two candidates nearly tie); librosa's loop leaves out the first frame.
    normalised = normalised.astype(np.float64)
    normalised[0] = 0.0
    padded = np.concatenate([np.zeros(len(window) // 2), normalised, np.zeros(len(window))])
    local_score = np.zeros(n)
    for k, weight in enumerate(window):
        local_score += weight * padded[len(window) - 1 - k: len(window) - 1 - k + n]

    # cumulative[i] = local_score[i] + max over predecessors j in [i - 2 * period, i - round(period / 2)] of
    # cumulative[j] - tightness * log((i - j) / period)^2. Every predecessor lies at least `nearest` frames back,
    # so a block of `nearest` frames at a time depends only on frames already done.
    nearest, farthest = int(np.round(frames_per_beat / 2)), int(2 * frames_per_beat)
    lags = np.arange(nearest, farthest + 1)
    # math.log is libm's, as in librosa's numba loop; numpy's may differ in the last bit and flip a near tie.
    penalty = np.array([tightness * (math.log(lag) - math.log(frames_per_beat)) ** 2 for lag in lags])
    cumulative = np.empty(n)
    backlink = np.full(n, -1, np.int64)
    for start in range(0, n, nearest):
        rows = np.arange(start, min(start + nearest, n))
        predecessors = rows[:, None] - lags[None, :]
        scores = np.where(predecessors >= 0, cumulative[np.maximum(predecessors, 0)] - penalty, -np.inf)
        best = np.argmax(scores, axis=1)  # the nearest predecessor wins a tie, as in librosa
        best_score = scores[np.arange(len(rows)), best]
        found = np.isfinite(best_score)
        cumulative[rows] = np.where(found, local_score[rows] + best_score, local_score[rows])
        backlink[rows] = np.where(found, predecessors[np.arange(len(rows)), best], -1)
    # No beat before the first frame with a real onset.
    first = int(np.argmax(local_score >= 0.01 * local_score.max()))
    backlink[:first] = -1

    # The last beat: the last local maximum of the cumulative score that reaches half their median.
    peaks = np.zeros(n, bool)
    if n > 1:
        peaks[1:-1] = (cumulative[1:-1] > cumulative[:-2]) & (cumulative[1:-1] >= cumulative[2:])
        peaks[-1] = cumulative[-1] > cumulative[-2]
    tail = n - 1
    if peaks.any():
        candidates = np.flatnonzero(peaks & (cumulative >= 0.5 * np.median(cumulative[peaks])))
        tail = int(candidates[-1]) if len(candidates) else n - 1
    beats = []
    while tail >= 0:
        beats.append(tail)
        tail = int(backlink[tail])
    beats = np.array(beats[::-1], np.int64)

    # Drop leading and trailing beats weaker than half the RMS of the smoothed beat strengths.
    smoothed = np.convolve(local_score[beats], np.hanning(5))[2: n + 2]  # librosa's slice: two frames of tail too
    threshold = 0.5 * np.sqrt(np.mean(smoothed ** 2))
    strong = np.flatnonzero(local_score > threshold)
    if len(strong) == 0:
        return np.zeros(0, np.int64)
    return beats[(beats >= strong[0]) & (beats <= strong[-1])]


def _periodic_hann(n):
    """The n-point periodic Hann window (scipy.signal.get_window('hann', n)), (n,) float32; scipy.signal itself
    takes two seconds to import."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)


def _mel_power(y, sr, n_fft, hop_length, n_mels):
    """Mel power spectrogram of y (N,) float32 at sr Hz: (1 + N // hop_length, n_mels) float32, frame t the
    Hann-windowed n_fft samples centred on sample t * hop_length, zeros beyond the ends (librosa.stft's frames with
    center=True, librosa.filters.mel's Slaney bands). Computed in float32 (librosa's float64 FFT costs twice as
    much, for differences of ~1e-7 of the peak): FFTs a cache-sized block of frames at a time, one matrix product
    per MEL_CHUNK_FRAMES frames (many small products are slow when BLAS runs threads on a busy machine)."""
    import scipy.fft
    n_frames = 1 + len(y) // hop_length
    padded = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    window = _periodic_hann(n_fft)
    basis_t = np.ascontiguousarray(mel_filters(sr, n_fft, n_mels).T)
    mel = np.empty((n_frames, n_mels), np.float32)
    power = np.empty((min(MEL_CHUNK_FRAMES, n_frames), n_fft // 2 + 1), np.float32)
    for chunk_start in range(0, n_frames, MEL_CHUNK_FRAMES):
        chunk_frames = min(MEL_CHUNK_FRAMES, n_frames - chunk_start)
        for start in range(0, chunk_frames, FFT_BLOCK_FRAMES):
            end = min(start + FFT_BLOCK_FRAMES, chunk_frames)
            spectrum = scipy.fft.rfft(frames[chunk_start + start: chunk_start + end] * window, axis=1)
            power[start:start + len(spectrum)] = spectrum.real ** 2 + spectrum.imag ** 2
        np.matmul(power[:chunk_frames], basis_t, out=mel[chunk_start:chunk_start + chunk_frames])
    return mel


def _local_autocorrelation(envelope, window_frames, stride):
    """Hann-windowed autocorrelation of an envelope (T,) in windows centred on every `stride`-th frame (the
    envelope padded by linear ramps to 0, as librosa.feature.tempogram does), each normalised to a peak of 1:
    (ceil(T / stride), window_frames) float32, column k a lag of k frames."""
    import scipy.fft
    n = len(envelope)
    padded = np.pad(np.asarray(envelope, np.float32), window_frames // 2, mode='linear_ramp', end_values=0)
    frames = np.lib.stride_tricks.sliding_window_view(padded, window_frames)[::stride][: (n + stride - 1) // stride]
    window = _periodic_hann(window_frames)
    n_fft = scipy.fft.next_fast_len(2 * window_frames - 1, real=True)
    spectrum = scipy.fft.rfft(frames * window, n=n_fft, axis=1)
    autocorrelation = scipy.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=n_fft, axis=1)[:, :window_frames]
    peak = np.abs(autocorrelation).max(axis=1, keepdims=True)
    return autocorrelation / np.where(peak < np.finfo(np.float32).tiny, 1.0, peak)


def _global_tempo(onset_envelope, sr, hop_length, stride):
    """librosa.feature.tempo's estimate (mean local autocorrelation over 8 s windows, log-normal prior around
    120 BPM, nothing above 320 BPM), with a window every `stride` frames instead of every frame: the mean hardly
    changes and the cost drops `stride`-fold. Tempo in BPM, a whole number of frames of beat period."""
    window_frames = int(round(TEMPO_WINDOW_S * sr / hop_length))
    mean_autocorrelation = _local_autocorrelation(onset_envelope, window_frames, stride).mean(axis=0)
    with np.errstate(divide='ignore'):
        period_bpm = 60.0 * sr / (hop_length * np.arange(window_frames, dtype=np.float64))  # lag 0: inf
    log_prior = -0.5 * (np.log2(period_bpm) - np.log2(120.0)) ** 2
    log_prior[: int(np.argmax(period_bpm < 320.0))] = -np.inf
    return float(period_bpm[np.argmax(np.log1p(1e6 * mean_autocorrelation) + log_prior)])


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
      beat_times_s (B,) float64: beat times in seconds (dynamic-programming beat tracker, `track_beats`);
      tempo_bpm float: global tempo in beats per minute (quantised to whole analysis frames of beat period:
        within 1 % up to 170 BPM at 30 or 25 fps);
      fps float.
    Silence (peak below -60 dBFS) or no detectable beat gives no beats, tempo 0.0 and a UserWarning.
    """
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

    mel_power = _mel_power(y, analysis_sr, N_FFT, fine_hop, N_MELS)
    mel_db_fine = 10.0 * np.log10(np.maximum(mel_power, np.float32(1e-10)))  # librosa.power_to_db(ref=1)
    mel_db_fine = np.maximum(mel_db_fine, mel_db_fine.max() - np.float32(TOP_DB))[:n_fine]
    features['mel_db'] = np.ascontiguousarray(mel_db_fine[::BEAT_SUBFRAMES])
    # librosa.onset.onset_strength's spectral flux, delayed by half a window as librosa does to undo the lead of
    # centred frames.
    flux = np.median(np.maximum(np.diff(mel_db_fine, axis=0), 0.0), axis=1)
    onset_fine = np.zeros(n_fine, np.float32)
    delay = 1 + N_FFT // (2 * fine_hop)
    onset_fine[delay:] = flux[: max(n_fine - delay, 0)]
    # A max, not a sample, so that a sharp onset between two pose frames is not lost.
    # (scipy.ndimage.maximum_filter1d(size=BEAT_SUBFRAMES + 1, mode='constant'), without its second of import.)
    size = BEAT_SUBFRAMES + 1
    padded = np.pad(onset_fine, (size // 2, size - 1 - size // 2))
    onset = np.lib.stride_tricks.sliding_window_view(padded, size)[::BEAT_SUBFRAMES].max(axis=1)
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
    beat_frames = track_beats(onset_fine, fine_rate, tempo_bpm)
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
