"""The Kubernetes backend's parts: pure manifest rendering and state mapping, the API wrapper
with retries, and the namespace watcher. :mod:`..backends.kubernetes` puts them together."""
