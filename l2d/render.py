"""Stick-figure animations of pose sequences: frames as numpy arrays, and MP4 (H.264/AAC, with music) or GIF files.

Poses are ``(T, 15, 2)`` in any units with y down (pixels from a video, or normalised torso lengths from a model).
Without a video the camera either follows the dancer (``camera='follow'``): it pans with the MidHip smoothed over
about a second, at a fixed zoom set by the body's size rather than the whole path, over a ground line whose ticks
(one torso length apart, every fifth longer) scroll by as the dancer travels; or it is fixed (``camera='fixed'``):
the whole clip is framed once (its bounding box with a margin, aspect kept) and the figure moves inside it, which
suits side-by-side comparisons of where dancers go. With a video the poses are drawn in the video's own pixel
coordinates on top of its frames, so pose tracking can be checked by eye.

Right limbs are red, left limbs blue (the dancer's own sides, as in ``l2d.skeleton``); joints whose confidence is 0
(filled in by the parser, not detected) are drawn as pale rings. PIL draws the figure at twice the resolution in a
box around it and shrinks it back, which smooths the lines at a fraction of the cost of supersampling whole frames.
"""
import itertools
import os
import tempfile
import warnings
from fractions import Fraction

import numpy as np

from .skeleton import BONES, BONE_SIDES, J, MIDHIP

BACKGROUND = (247, 247, 244)
LETTERBOX = (20, 20, 20)
SEPARATOR = (200, 200, 196)
FLOOR = (150, 150, 144)
TEXT = (60, 60, 60)
SIDE_COLOURS = {'R': (214, 48, 49), 'L': (20, 110, 220), 'C': (50, 50, 56)}
# A dark centre line would vanish on dark video; yellow reads on most footage.
VIDEO_SIDE_COLOURS = {'R': (255, 60, 60), 'L': (40, 150, 255), 'C': (255, 214, 0)}
# Side of each joint, from the bone that ends at it (the Neck, root of the tree, is centre).
JOINT_SIDES = tuple(next((side for (_, child), side in zip(BONES, BONE_SIDES) if child == j), 'C') for j in range(15))
SUPERSAMPLE = 2
MARGIN = 0.06  # of the figure box, on every side
CAMERAS = ('follow', 'fixed')
CAMERA_SMOOTH_S = 0.4  # standard deviation in seconds of the Gaussian that smooths the followed MidHip track


