#!/usr/bin/env bash
# Stage 1: videos -> OpenPose BODY_25 JSON per frame, the sound track and the frame rate.
#
#   ./extract_poses.sh                              # dataset 'demo', OpenPose in docker if it can run here
#   DATASET=mine BACKEND=pip ./extract_poses.sh     # the pip extractor (MediaPipe on the CPU, extract_poses.py)
#   GPUS="0 1 2 3" DATASET=mine ./extract_poses.sh  # OpenPose, videos spread over four GPUs
#
# For each video data/<dataset>/videos/<clip>.{mp4,mov,avi,webm,mkv} it writes
#   data/<dataset>/openpose/<clip>/<clip>_<12-digit frame>_keypoints.json   OpenPose JSON, one file per frame
#   data/<dataset>/openpose/<clip>/fps.txt                                  the video's frame rate
#   data/<dataset>/openpose/<clip>/extractor.json                           what made them
#   data/<dataset>/audio/<clip>.wav                                         the sound track, when there is one
# Both backends write the same files. Without a docker engine with an NVIDIA runtime it runs the pip extractor and
# says so. Frames go to a hidden folder renamed when complete, so a clip whose openpose/<clip>/ exists is done and
# a stopped run continues. A video that fails is reported and the others go on; the exit status is then 1.
set -uo pipefail

DATASET="${DATASET:-demo}"
BACKEND="${BACKEND:-openpose}"          # openpose (docker, NVIDIA GPUs) or pip
IMAGE="${IMAGE:-cwaffles/openpose}"     # a docker image with OpenPose built in /openpose
GPUS="${GPUS:-0}"                       # GPU ids to spread videos over, one video at a time on each

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    PYTHON=python3
    [[ -x "$ROOT/.venv/bin/python" ]] && PYTHON="$ROOT/.venv/bin/python"
fi
DATA="${L2D_DATA:-$ROOT/data}/$DATASET"
VIDEOS="$DATA/videos"
POSES="$DATA/openpose"
AUDIO="$DATA/audio"
OPENPOSE_FLAGS=(--display 0 --render_pose 0 --model_pose BODY_25 --model_folder /openpose/models/)

say() { echo "extract_poses.sh: $*"; }
fail() { echo "extract_poses.sh: $*" >&2; exit 2; }

# --gpus needs the engine to run (the CLI alone answers `docker info` with an error) and NVIDIA's container
# runtime registered with it or its hook installed.
openpose_available() {
    command -v docker >/dev/null 2>&1 || { say "no docker command"; return 1; }
    local runtimes
    if ! runtimes="$(docker info --format '{{json .Runtimes}}' 2>/dev/null)"; then
        say "docker has no engine running"
        return 1
    fi
    if [[ "$runtimes" != *nvidia* ]] && ! command -v nvidia-container-runtime-hook >/dev/null 2>&1 \
        && ! command -v nvidia-container-toolkit >/dev/null 2>&1; then
        say "docker has no NVIDIA runtime"
        return 1
    fi
}

# ffmpeg prints NTSC rates rounded (23.98), so a rate that close to n*1000/1001 is taken as exactly that.
video_fps() {
    "$PYTHON" -c '
import sys, imageio_ffmpeg
reader = imageio_ffmpeg.read_frames(sys.argv[1])
fps = next(reader)["fps"]
reader.close()
ntsc = round(fps * 1.001) / 1.001
print(repr(ntsc if round(fps) != fps and abs(ntsc - fps) < 0.006 else float(fps)))' "$1"
}

write_extractor_json() {  # folder video: records the command that made the frames (settings of this stage)
    "$PYTHON" -c '
import json, sys
folder, video, image, flags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with open(folder + "/extractor.json", "w") as f:
    json.dump({"backend": "openpose", "image": image, "source": video, "flags": flags}, f, indent=1)' \
        "$1" "$2" "$IMAGE" "${OPENPOSE_FLAGS[@]}"
}

run_openpose() {  # video folder gpu
    local name
    name="$(basename "$1")"
    docker run --rm --gpus "device=$3" --user "$(id -u):$(id -g)" -w /openpose \
        -v "$VIDEOS:/videos:ro" -v "$2:/out" "$IMAGE" \
        ./build/examples/openpose/openpose.bin --video "/videos/$name" --write_json /out \
        "${OPENPOSE_FLAGS[@]}" --num_gpu 1 --num_gpu_start 0 </dev/null || return 1
    compgen -G "$2/*_keypoints.json" >/dev/null || { say "$name: OpenPose wrote no keypoints"; return 1; }
    video_fps "$1" >"$2/fps.txt" && write_extractor_json "$2" "$1"
}

