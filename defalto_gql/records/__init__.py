"""Record reads and writes: SQL building, filters, sorting, cursors, validation, loaders."""
