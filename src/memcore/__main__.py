"""``python -m memcore``: the same as the ``memcore`` command."""

from __future__ import annotations

from memcore.cli import main

raise SystemExit(main())
