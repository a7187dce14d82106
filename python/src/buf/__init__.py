"""Namespace of protovalidate's generated schema (buf/validate), shipped by the protoipc runtime."""
