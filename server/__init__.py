"""Peso: a GraphQL metadata catalog for marketing datasets.

This package stays import-light: importing ``server`` must not pull in Strawberry,
pyarrow or any store driver.
"""

__version__ = "0.1.0"
