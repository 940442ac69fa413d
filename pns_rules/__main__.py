"""``python -m pns_rules``: the same as the ``pns-rules`` command."""

from .cli import main

raise SystemExit(main())
