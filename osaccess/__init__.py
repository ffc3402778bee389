"""osaccess: OpenSearch fine-grained access control (role mappings) as code."""

__version__ = "0.1.0"
