"""The crash soak (`make soak`): `hub run` under injected faults, killed and restarted, then
checked for lost and duplicated marks and notifications. See docs/soak.md."""
