"""Pictures: only real raster images are accepted; thumbnails are small WebP copies."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from clearhouse.catalog.domain import ImageTooLarge, InvalidImage
from clearhouse.catalog.images import MAX_IMAGE_BYTES, THUMBNAIL_PX, image_check
from tests.catalog.support import picture


@pytest.mark.parametrize(("fmt", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif")])
def test_a_picture_gets_a_webp_thumbnail_no_larger_than_the_limit(fmt, extension):
    checked = image_check(picture((1200, 600), fmt=fmt))
    assert (checked.extension, checked.width, checked.height) == (extension, 1200, 600)
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert thumb.format == "WEBP"
    assert thumb.size == (THUMBNAIL_PX, THUMBNAIL_PX // 2)  # aspect ratio kept


def test_a_small_picture_is_not_blown_up():
    thumb = Image.open(io.BytesIO(image_check(picture((40, 30))).thumbnail))
    assert thumb.size == (40, 30)


def test_transparency_survives_in_the_thumbnail():
    checked = image_check(picture((100, 100), mode="RGBA", colour=(0, 0, 0, 0)))
    assert Image.open(io.BytesIO(checked.thumbnail)).mode == "RGBA"


@pytest.mark.parametrize("data", [b"", b"not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                  picture()[:60]])
def test_what_is_not_a_raster_image_is_refused(data):
    with pytest.raises(InvalidImage) as exc:
        image_check(data)
    assert exc.value.code == "invalid_image" and exc.value.param == "image"


def test_other_image_formats_are_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    with pytest.raises(InvalidImage):
        image_check(out.getvalue())


def test_files_over_the_size_limit_are_refused():
    with pytest.raises(ImageTooLarge) as exc:
        image_check(b"\x89PNG" + b"0" * MAX_IMAGE_BYTES)
    assert exc.value.code == "image_too_large"


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = picture((6000, 6000), fmt="PNG", colour=(0, 0, 0))  # 36 megapixels in a few kB
    assert len(bomb) < MAX_IMAGE_BYTES
    with pytest.raises(ImageTooLarge):
        image_check(bomb)
