"""The dgx-pixels image-generation protocol for protoipc (proto/pixels)."""
