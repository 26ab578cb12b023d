"""A member's gateway on the public service mesh: its settings, protocol, log and process."""
