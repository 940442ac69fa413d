"""Small helpers shared by the tests."""

from __future__ import annotations

from pns_rules.testing import ranking

__all__ = ["ranking"]
