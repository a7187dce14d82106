"""The AI Hydra router protocol for protoipc (proto/hydra)."""
