"""OpenPose JSON -> one dancer's poses: data/<dataset>/openpose/<clip>/*.json -> data/<dataset>/poses/<clip>.npz.

Follows the main dancer of each clip rather than whoever OpenPose lists first, fills the joints it missed by
interpolation (confidence 0 marks them), and takes each clip's frame rate from its video
(data/<dataset>/videos/<clip>.*), else from openpose/<clip>/fps.txt, else from the dataset's meta.json "fps",
else from the `fps` setting.

    python parse.py --dataset=demo
    python parse.py --openpose_dir=../shared/data/openpose_json/soccer_Kick_2   # one folder from anywhere

Imports stay light (numpy, orjson; tqdm once there is something to show) so that the stage starts fast.
Clips are parsed in parallel, one worker process per CPU core.
"""
import glob
import math
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from l2d.config import configure
from l2d.io import VIDEO_EXTENSIONS, InputError, data_dir, find_media, load_json, save_poses, video_info
from l2d.openpose import frame_number, frame_paths, read_people
from l2d.progress import progress
from l2d.track import fill_gaps, select_track

dataset = 'demo'
openpose_dir = ''       # parse only this folder of OpenPose JSON (anywhere), to data/<dataset>/poses/<folder name>.npz
fps = 30.0              # frames per second of clips with no video, no fps.txt and no "fps" in meta.json
min_confidence = 0.1    # joints OpenPose gives below this confidence count as not seen, and are filled in
max_jump = 0.3          # how far the dancer may move per frame since last seen, in body sizes (box diagonals)
min_size_ratio = 0.5    # a detection this much smaller (or 1/this larger) than the dancer is somebody else
start_frames = 10       # the dancer is the main person of the first this-many frames that have anybody in them
merge_fragments = True  # take joints the dancer's detection lacks from split-off detections at the same place
min_joints = 5          # a frame is usable when the dancer is seen there with at least this many joints
min_frames = 10         # clips with fewer usable frames are skipped
processes = 0           # worker processes parsing clips in parallel; 0 = one per CPU core (at most one per clip)
settings = configure(globals())