def frame_rate(fps):
    """fps as an exact fraction for ffmpeg (29.97 -> 2997/100, 23.976 -> 2997/125); fps: float > 0."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(round(float(fps), 3)).limit_denominator(1001)


def resample(poses, fps_in, fps_out, n_frames=None):
    """Poses (or per-joint arrays such as confidences) at another frame rate, by the nearest earlier frame in time.

    poses: (T, ...) at fps_in; returns (n_frames, ...) at fps_out, n_frames defaulting to the same duration
    (round(T * fps_out / fps_in)); frames past the end repeat the last one."""
    poses = np.asarray(poses)
    if n_frames is None:
        n_frames = max(1, int(round(len(poses) * fps_out / fps_in)))
    index = np.floor(np.arange(n_frames) * (fps_in / fps_out) + 1e-6).astype(int)
    return poses[np.minimum(index, len(poses) - 1)]


def fit_box(poses, box, margin=MARGIN):
    """(scale, offset (2,)) mapping pose coordinates into a pixel box so that the bounding box of all finite
    joints of the whole sequence fits with `margin` (fraction of the box) on each side, aspect kept, centred.

    poses: (T, 15, 2); box: (x0, y0, x1, y1) pixels. Pixel = pose * scale + offset."""
    pts = np.asarray(poses, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    x0, y0, x1, y1 = box
    centre_box = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    if len(pts) == 0:
        return 1.0, centre_box
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    extent = hi - lo
    room = np.array([x1 - x0, y1 - y0]) * (1 - 2 * margin)
    # A still point (extent 0 on both axes) is drawn at the scale that fills the box with a unit square.
    scale = float(np.min(room / np.maximum(extent, 1e-9))) if extent.max() > 0 else float(room.min())
    return scale, centre_box - scale * (lo + hi) / 2


def follow_camera(poses, fps, smooth_s=CAMERA_SMOOTH_S):
    """Where a following camera looks, and where the floor is, for one sequence.

    The camera centre is the MidHip track (a frame without a MidHip uses the mean of its joints) smoothed with a
    Gaussian of `smooth_s` seconds; the floor lies a fixed distance below it, at the median height of the lower
    ankle relative to the MidHip, so it stays put on screen while its ticks scroll as the dancer travels.
    poses: (T, 15, 2), y down -> (centre (T, 2), floor_dy float: floor y minus centre y, tick spacing float: one
    torso length), in the poses' units."""
    import scipy.ndimage
    from .norm import torso_length
    poses = np.asarray(poses, dtype=np.float64)
    root = poses[:, MIDHIP].copy()
    missing = ~np.isfinite(root).all(axis=1)
    if missing.any():
        with np.errstate(invalid='ignore'), warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)
            root[missing] = np.nanmean(poses[missing], axis=1)
        still_missing = ~np.isfinite(root).all(axis=1)
        root[still_missing] = np.nanmedian(root[~still_missing], axis=0) if (~still_missing).any() else 0.0
    sigma = smooth_s * fps
    centre = scipy.ndimage.gaussian_filter1d(root, sigma, axis=0, mode='nearest') if sigma > 0 else root
    ankles = np.nanmax(poses[:, [J['RAnkle'], J['LAnkle']], 1], axis=1) - root[:, 1]
    floor_dy = float(np.nanmedian(ankles)) if np.isfinite(ankles).any() else 0.0
    finite = np.isfinite(poses).all(axis=(1, 2))
    spacing = torso_length(poses[finite]) if finite.any() else 1.0
    return centre, floor_dy, spacing if spacing > 0 else 1.0


def floor_marks(centre_x, floor_y, spacing, scale, offset, box):
    """The ground line and its ticks for one frame, in pixels: (line (x0, y, x1, y), ticks [(x, y0, y1), ...]).
    Ticks sit at whole multiples of `spacing` in the poses' x, every fifth longer; centre_x: the camera's x; floor_y:
    the floor's pixel y; scale, offset: of the camera frame (pixel = (pose - centre) * scale + offset)."""
    x0, _, x1, _ = box
    step = spacing * scale
    first = np.ceil((centre_x + (x0 - offset) / scale) / spacing)
    n_ticks = int((x1 - x0) / max(step, 1e-9)) + 2
    length = max(3.0, step * 0.12)
    ticks = []
    for n in range(int(first), int(first) + n_ticks):
        x = (n * spacing - centre_x) * scale + offset
        if x0 <= x <= x1:
            ticks.append((x, floor_y, floor_y + (2 * length if n % 5 == 0 else length)))
    return (x0, floor_y, x1, floor_y), ticks


