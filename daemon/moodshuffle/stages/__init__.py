"""Adapters that listen to the core and keep its inputs and the disk in step: the library stage
(index, scans, unavailable folders) and the listening-history recorder."""
