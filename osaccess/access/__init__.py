"""Access: matching, effective permissions, explain, review, the plugin's built-ins."""
