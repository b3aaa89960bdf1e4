"""Rentals: apply, secure (freeze or deposit), return, settle; the freeze lapse and the rental timer; trials."""