run_pip() {  # video folder (the GPU argument is ignored)
    "$PYTHON" "$ROOT/extract_poses.py" --dataset="$DATASET" --video="$1" --json_dir="$2"
}

extract_audio() {  # video clip
    local wav="$AUDIO/$2.wav" partial="$AUDIO/.$2.partial.wav" probe
    [[ -f "$wav" ]] && return 0
    # `ffmpeg -i` alone exits 1 (no output named), so its report is read whatever the status.
    probe="$("$FFMPEG" -hide_banner -nostdin -i "$1" 2>&1)"
    if [[ "$probe" != *"Audio:"* ]]; then
        say "$2: no sound track, so no audio/$2.wav"
        return 0
    fi
    mkdir -p "$AUDIO"
    if "$FFMPEG" -hide_banner -nostdin -loglevel error -y -i "$1" -map 0:a:0 -vn -c:a pcm_s16le "$partial"; then
        mv -f "$partial" "$wav"
    else
        rm -f "$partial"
        say "$2: FAILED to extract the sound track" >&2
        return 1
    fi
}

process() {  # video gpu: poses then sound track; appends the clip to $FAILED on failure
    local video="$1" clip folder partial
    clip="$(basename "${video%.*}")"
    folder="$POSES/$clip"
    partial="$POSES/.$clip.partial"
    if [[ -d "$folder" ]]; then
        say "$clip: already extracted, skipped (delete $folder to extract again)"
    else
        rm -rf "$partial"
        mkdir -p "$partial"
        if ! "run_$BACKEND" "$video" "$partial" "$2"; then
            rm -rf "$partial"
            say "$clip: FAILED to extract poses from $video" >&2
            echo "$clip" >>"$FAILED"
            return
        fi
        mv "$partial" "$folder"
        say "$clip: $(compgen -G "$folder/*_keypoints.json" | wc -l) frames -> $folder"
    fi
    extract_audio "$video" "$clip" || echo "$clip" >>"$FAILED"
}

[[ -d "$VIDEOS" ]] || fail "$VIDEOS: no such folder (put the dataset's videos there)"
shopt -s nullglob nocaseglob
videos=("$VIDEOS"/*.{mp4,mov,avi,webm,mkv})
shopt -u nocaseglob
[[ ${#videos[@]} -gt 0 ]] || fail "$VIDEOS: no videos (mp4, mov, avi, webm, mkv)"
FFMPEG="$("$PYTHON" -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" \
    || fail "imageio-ffmpeg is not installed for $PYTHON (pip install -r requirements.txt)"

case "$BACKEND" in
    openpose)
        if ! openpose_available; then
            say "OpenPose cannot run here, so the pip extractor (MediaPipe, CPU) is used instead"
            BACKEND=pip
        fi ;;
    pip) ;;
    *) fail "BACKEND must be openpose or pip, not '$BACKEND'" ;;
esac
if [[ "$BACKEND" == pip ]]; then
    "$PYTHON" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("mediapipe", "cv2")))' \
        || fail "the pip extractor is not installed: $PYTHON -m pip install --no-deps -r requirements-extract.txt"
    gpus=(cpu)
    say "dataset $DATASET: ${#videos[@]} videos, pip extractor (extract_poses.py, MediaPipe on the CPU)"
else
    read -ra gpus <<<"$GPUS"
    [[ ${#gpus[@]} -gt 0 ]] || fail "GPUS is empty"
    say "dataset $DATASET: ${#videos[@]} videos, OpenPose ($IMAGE) on GPUs ${gpus[*]}"
fi

mkdir -p "$POSES"
FAILED="$(mktemp)"
trap 'rm -f "$FAILED"' EXIT
# One worker per GPU, each taking every n-th video in turn.
for slot in "${!gpus[@]}"; do
    (
        for ((i = slot; i < ${#videos[@]}; i += ${#gpus[@]})); do
            process "${videos[$i]}" "${gpus[$slot]}"
        done
    ) &
done
wait

if [[ -s "$FAILED" ]]; then
    say "$(sort -u "$FAILED" | wc -l) of ${#videos[@]} videos failed: $(sort -u "$FAILED" | tr '\n' ' ')" >&2
    exit 1
fi
say "done: ${#videos[@]} videos in $POSES"
