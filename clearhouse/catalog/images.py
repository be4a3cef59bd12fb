"""Product pictures with Pillow: check an upload really is a raster image, make its thumbnail.

Only JPEG, PNG, WebP and GIF are accepted, decoded by Pillow (never SVG: it
can carry script). Size is checked from the header before any pixel is
decoded, so a small file that unpacks to gigapixels (a decompression bomb)
is refused cheaply.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from clearhouse.catalog.domain import ImageTooLarge, InvalidImage

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Django refuses request bodies above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default) before we see them.
MAX_IMAGE_BYTES = 2_500_000
MAX_PIXELS = 25_000_000
THUMBNAIL_PX = 320


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An upload that decoded as an image, with the thumbnail made from it (WebP)."""

    extension: str
    width: int
    height: int
    thumbnail: bytes


def _open(data: bytes) -> Image.Image:
    if not data:
        raise InvalidImage("The upload is empty.", param="image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"Images are at most {MAX_IMAGE_BYTES // 1000} kB.", param="image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.verify()  # checks the file's structure; the image must be opened again to be used
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise InvalidImage(param="image") from None
    if image.format not in EXTENSIONS:
        raise InvalidImage(param="image")
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(f"Images are at most {MAX_PIXELS // 1_000_000} megapixels.", param="image")
    return image


def _thumbnail(image: Image.Image) -> bytes:
    try:
        image = ImageOps.exif_transpose(image)  # phone photos are stored sideways with a rotation tag
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=82, method=4)
    except (OSError, ValueError, SyntaxError):  # truncated pixel data only shows when decoding
        raise InvalidImage(param="image") from None
    return out.getvalue()


def image_check(data: bytes) -> CheckedImage:
    """Validate an uploaded picture and make its thumbnail (at most THUMBNAIL_PX on the long side)."""
    image = _open(data)
    return CheckedImage(extension=EXTENSIONS[image.format], width=image.width, height=image.height,
                        thumbnail=_thumbnail(image))
