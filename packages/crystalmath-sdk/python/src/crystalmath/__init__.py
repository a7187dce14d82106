"""The crystalmath JSON-RPC 2.0 protocol for protoipc (proto/crystalmath)."""
