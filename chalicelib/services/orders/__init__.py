"""Orders and billing: pay later, installments, bookings and reservations; charges, refunds, closing."""
