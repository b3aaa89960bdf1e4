"""Members: sign-in, the member record and exposure, credit authorization and the provider's credit answers."""
