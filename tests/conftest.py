"""Shared test configuration: Hypothesis profiles (and, below, the PostgreSQL fixture)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI: derandomized, bounded, no deadline (the machine is shared and noisy).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Local default: still bounded, but random, so new cases keep turning up.
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Heavier local run: HYPOTHESIS_PROFILE=heavy pytest
settings.register_profile(
    "heavy",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
