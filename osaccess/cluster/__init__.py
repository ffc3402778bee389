"""The cluster: HTTP, the security REST API, connections, versions, write pacing."""
