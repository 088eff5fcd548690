"""Build TensorRT engines: ``python trt_build/build_engines.py ENGINES_YAML --out DIR``.

The same command as the ``build_engines`` console script; see ``--help`` and the README.
"""

from __future__ import annotations

from warp_refine_ros.cli.build_engines import main

if __name__ == "__main__":
    raise SystemExit(main())
