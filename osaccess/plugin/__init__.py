"""What the security plugin itself defines: the ground every other layer stands on.

Its built-in action groups, roles and tenants, its matching of names and patterns, the requests
it checks (REST forms as actions) and its date math. Nothing here knows a kind of osaccess's: the
kinds build their models from this package, never the other way round.
"""
