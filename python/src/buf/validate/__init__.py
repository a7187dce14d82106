"""protovalidate's buf.validate schema, generated from the descriptor of the pinned @bufbuild/protovalidate (see buf.gen.python-runtime.yaml). @generated"""
