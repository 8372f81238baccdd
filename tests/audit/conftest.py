"""A settled batch of the stacking scenario (4 claims, 11 lines, 62,100.00), on each database."""

from __future__ import annotations

import pytest

from tests.store.helpers import SCENARIOS, add_users, batch_and_approve, import_folder

STACKING = SCENARIOS / "hz_bands_caps_stacking"


@pytest.fixture
def batch(store):
    add_users(store)
    import_folder(store, STACKING, "hangzhou")
    return batch_and_approve(store, "hangzhou")
