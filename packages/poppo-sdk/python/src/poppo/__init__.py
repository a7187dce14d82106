"""The PoppoBuilder daemon protocol for protoipc (proto/poppo)."""