def fit_video(video_size, box):
    """(scale, offset (2,), fitted (w, h)) placing a video of `video_size` (w, h) inside a pixel box, centred."""
    x0, y0, x1, y1 = box
    scale = min((x1 - x0) / video_size[0], (y1 - y0) / video_size[1])
    fitted = (max(1, int(round(video_size[0] * scale))), max(1, int(round(video_size[1] * scale))))
    offset = np.array([x0 + ((x1 - x0) - fitted[0]) // 2, y0 + ((y1 - y0) - fitted[1]) // 2], dtype=np.float64)
    return scale, offset, fitted


def panel_boxes(size, n_panels):
    """Pixel boxes (x0, y0, x1, y1) of `n_panels` side-by-side panels filling a frame of `size` (w, h)."""
    width, height = size
    return [(i * width // n_panels, 0, (i + 1) * width // n_panels, height) for i in range(n_panels)]


def _font(size_px):
    from PIL import ImageFont
    return ImageFont.load_default(size=size_px)


def _text_image(text, font, on_video):
    """Text as an RGBA image with a transparent background (outlined on video so it reads on any footage)."""
    from PIL import Image, ImageDraw
    stroke = 2 if on_video else 0
    x0, y0, x1, y1 = font.getbbox(text, stroke_width=stroke)
    image = Image.new('RGBA', (max(1, x1), max(1, y1)), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((0, 0), text, font=font, fill=(255, 255, 255) if on_video else TEXT,
                               stroke_width=stroke, stroke_fill=(0, 0, 0))
    return image


def pale(colour):
    """The pale version of an RGB colour, for joints filled in rather than detected (60% of the way to white)."""
    return tuple(int(c + (255 - c) * 0.6) for c in colour)


def draw_frames(poses_list, size=(640, 480), titles=None, video_frames=None, confidences_list=None,
                captions=None, video_size=None, camera='follow', fps=30.0):
    """Draw stick figures, one panel per sequence side by side; yields (H, W, 3) uint8 RGB frames.

    poses_list: list of (T_k, 15, 2) sequences at the same frame rate (the animation is as long as the longest;
    a shorter one holds its last pose). size: (W, H) of the whole frame. titles: one string per panel, or None.
    video_frames: None, or an iterable of (h, w, 3) uint8 frames, one per animation frame; every panel then
    shows the frame with its poses in the video's pixel coordinates (frames may come pre-scaled to the panel:
    `video_size` (w, h) is the size the pose coordinates refer to, default the first frame's size). After the
    video ends panels are dark. confidences_list: None or one (T_k, 15) array (or None) per sequence; joints with
    confidence 0 are drawn pale. captions: None or one string per frame, drawn at the bottom left.
    camera: without a video, 'follow' (pan with the dancer over a ticked ground line, zoom set by the body) or
    'fixed' (the whole clip framed once); fps: the poses' frame rate (the following camera smooths over seconds).
    The frames are read-only views; copy one to keep or change it.
    """
    for frame in _draw_rgbx_frames(poses_list, size, titles, video_frames, confidences_list, captions, video_size,
                                   camera, fps):
        yield frame[..., :3]


def _draw_rgbx_frames(poses_list, size, titles, video_frames, confidences_list, captions, video_size,
                      camera='follow', fps=30.0):
    """draw_frames' frames as (H, W, 4) uint8 RGBX: PIL keeps RGB images 4 bytes a pixel, so these come out of it
    at half the cost of packed RGB, and ffmpeg converts them to YUV faster too."""
    from PIL import Image, ImageDraw

    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
    width, height = size
    n_panels = len(poses_list)
    n_frames = max(len(p) for p in poses_list)
    boxes = panel_boxes(size, n_panels)
    title_font, caption_font = _font(max(10, height // 24)), _font(max(9, height // 32))
    band_title = int(height * 0.075) if titles else 0
    band_caption = int(height * 0.06) if captions is not None else 0
    on_video = video_frames is not None
    colours = VIDEO_SIDE_COLOURS if on_video else SIDE_COLOURS
    bone_width = max(2, round(min(boxes[0][2] - boxes[0][0], height) / 100))
    radius = bone_width * 0.8 + 1
    pad = int(bone_width + radius + 2)

    if on_video:
        video_frames = iter(video_frames)
        first = next(video_frames, None)
        video_frames = itertools.chain([first], video_frames) if first is not None else iter(())
        if video_size is None:
            video_size = (first.shape[1], first.shape[0]) if first is not None else size
        fits = [fit_video(video_size, box) for box in boxes]
        transforms = [(s, off) for s, off, _ in fits]
    following = not on_video and camera == 'follow'
    floors = [None] * n_panels  # following camera: (camera x (T,), floor pixel y, tick spacing, scale, offset x)
    pixels, filled = [], []
    for k, poses in enumerate(poses_list):
        poses = np.asarray(poses, dtype=np.float64)
        x0, y0, x1, y1 = boxes[k]
        if on_video:
            scale, offset = transforms[k]
        elif following:
            centre, floor_dy, spacing = follow_camera(poses, fps)
            poses = poses - centre[:, None]
            # The frame holds the body around the camera centre and the floor with its ticks below it.
            below = np.array([[0.0, floor_dy + 0.3 * spacing]])
            scale, offset = fit_box(np.concatenate([poses.reshape(-1, 2), below]),
                                    (x0, y0 + band_title, x1, y1 - band_caption))
            floors[k] = (centre[:, 0], floor_dy * scale + offset[1], spacing, scale, offset[0])
        else:
            scale, offset = fit_box(poses, (x0, y0 + band_title, x1, y1 - band_caption))
        pix = poses * scale + offset
        pixels.append(pix)
        conf = None if confidences_list is None else confidences_list[k]
        filled.append(np.zeros(pix.shape[:2], bool) if conf is None else np.asarray(conf) <= 0)

    base = Image.new('RGB', size, LETTERBOX if on_video else BACKGROUND)
    if not on_video:
        draw = ImageDraw.Draw(base)
        for x0, _, _, _ in boxes[1:]:
            draw.line([(x0, 0), (x0, height)], fill=SEPARATOR, width=1)
    title_images = []
    for k, title in enumerate(titles or []):
        if title:
            image = _text_image(title, title_font, on_video)
            x0, y0, x1, _ = boxes[k]
            title_images.append((image, ((x0 + x1 - image.width) // 2, y0 + max(2, (band_title - image.height) // 2))))
    caption_cache = (None, None)
    captions = iter(captions) if captions is not None else None
    figure_boxes = [(x0 + 1, y0 + band_title, x1 - 1, y1 - band_caption) for x0, y0, x1, y1 in boxes]

    # One canvas for the whole clip: only what the previous frame drew over is restored from `base`, which is
    # cheaper than copying the whole frame.
    canvas = base.copy()
    canvas_draw = ImageDraw.Draw(canvas)
    floor_width = max(1, bone_width // 2)
    dirty = []
    for t in range(n_frames):
        for box in dirty:
            canvas.paste(base.crop(box), box[:2])
        dirty = []
        if on_video:
            frame = next(video_frames, None)
            if frame is not None:
                video = Image.fromarray(np.ascontiguousarray(frame))
                for _, offset, fitted in fits:
                    xy = (int(offset[0]), int(offset[1]))
                    canvas.paste(video if video.size == fitted else video.resize(fitted, Image.BILINEAR), xy)
                    dirty.append((*xy, xy[0] + fitted[0], xy[1] + fitted[1]))
        for k in range(n_panels):
            i = min(t, len(pixels[k]) - 1)
            if floors[k] is not None:
                centre_x, floor_y, spacing, scale, offset_x = floors[k]
                fx0, fy0, fx1, fy1 = figure_boxes[k]
                line, ticks = floor_marks(centre_x[i], floor_y, spacing, scale, offset_x, (fx0, fy0, fx1 - 1, fy1))
                canvas_draw.line(line, fill=FLOOR, width=floor_width)
                for x, ya, yb in ticks:
                    canvas_draw.line((x, ya, x, yb), fill=FLOOR, width=floor_width)
                bottom = max([yb for _, _, yb in ticks], default=floor_y)
                band = (fx0, int(max(fy0, floor_y - floor_width - 1)), fx1, int(min(fy1, bottom + floor_width + 1)))
                if band[3] > band[1]:
                    dirty.append(band)
            # Over floor marks the figure is drawn over the canvas; on a plain background, on a fresh patch.
            drawn = _draw_figure(canvas, pixels[k][i], filled[k][i], boxes[k] if on_video else figure_boxes[k],
                                 colours, bone_width, radius, pad, None if on_video or following else BACKGROUND)
            if drawn:
                dirty.append(drawn)
        for image, xy in title_images:
            canvas.paste(image, xy, image)
            dirty.append((*xy, xy[0] + image.width, xy[1] + image.height))
        if captions is not None:
            text = next(captions, '')
            if text != caption_cache[0]:
                caption_cache = (text, _text_image(text, caption_font, on_video) if text else None)
            image = caption_cache[1]
            if image is not None:
                xy = (max(4, height // 80), height - band_caption + (band_caption - image.height) // 2)
                canvas.paste(image, xy, image)
                dirty.append((*xy, xy[0] + image.width, xy[1] + image.height))
        yield np.frombuffer(canvas.tobytes('raw', 'RGBX'), np.uint8).reshape(height, width, 4)


def _draw_figure(canvas, pix, filled, box, colours, bone_width, radius, pad, background=None):
    """Draw one pose (15, 2) pixels onto `canvas` in place, supersampled inside the figure's own bounding box
    clipped to `box`; `background`: the colour under the figure if uniform (faster), None to draw over the canvas.
    Returns the box drawn over (x0, y0, x1, y1), or None."""
    from PIL import Image, ImageDraw
    valid = np.isfinite(pix).all(axis=1)
    if not valid.any():
        return None
    lo = np.floor(pix[valid].min(axis=0)) - pad
    hi = np.ceil(pix[valid].max(axis=0)) + pad
    x0, y0 = int(max(lo[0], box[0])), int(max(lo[1], box[1]))
    x1, y1 = int(min(hi[0], box[2])), int(min(hi[1], box[3]))
    if x1 <= x0 or y1 <= y0:
        return None
    ss = SUPERSAMPLE
    if background is None:
        region = canvas.crop((x0, y0, x1, y1)).resize(((x1 - x0) * ss, (y1 - y0) * ss), Image.NEAREST)
    else:
        region = Image.new('RGB', ((x1 - x0) * ss, (y1 - y0) * ss), background)
    draw = ImageDraw.Draw(region)
    # Plain Python lists: indexing numpy scalars in these short loops costs more than the drawing.
    # Pixel centres sit at integers on both grids, hence the half-pixel shift of the supersampled one.
    local = ((pix - (x0, y0)) * ss + (ss - 1) / 2).tolist()
    valid, filled = valid.tolist(), np.asarray(filled).tolist()
    for (a, b), side in zip(BONES, BONE_SIDES):
        if valid[a] and valid[b]:
            if filled[a] or filled[b]:
                draw.line((*local[a], *local[b]), fill=pale(colours[side]), width=max(ss, bone_width * ss * 2 // 3))
            else:
                draw.line((*local[a], *local[b]), fill=colours[side], width=bone_width * ss)
    r = radius * ss
    for j in range(len(local)):
        if valid[j]:
            x, y = local[j]
            colour = colours[JOINT_SIDES[j]]
            if filled[j]:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255), outline=pale(colour), width=ss)
            else:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    canvas.paste(region.reduce(ss), (x0, y0))
    return x0, y0, x1, y1


def read_video_frames(path, fps, n_frames, size=None):
    """Frames of a video at the animation's frame rate: for t < n_frames, the video frame shown at time t / fps
    (nearest earlier one). Yields (h, w, 3) uint8 RGB, scaled by ffmpeg to `size` (w, h) if given; stops early
    when the video ends."""
    import imageio_ffmpeg
    reader = imageio_ffmpeg.read_frames(path, output_params=['-vf', f'scale={size[0]}:{size[1]}'] if size else None)
    try:
        meta = next(reader)
        width, height = meta['size']
        video_fps = meta['fps'] or fps
        index, frame = -1, None
        for t in range(n_frames):
            target = int(np.floor(t * video_fps / fps + 1e-6))
            while index < target:
                data = next(reader, None)
                if data is None:
                    return
                frame = np.frombuffer(data, np.uint8).reshape(height, width, 3)
                index += 1
            yield frame
    finally:
        reader.close()


def music_clip(path, offset_s, duration_s):
    """The music under a dance: `duration_s` seconds of an audio file starting at `offset_s` (negative: that much
    silence first), padded with silence past the file's end. Returns (samples (N,) float32 mono, sr Hz).
    InputError naming the file if it cannot be decoded or the offset lies past its end."""
    from .io import InputError, load_audio
    lead_s = max(-offset_s, 0.0)
    samples, sr = load_audio(path, sr=None, offset_s=max(offset_s, 0.0), duration_s=max(duration_s - lead_s, 0.01))
    if len(samples) == 0:
        raise InputError(f"{path}: music offset {offset_s} s is past the end of the music")
    n = int(round(duration_s * sr))
    lead = int(round(lead_s * sr))
    clip = np.zeros(n, np.float32)
    body = samples[:max(n - lead, 0)]
    clip[lead:lead + len(body)] = body
    return clip, sr


def write_animation(path, poses_list, fps, music_path=None, music_offset_s=0.0, titles=None, size=(640, 480),
                    video_path=None, confidences_list=None, caption=None, comment=None, progress=True,
                    camera='follow'):
    """Write a stick-figure animation: an H.264/AAC MP4 (yuv420p, +faststart) or, if `path` ends in .gif, a GIF.

    poses_list: list of (T_k, 15, 2) sequences at `fps` frames per second, drawn side by side (see draw_frames).
    music_path: audio file muxed under the animation (MP4 only), starting `music_offset_s` seconds into it and cut
    (or padded with silence) to the animation's length. size: (W, H) of the whole frame, rounded down to even.
    video_path: draw over this video's frames (the poses are in its pixel coordinates), each panel showing the
    video frame at the same time; the frame then takes the video's aspect: each panel is the video scaled to fit
    (W / number of panels, H). confidences_list: per-sequence (T_k, 15) confidences or None (0 = drawn pale).
    caption: text before the running time at the bottom left. comment: text stored in the MP4's comment tag (the
    settings that made it). camera: 'follow' or 'fixed' (see draw_frames; 'fixed' to compare where dancers go).
    Writes atomically, shows a progress bar unless progress=False, returns `path`.
    InputError naming the file for unreadable music or video."""
    import imageio_ffmpeg
    from .progress import progress as progress_bar  # the argument `progress` says whether to show it

    from .io import atomic_path, save_wav, video_info

    gif = path.lower().endswith('.gif')
    size = (size[0] // 2 * 2, size[1] // 2 * 2)
    n_frames = max(len(p) for p in poses_list)
    duration_s = n_frames / fps
    video_frames = video_size = None
    if video_path:
        _, video_size, _, _ = video_info(video_path)
        scale = min(size[0] / len(poses_list) / video_size[0], size[1] / video_size[1])
        panel = (max(2, int(video_size[0] * scale) // 2 * 2), max(2, int(video_size[1] * scale) // 2 * 2))
        size = (panel[0] * len(poses_list), panel[1])
        fitted = fit_video(video_size, panel_boxes(size, len(poses_list))[0])[2]
        video_frames = read_video_frames(video_path, fps, n_frames, fitted)
    music = music_clip(music_path, music_offset_s, duration_s) if music_path and not gif else None
    prefix = f"{caption}   " if caption else ''
    captions = [f"{prefix}{t / fps:.1f} / {duration_s:.1f} s" for t in range(n_frames)]

    with tempfile.TemporaryDirectory(prefix='l2d_render_') as tmp_dir:
        audio_path = None
        if music is not None:
            audio_path = os.path.join(tmp_dir, 'music.wav')
            save_wav(audio_path, *music)
        if gif:
            # One palette per frame: a palette for the whole clip would need every frame in memory first.
            options = dict(codec='gif', pix_fmt_out='pal8', quality=None, output_params=[
                '-vf', 'split[a][b];[a]palettegen=stats_mode=single:reserve_transparent=0[p];[b][p]paletteuse=new=1'])
        else:
            options = dict(codec='libx264', pix_fmt_out='yuv420p', quality=None, output_params=[
                # ultrafast: a flat stick figure compresses well anyway, and encoding is most of the render time.
                '-preset', 'ultrafast', '-crf', '23',
                '-movflags', '+faststart',
                *(['-metadata', f'comment={comment}'] if comment else []),
                *(['-aac_coder', 'fast', '-b:a', '160k'] if audio_path else [])],
                audio_path=audio_path, audio_codec='aac' if audio_path else None)
        with atomic_path(path) as tmp:
            writer = imageio_ffmpeg.write_frames(tmp, size, pix_fmt_in='rgb0', fps=frame_rate(fps), macro_block_size=2,
                                                 ffmpeg_log_level='error', **options)
            writer.send(None)
            frames = _draw_rgbx_frames(poses_list, size, titles, video_frames, confidences_list, captions, video_size,
                                       camera, fps)
            for frame in progress_bar(frames, total=n_frames, unit='frame', desc=os.path.basename(path),
                                      disable=not progress):
                writer.send(frame)
            writer.close()
            if os.path.getsize(tmp) == 0:
                raise RuntimeError(f"{path}: ffmpeg wrote nothing (its messages are above)")
    return path
