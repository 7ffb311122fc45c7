"""The kit as a vendor uses it: a test module subclassing AdapterConformance, run by pytest with
the ``hub_conformance`` plugin loaded from its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from hub.testing import conformance

pytest_plugins = ["pytester"]

SUITE = """
from tests.testing.test_checks_fail import RosterSuite
from tests.testing import reference_vendor as ref


class TestRosterConformance(RosterSuite):
    adapter_class = ref.{adapter}
"""


def test_entry_point_registers_the_kit_as_a_pytest_plugin() -> None:
    (ep,) = entry_points(group="pytest11", name="hub_conformance")
    assert ep.load() is conformance


@pytest.fixture(autouse=True)
def _inner_config(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        filterwarnings = error
        """
    )


def test_well_behaved_adapter_passes_and_undeclared_capabilities_skip_with_reason(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_roster=SUITE.format(adapter="RosterAdapter"))
    result = pytester.runpytest("-q", "-rs")
    result.assert_outcomes(passed=40, skipped=49)
    result.stdout.fnmatch_lines(["*roster does not declare read_roll*"])


def test_a_bad_adapter_fails_the_matching_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_roster=SUITE.format(adapter="SwallowsErrors"))
    result = pytester.runpytest("-q", "-k", "fault_is_classified and read_learners")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 2
    result.stdout.fnmatch_lines(
        [
            "*test_fault_is_classified?read_learners-timeout?*",
            "*test_fault_is_classified?read_learners-truncated?*",
        ],
        consecutive=False,
    )
