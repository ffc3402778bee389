"""AWS: sessions and signing, IAM, the domain policy, ARNs."""
