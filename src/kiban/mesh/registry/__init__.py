"""The central registry: members, subsystems and, later, services and access rights."""
