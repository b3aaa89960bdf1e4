"""HTTP concerns only: auth, error envelope, idempotency, request/response models, blueprints."""
