"""The pixels demo's backend in Python: the stand-in image generator on the generated stubs.

:class:`PixelBackend` subclasses the generated ``pixels.v1.pixels_ipc.PixelServiceHandler``;
``python -m pixels_demo_backend --bind <endpoint> --out <dir>`` serves it over ZeroMQ (see
:mod:`pixels_demo_backend.__main__`).
"""

from .backend import BACKEND_VERSION, MODEL_CATALOG, PREVIEW_EVERY_STEPS, PixelBackend
from .sprite import PNG_SIGNATURE, create_sprite, encode_sprite_png

__all__ = [
    "BACKEND_VERSION",
    "MODEL_CATALOG",
    "PNG_SIGNATURE",
    "PREVIEW_EVERY_STEPS",
    "PixelBackend",
    "create_sprite",
    "encode_sprite_png",
]
