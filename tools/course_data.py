"""Build the derived course images and ``data/manifest.csv``: ``python -m tools.course_data build [FOLDER]``.

Everything is made deterministically from the images bundled with scikit-image, so a rebuild
gives the committed files back (tests/test_data.py checks it).
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

import numpy as np

from imgsim_helpers.images.data import course_image, data_dir, manifest
from imgsim_helpers.images.io import resize

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("name", "kind", "file", "source", "licence", "how_made")


def _draw_page(height: int, width: int) -> np.ndarray:
    """A mock web page on white, laid out relative to its size (so two sizes show one page)."""
    import cv2

    def x(fraction):
        return round(fraction * width)

    def y(fraction):
        return round(fraction * height)

    page = np.full((height, width, 3), 255, np.uint8)
    page[: y(0.1)] = (32, 86, 160)
    unit = height / 600
    stroke = max(1, round(2 * unit))
    for text, at, size, colour in (("Image similarity", (x(0.03), y(0.07)), 1.1, (255, 255, 255)),
                                   ("Which two pictures match?", (x(0.05), y(0.2)), 0.9, (30, 30, 30))):
        cv2.putText(page, text, at, cv2.FONT_HERSHEY_SIMPLEX, size * unit, colour, stroke, cv2.LINE_AA)
    for i in range(6):  # lines of "text" as gray bars of varying length
        top = y(0.27 + 0.06 * i)
        length = (0.4 - 0.04 * (i % 3)) * width
        cv2.rectangle(page, (x(0.05), top), (round(0.05 * width + length), top + max(2, y(0.018))),
                      (150, 150, 150), -1)
    photo = resize(course_image("chelsea"), (y(0.45), x(0.42)))
    page[y(0.25) : y(0.25) + photo.shape[0], x(0.53) : x(0.53) + photo.shape[1]] = photo
    bx, by = x(0.05), y(0.7)
    cv2.rectangle(page, (bx, by), (bx + x(0.2), by + y(0.08)), (230, 120, 30), -1)
    cv2.putText(page, "Compare", (bx + x(0.025), by + y(0.055)), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * unit,
                (255, 255, 255), stroke, cv2.LINE_AA)
    return page


def _encode(image, fmt: str = "PNG", **options) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    image.save(buffer, format=fmt, **({"optimize": False} if fmt == "PNG" else {}), **options)
    return buffer.getvalue()


def derived_images() -> dict[str, bytes]:
    """Every derived file's bytes, by file name."""
    from PIL import Image

    horse = course_image("horse", mode="gray") == 0  # True on the silhouette
    brick = resize(course_image("brick", mode="gray"), horse.shape).astype(np.float32)
    fill = np.clip(brick[..., None] * np.array([1.0, 0.7, 0.45], np.float32) * 1.2, 0, 255).astype(np.uint8)
    fill[~horse] = 0  # what many exporters store under fully transparent pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    coins = Image.fromarray(course_image("coins", mode="gray")).convert("P", palette=Image.Palette.ADAPTIVE,
                                                                          colors=256)
    whole = _encode(resize(course_image("astronaut"), (128, 128)))
    return {
        "screenshot_desktop.png": _encode(_draw_page(600, 960)),
        "screenshot_mobile.png": _encode(_draw_page(480, 640)),
        "horse_transparent.png": _encode(np.dstack([fill, np.where(horse, 255, 0).astype(np.uint8)])),
        "chelsea_exif.jpg": _encode(np.ascontiguousarray(np.rot90(course_image("chelsea"), k=1)), "JPEG",
                                    quality=92, exif=exif.tobytes()),
        "camera_16bit.png": _encode(course_image("camera", mode="gray").astype(np.uint16) * 257),
        "coins_palette.gif": _encode(coins, "GIF"),
        "truncated.png": whole[: int(len(whole) * 0.4)],
        "not_an_image.png": b"This is a text file, not a PNG image.\n",
    }


def write_manifest(folder: Path) -> Path:
    """Write ``manifest.csv`` (one row per course image) into ``folder``."""
    path = Path(folder) / MANIFEST_NAME
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_FIELDS)
        writer.writerows([getattr(row, f) for f in MANIFEST_FIELDS] for row in manifest())
    return path


def build_course_data(folder: str | os.PathLike | None = None) -> list[Path]:
    """Write every derived image and the manifest into ``folder`` (default: the course's data folder)."""
    target = Path(folder) if folder is not None else data_dir()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in derived_images().items():
        (target / name).write_bytes(content)
        written.append(target / name)
    return written + [write_manifest(target)]


def main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print("usage: python -m tools.course_data build [FOLDER]", file=sys.stderr)
        return 2
    for path in build_course_data(argv[1] if len(argv) > 1 else None):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
