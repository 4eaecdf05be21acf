"""Defalto GQL: a metadata-driven GraphQL CRM backend on PostgreSQL."""

__version__ = "0.1.0"
