"""CSV import and export: files, column mapping, the import run and the export stream."""
