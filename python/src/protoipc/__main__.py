"""``python -m protoipc router …``: see :mod:`protoipc.router.cli`."""

import sys

from protoipc.router.cli import main

if __name__ == "__main__":
    sys.exit(main())
