"""The benchmark schema of ``pnpm bench`` (proto/bench), generated for the Python servers."""
