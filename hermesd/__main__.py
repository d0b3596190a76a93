"""``python -m hermesd``: same as the ``hermesd`` command."""

from hermesd.cli import main

raise SystemExit(main())
