"""Tornado handlers: parse the request, call a service, serialize the answer. Nothing else."""
