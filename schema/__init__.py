"""The GraphQL schema (Strawberry). Import-light: build it with ``schema.root.build_schema``."""