def positive_number(value):
    """float(value) when it is a finite number > 0 (a number or its text), else None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def clip_fps(folder, clip, dataset_fps):
    """(fps, where it came from) of a clip: its video, else its fps.txt, else `dataset_fps` (meta.json's)
    when not None, else the `fps` setting. InputError naming the file when a video or fps.txt is unreadable."""
    video = (find_media(data_dir(dataset, 'videos'), clip, VIDEO_EXTENSIONS)
             or (openpose_dir and find_media(os.path.dirname(os.path.abspath(folder)), clip, VIDEO_EXTENSIONS)))
    if video:
        return video_info(video)[0], video
    fps_file = os.path.join(folder, 'fps.txt')
    if os.path.isfile(fps_file):
        try:
            with open(fps_file, errors='replace') as f:
                text = f.read().strip()
        except OSError as e:
            raise InputError(f"{fps_file}: unreadable ({e})")
        value = positive_number(text)
        if value is None:
            raise InputError(f"{fps_file}: expected a positive number of frames per second, got {text[:40]!r}")
        return value, fps_file
    if dataset_fps is not None:
        return dataset_fps, data_dir(dataset, 'meta.json')
    return fps, 'fps setting'


dataset_fps = None
meta_path = data_dir(dataset, 'meta.json')
if not openpose_dir and os.path.isfile(meta_path):
    try:
        meta = load_json(meta_path)
    except InputError as e:
        meta = {}
        print(f"{e}: its fps is not used")
    if isinstance(meta, dict) and meta.get('fps') is not None:
        dataset_fps = positive_number(meta['fps'])
        if dataset_fps is None:
            print(f"{meta_path}: fps {meta['fps']!r} is not a positive number: not used")

if openpose_dir:
    folders = [openpose_dir]
else:
    openpose_root = data_dir(dataset, 'openpose')
    folders = sorted(p for p in glob.glob(os.path.join(glob.escape(openpose_root), '*')) if os.path.isdir(p))
    if not folders:
        sys.exit(f"error: {openpose_root}: no clip folders (expected openpose/<clip>/*_keypoints.json); "
                 f"nothing parsed")

clips = []
for folder in folders:
    try:
        clips.append((folder, frame_paths(folder)))
    except InputError as e:
        print(f"skipped: {e}")

def parse_clip(clip_folder_paths):
    """Read one clip's frames, follow the dancer, fill the gaps and write data/<dataset>/poses/<clip>.npz.

    clip_folder_paths: (folder, its *_keypoints.json paths by frame number). Returns a dict: files (number of
    JSON files), read (frames read), frames (frames written, 0 when skipped), nonfinite (joints with NaN/inf
    numbers, read as undetected) and lines (what to print)."""
    folder, paths = clip_folder_paths
    result = {'files': len(paths), 'read': 0, 'frames': 0, 'nonfinite': 0, 'lines': []}
    say = result['lines'].append
    # Not l2d.io.clip_name: folder names such as 'spin_v1.2' have dots that are not extensions.
    clip = os.path.basename(os.path.normpath(folder))
    # File k is frame k of the video: a missing file is an empty frame, so that the poses keep time with the music.
    numbers = [frame_number(p) for p in paths]
    if None in numbers:  # not named after a video's frames (e.g. OpenPose run on images): in file order
        numbers = list(range(len(paths)))
    if len(set(numbers)) < len(numbers) or numbers[-1] >= 2 * len(numbers):
        say(f"skipped {folder}: {len(paths)} files numbered up to frame {numbers[-1]}, "
            f"{'some numbers twice' if len(set(numbers)) < len(numbers) else 'most files missing'} "
            f"(not one video's frames?)")
        return result
    missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if missing:
        say(f"{folder}: no file for {len(missing)} frames ({', '.join(map(str, missing[:5]))}"
            f"{', ...' if len(missing) > 5 else ''}): read as empty frames")
    frames_people = [[] for _ in range(numbers[-1] + 1)]
    for number, path in zip(numbers, paths):
        try:
            frames_people[number], nonfinite = read_people(path)
        except InputError as e:
            say(f"{e}: read as an empty frame")
            continue
        result['nonfinite'] += nonfinite
    result['read'] = len(paths)
    if result['nonfinite']:
        say(f"{folder}: {result['nonfinite']} joints with NaN or infinite numbers: read as undetected")
    try:
        clip_rate, fps_source = clip_fps(folder, clip, dataset_fps)
    except InputError as e:
        say(f"skipped {clip}: {e}")
        return result
    poses, confidences = select_track(frames_people, min_confidence, max_jump, min_size_ratio, start_frames,
                                      merge_fragments)
    joints_seen = ((confidences >= min_confidence) & (confidences > 0)).sum(axis=1)
    usable = int((joints_seen >= max(min_joints, 1)).sum())
    if usable < max(min_frames, 1):
        say(f"skipped {folder}: the dancer is seen (>= {min_joints} joints of confidence >= {min_confidence}) in "
            f"only {usable} of {len(frames_people)} frames, fewer than min_frames={min_frames}")
        return result
    poses, confidences = fill_gaps(poses, confidences, min_confidence)
    save_poses(data_dir(dataset, 'poses', clip + '.npz'), poses, confidences, clip_rate, os.path.abspath(folder),
               settings, fps_source=fps_source)
    say(f"{clip}: {len(frames_people)} frames at {clip_rate:.3f} fps (from {fps_source}), dancer seen in "
        f"{int((joints_seen > 0).sum())}, usable {usable}, {100 * float((confidences == 0).mean()):.0f}% of "
        f"joints filled")
    result['frames'] = len(frames_people)
    return result


def worker_pool(n_clips):
    """A pool of worker processes to parse `n_clips` clips, one per core, or None to parse them in this process (one
    clip or core, or a system without fork: forked workers share the settings without re-running this script)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
    workers = min(n_clips, processes or cores)
    if workers < 2 or 'fork' not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context('fork'))


start_time, start_cpu_s = time.perf_counter(), time.process_time()
n_parsed = n_frames = n_read = n_nonfinite = 0
pool = worker_pool(len(clips))
# pool.map forks the workers at once, before the progress bar starts its thread.
results = pool.map(parse_clip, clips) if pool else map(parse_clip, clips)
with progress(total=sum(len(paths) for _, paths in clips), unit='frame', desc='parse') as bar:
    for result in results:
        for line in result['lines']:
            bar.write(line)
        bar.update(result['files'])
        n_read += result['read']
        n_nonfinite += result['nonfinite']
        n_parsed += result['frames'] > 0
        n_frames += result['frames']
if pool:
    pool.shutdown()  # waits for the workers, so that their CPU time is counted below

elapsed_s = time.perf_counter() - start_time
cpu_s = time.process_time() - start_cpu_s + sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
if n_nonfinite:
    print(f"{n_nonfinite} joints had NaN or infinite coordinates or confidence: read as undetected joints")
print(f"parsed {n_parsed} of {len(folders)} clips ({n_frames} frames) -> {data_dir(dataset, 'poses')}; "
      f"read {n_read} frames in {elapsed_s:.2f} s ({n_read / max(elapsed_s, 1e-9):.0f} frames/s; "
      f"{cpu_s:.2f} s of CPU time)")
if n_parsed == 0:
    sys.exit("error: no clip could be parsed")
