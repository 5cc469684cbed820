"""The production-plan-streams model app of the test project."""
