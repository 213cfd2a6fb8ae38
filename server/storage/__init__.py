"""Store protocols and their backends. Import a backend's module only when it is chosen."""
