"""A sandbox of real engines on one machine: HDFS, Kubernetes, an image registry, PostgreSQL."""
