"""Users, authentication, roles, profiles and sharing: row filters and field masks."""
