"""`python -m memcore.cli`."""

from memcore.cli import main

raise SystemExit(main())
