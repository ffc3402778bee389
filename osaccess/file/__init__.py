"""The mapping file: read (YAML as nodes), validate, describe (the format), write (import)."""
