"""Running the services on this machine.

`make cluster` (local cluster, supervisor, local PostgreSQL), the service helpers that tests use,
and the `rasa` command wrapper.
"""
