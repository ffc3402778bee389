"""The local sandbox: an IAM gateway and STS endpoint that emulate Amazon OpenSearch Service.

Nothing here is used to manage real clusters; it exists so that osaccess can be tested, and
tried, against a real OpenSearch node that sees callers exactly as Amazon presents them.
"""
