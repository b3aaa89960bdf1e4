"""Use cases: load -> decide with the domain -> write once (one transaction) -> enqueue/publish."""
